//! Beacon API JSON types against the Beacon API v4.0.0 specification: for each request or
//! response schema the client uses, a complete example object is assembled from the schema's
//! per-field `example:` values (`$ref`/`allOf` resolved; `anyOf`/`oneOf` take their first
//! option; arrays get one element or their `minItems`; hex strings without an example follow
//! their `pattern`), decoded into our type, re-encoded, and must equal the input exactly — a
//! missing, extra or renamed field, an unquoted integer or a hex formatting difference fails.
//! Hex in the expectation is lowercased (the API accepts any case; we emit lowercase). The
//! event stream's own examples and the error examples are decoded and compared the same way.
//!
//! One trial per schema or example.

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use types::api::*;
use types::block::{PayloadKind, ProducedBlock};
use types::spec_files::{SpecError, SpecFiles};
use types::{
    Attestation, AttestationData, ForkVersioned, MainnetEthSpec, SignedBeaconBlock,
    SyncCommitteeContribution, test_vectors,
};
use validator::beacon_node::BeaconEvent;

/// Why a value does not match its schema (test diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem(String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<SpecError> for Problem {
    fn from(error: SpecError) -> Self {
        Self(error.0)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

type E = MainnetEthSpec;

/// Fields whose generated value cannot be valid for the type, with a valid one and why.
fn field_override(name: &str) -> Option<Value> {
    match name {
        // `ids` items are free strings in the schema; ours must be an index or a public key.
        "ids" => Some(serde_json::json!(["1", format!("0x{}", "ab".repeat(48))])),
        // The schema reuses the generic `BitList` example "0x01", but the type is
        // `Bitvector[SYNC_COMMITTEE_SIZE]`: exactly 64 bytes on mainnet.
        "sync_committee_bits" => Some(Value::String(format!("0x{}", "01".repeat(64)))),
        _ => None,
    }
}

/// Loads schema files on demand (YAML read as JSON values).
struct Schemas {
    files: SpecFiles,
}

impl Schemas {
    /// Resolves `file.yaml#/A/B` (or `#/A/B`) relative to `from`.
    fn resolve(&self, reference: &str, from: &Path) -> Result<(Value, PathBuf), Problem> {
        Ok(self.files.resolve(reference, from)?)
    }

    /// A complete example for `node`, or `None` for annotation-only nodes.
    fn example(&self, node: &Value, file: &Path, depth: usize) -> Result<Option<Value>, Problem> {
        if depth > 64 {
            return Err("schema nesting too deep".into());
        }
        if let Some(example) = node.get("example") {
            return Ok(Some(example.clone()));
        }
        if let Some(reference) = node.get("$ref").and_then(Value::as_str) {
            let (target, target_file) = self.resolve(reference, file)?;
            return self.example(&target, &target_file, depth + 1);
        }
        if let Some(parts) = node.get("allOf").and_then(Value::as_array) {
            let mut merged: Option<Value> = None;
            for part in parts {
                match (self.example(part, file, depth + 1)?, merged.as_mut()) {
                    (None, _) => {}
                    (Some(Value::Object(more)), Some(Value::Object(object))) => object.extend(more),
                    (Some(value), None) => merged = Some(value),
                    (Some(value), Some(existing)) => {
                        return Err(format!("allOf mixes {existing} and {value}").into());
                    }
                }
            }
            return Ok(merged);
        }
        for key in ["anyOf", "oneOf"] {
            if let Some(first) = node
                .get(key)
                .and_then(Value::as_array)
                .and_then(|o| o.first())
            {
                return self.example(first, file, depth + 1);
            }
        }
        if let Some(first) = node
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|o| o.first())
        {
            return Ok(Some(first.clone()));
        }
        match node.get("type").and_then(Value::as_str) {
            Some("object") => {
                let mut object = Map::new();
                let properties = node
                    .get("properties")
                    .and_then(Value::as_object)
                    .cloned()
                    .unwrap_or_default();
                for (name, schema) in properties {
                    let value = match field_override(&name) {
                        Some(value) => value,
                        None => self
                            .example(&schema, file, depth + 1)
                            .map_err(|e| format!("{name}: {e}"))?
                            .ok_or_else(|| format!("{name}: no example"))?,
                    };
                    object.insert(name, value);
                }
                Ok(Some(Value::Object(object)))
            }
            Some("array") => {
                let items = node.get("items").ok_or("array schema without items")?;
                let item = self
                    .example(items, file, depth + 1)?
                    .ok_or("array items without example")?;
                let count = node
                    .get("minItems")
                    .and_then(Value::as_u64)
                    .unwrap_or(1)
                    .max(1);
                Ok(Some(Value::Array(vec![
                    item;
                    usize::try_from(count)
                        .map_err(|e| e.to_string())?
                ])))
            }
            Some("string") => match node.get("pattern").and_then(Value::as_str) {
                Some(pattern) => Ok(Some(Value::String(hex_for_pattern(pattern)?))),
                None => Ok(Some(Value::String("example text".into()))),
            },
            Some("boolean") => Ok(Some(Value::Bool(true))),
            Some("number" | "integer") => Ok(Some(Value::from(3))),
            Some(other) => Err(format!("no example for a {other}").into()),
            None => Ok(None),
        }
    }
}

/// Deterministic bytes for a `^0x[a-fA-F0-9]{N}$` pattern.
fn hex_for_pattern(pattern: &str) -> Result<String, Problem> {
    let digits = pattern
        .strip_prefix("^0x[a-fA-F0-9]{")
        .and_then(|rest| rest.strip_suffix("}$"))
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| format!("cannot generate a value for pattern {pattern}"))?;
    let bytes: Vec<u8> = (0..digits / 2).map(|i| (i * 37 + 11) as u8).collect();
    Ok(format!("0x{}", hex::encode(bytes)))
}

fn lowercase_hex(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with("0x") => *s = s.to_ascii_lowercase(),
        Value::Array(items) => items.iter_mut().for_each(lowercase_hex),
        Value::Object(map) => map.values_mut().for_each(lowercase_hex),
        _ => {}
    }
}

type Codec = Box<dyn Fn(Value) -> Result<Value, Failed> + Send + Sync>;

fn plain<T: DeserializeOwned + Serialize + Debug>() -> Codec {
    Box::new(|value| {
        let decoded: T = serde_json::from_value(value).map_err(|e| format!("decode: {e}"))?;
        Ok(serde_json::to_value(&decoded)?)
    })
}

fn versioned_block() -> Codec {
    Box::new(|value| {
        Ok(serde_json::to_value(
            ForkVersioned::<SignedBeaconBlock<E>>::decode_json(value)?,
        )?)
    })
}

fn versioned_attestation() -> Codec {
    Box::new(|value| {
        Ok(serde_json::to_value(
            ForkVersioned::<Attestation<E>>::decode_json(value)?,
        )?)
    })
}

/// `produceBlockV3`: metadata typed, `data` decoded at the version and payload kind it names.
fn produce_v3() -> Codec {
    Box::new(|mut value| {
        let metadata: ProduceBlockV3Metadata =
            serde_json::from_value(value.clone()).map_err(|e| format!("metadata: {e}"))?;
        let data = value.get_mut("data").map(Value::take).ok_or("no data")?;
        let kind = PayloadKind::from_blinded_flag(metadata.execution_payload_blinded);
        let block = ProducedBlock::<E>::from_json_value(metadata.version, kind, data)?;
        let mut out = serde_json::to_value(metadata)?;
        out["data"] = serde_json::to_value(&block)?;
        Ok(out)
    })
}

/// The JSON pointer of a path's response body schema.
fn response(file: &str, method: &str) -> String {
    format!("apis/{file}#/{method}/responses/200/content/application~1json/schema")
}

fn request(file: &str, method: &str) -> String {
    format!("apis/{file}#/{method}/requestBody/content/application~1json/schema")
}

fn cases() -> Vec<(String, Codec)> {
    vec![
        ("types/api.yaml#/ValidatorResponse".into(), plain::<ValidatorData>()),
        ("types/api.yaml#/ValidatorBalanceResponse".into(), plain::<ValidatorBalance>()),
        ("types/api.yaml#/ValidatorStatus".into(), plain::<ValidatorStatus>()),
        ("types/api.yaml#/Committee".into(), plain::<Committee>()),
        ("types/duty.yaml#/AttesterDuty".into(), plain::<AttesterDuty>()),
        ("types/duty.yaml#/ProposerDuty".into(), plain::<ProposerDuty>()),
        ("types/duty.yaml#/Altair/SyncDuty".into(), plain::<SyncDuty>()),
        ("types/altair/sync_committee.yaml#/Altair/SyncCommitteeSubscription".into(), plain::<SyncCommitteeSubscription>()),
        ("types/altair/sync_committee.yaml#/Altair/SyncCommitteeByValidatorIndices".into(), plain::<SyncCommitteeByValidatorIndices>()),
        ("types/http.yaml#/ErrorMessage".into(), plain::<ErrorMessage>()),
        ("types/http.yaml#/IndexedErrorMessage".into(), plain::<ErrorMessage>()),
        ("types/misc.yaml#/Fork".into(), plain::<ForkScheduleEntry>()),
        (response("beacon/genesis.yaml", "get"), plain::<GenericResponse<GenesisData>>()),
        (response("node/syncing.yaml", "get"), plain::<GenericResponse<SyncingData>>()),
        (response("node/version.yaml", "get"), plain::<GenericResponse<VersionData>>()),
        (response("node/peer_count.yaml", "get"), plain::<GenericResponse<PeerCount>>()),
        (response("config/fork_schedule.yaml", "get"), plain::<GenericResponse<Vec<ForkScheduleEntry>>>()),
        (response("beacon/states/validators.yaml", "get"), plain::<ExecutionOptimisticResponse<Vec<ValidatorData>>>()),
        (response("beacon/states/validators.yaml", "post"), plain::<ExecutionOptimisticResponse<Vec<ValidatorData>>>()),
        (request("beacon/states/validators.yaml", "post"), plain::<StateValidatorsRequest>()),
        (response("beacon/states/validator_balances.yaml", "post"), plain::<ExecutionOptimisticResponse<Vec<ValidatorBalance>>>()),
        (response("beacon/states/committee.yaml", "get"), plain::<ExecutionOptimisticResponse<Vec<Committee>>>()),
        (response("beacon/states/sync_committees.yaml", "get"), plain::<ExecutionOptimisticResponse<SyncCommitteeByValidatorIndices>>()),
        (response("beacon/states/finality_checkpoints.yaml", "get"), plain::<ExecutionOptimisticResponse<FinalityCheckpoints>>()),
        (response("beacon/states/fork.yaml", "get"), plain::<ExecutionOptimisticResponse<ForkScheduleEntry>>()),
        (response("beacon/blocks/root.yaml", "get"), plain::<ExecutionOptimisticResponse<BlockRootData>>()),
        (response("beacon/blocks/header.yaml", "get"), plain::<ExecutionOptimisticResponse<BlockHeaderData>>()),
        (response("beacon/blocks/headers.yaml", "get"), plain::<ExecutionOptimisticResponse<Vec<BlockHeaderData>>>()),
        (response("beacon/blocks/block.v2.yaml", "get"), versioned_block()),
        (response("validator/duties/attester.yaml", "post"), plain::<DutiesResponse<Vec<AttesterDuty>>>()),
        (response("validator/duties/proposer.yaml", "get"), plain::<DutiesResponse<Vec<ProposerDuty>>>()),
        (response("validator/duties/sync.yaml", "post"), plain::<ExecutionOptimisticResponse<Vec<SyncDuty>>>()),
        (response("validator/attestation_data.yaml", "get"), plain::<GenericResponse<AttestationData>>()),
        (response("validator/aggregate_attestation.v2.yaml", "get"), versioned_attestation()),
        (response("validator/block.v3.yaml", "get"), produce_v3()),
        (response("validator/sync_committee_contribution.yaml", "get"), plain::<GenericResponse<SyncCommitteeContribution<E>>>()),
        (response("validator/liveness.yaml", "post"), plain::<GenericResponse<Vec<LivenessResponseData>>>()),
        (request("validator/beacon_committee_subscriptions.yaml", "post"), plain::<Vec<BeaconCommitteeSubscription>>()),
        (request("validator/sync_committee_subscriptions.yaml", "post"), plain::<Vec<SyncCommitteeSubscription>>()),
        (request("validator/prepare_beacon_proposer.yaml", "post"), plain::<Vec<ProposerPreparationData>>()),
        ("apis/validator/duties/attester.yaml#/post/responses/400/content/application~1json/example".into(), plain::<ErrorMessage>()),
        ("types/http.yaml#/CurrentlySyncing/content/application~1json/example".into(), plain::<ErrorMessage>()),
    ]
}

fn run_schema(
    schemas: &Schemas,
    root: &Path,
    reference: &str,
    codec: &Codec,
) -> Result<(), Failed> {
    let (schema, file) = schemas.resolve(reference, &root.join("index"))?;
    let mut expected = if reference.ends_with("/example") {
        schema
    } else {
        schemas
            .example(&schema, &file, 0)?
            .ok_or("schema produced no example")?
    };
    lowercase_hex(&mut expected);
    let encoded = codec(expected.clone())?;
    if encoded != expected {
        let show = |v: &Value| v.to_string().chars().take(3000).collect::<String>();
        return Err(format!(
            "re-encoded JSON differs\nexpected: {}\nactual:   {}",
            show(&expected),
            show(&encoded)
        )
        .into());
    }
    Ok(())
}

/// The event stream's examples for the topics the client consumes.
fn run_event_example(schemas: &Schemas, root: &Path, topic: EventTopic) -> Result<(), Failed> {
    let pointer = format!(
        "apis/eventstream/index.yaml#/get/responses/200/content/text~1event-stream/examples/{}/value",
        topic.as_str()
    );
    let (example, _) = schemas.resolve(&pointer, &root.join("index"))?;
    let text = example.as_str().ok_or("example is not text")?;
    let mut lines = text.lines();
    let name = lines
        .next()
        .and_then(|l| l.strip_prefix("event: "))
        .ok_or("no event line")?;
    let data = lines
        .next()
        .and_then(|l| l.strip_prefix("data: "))
        .ok_or("no data line")?;
    if name != topic.as_str() {
        return Err(format!("example names {name}").into());
    }
    let event = BeaconEvent::parse(name, data)?.ok_or("topic not modelled")?;
    if event.topic() != topic {
        return Err(format!("parsed as {:?}", event.topic()).into());
    }
    let encoded = match &event {
        BeaconEvent::Head(e) => serde_json::to_value(e)?,
        BeaconEvent::Block(e) => serde_json::to_value(e)?,
        BeaconEvent::ChainReorg(e) => serde_json::to_value(e)?,
        BeaconEvent::FinalizedCheckpoint(e) => serde_json::to_value(e)?,
    };
    let expected: Value = serde_json::from_str(data)?;
    if encoded != expected {
        return Err(format!("re-encoded {encoded} differs from {expected}").into());
    }
    Ok(())
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("apis/beacon-APIs/v4.0.0") else {
        let skipped =
            Trial::test("api schemas (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let schemas = Arc::new(Schemas {
        files: SpecFiles::default(),
    });
    let mut trials: Vec<Trial> = cases()
        .into_iter()
        .map(|(reference, codec)| {
            let schemas = schemas.clone();
            let root = root.clone();
            Trial::test(reference.clone(), move || {
                run_schema(&schemas, &root, &reference, &codec)
            })
        })
        .collect();
    for topic in EventTopic::ALL {
        let schemas = schemas.clone();
        let root = root.clone();
        trials.push(Trial::test(
            format!("eventstream example {topic}"),
            move || run_event_example(&schemas, &root, topic),
        ));
    }
    println!("api_schemas: {} trials", trials.len());
    libtest_mimic::run(&args, trials).exit();
}
