//! JSON round trips of complete example objects synthesised from the Beacon API v4.0.0 schemas.
//!
//! For each schema, the per-field `example:` values are assembled into a full object (`$ref`
//! and `allOf` resolved, arrays given one element or their `minItems`, hex strings without an
//! example generated from their `pattern`). The object is decoded into our type (at the schema's
//! fork, mainnet preset), re-encoded, and must equal the input exactly — so a missing, extra or
//! renamed field, an unquoted integer or a hex formatting difference fails. Hex in the
//! expectation is lowercased: the API accepts any case and we emit lowercase. Each decoded value
//! also round-trips through SSZ.
//!
//! One trial per schema.

#[path = "../src/spec_files.rs"]
#[expect(
    unreachable_pub,
    dead_code,
    reason = "shared with the library, where these are public and all used"
)]
mod spec_files;
#[path = "../src/test_vectors.rs"]
#[expect(
    unreachable_pub,
    reason = "shared with the library, where these are public"
)]
mod test_vectors;

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use ssz::{Decode, Encode};
use types::block::{
    BeaconBlock, BlindedBeaconBlock, BlockContents, SignedBeaconBlock, SignedBlindedBeaconBlock,
    SignedBlockContents,
};
use types::versioned::{AggregateAndProof, Attestation, AttesterSlashing, SignedAggregateAndProof};
use types::*;

use spec_files::{SpecError, SpecFiles};
// The glob above brings the crate's `Result` alias; these helpers use plain results.
use std::result::Result;

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

/// Fields whose schema example cannot be a valid value of the consensus type, with the valid
/// value used instead. Each entry says why.
fn field_override(name: &str) -> Option<Value> {
    match name {
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
    fn resolve(&self, reference: &str, from: &Path) -> Result<(Value, PathBuf), Problem> {
        Ok(self.files.resolve(reference, from)?)
    }

    /// A complete example for `node`, or `None` for annotation-only nodes (e.g. an `allOf`
    /// member holding only a description).
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
        match node.get("type").and_then(Value::as_str) {
            Some("object") => {
                let properties = node
                    .get("properties")
                    .and_then(Value::as_object)
                    .ok_or("object schema without properties")?;
                let mut object = Map::new();
                for (name, schema) in properties {
                    let value = match field_override(name) {
                        Some(value) => value,
                        None => self
                            .example(schema, file, depth + 1)
                            .map_err(|e| format!("{name}: {e}"))?
                            .ok_or_else(|| format!("{name}: no example"))?,
                    };
                    object.insert(name.clone(), value);
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
                let count = usize::try_from(count).map_err(|e| e.to_string())?;
                Ok(Some(Value::Array(vec![item; count])))
            }
            Some("string") => {
                let pattern = node
                    .get("pattern")
                    .and_then(Value::as_str)
                    .ok_or("string without example or pattern")?;
                Ok(Some(Value::String(hex_for_pattern(pattern)?)))
            }
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

/// Lowercases every 0x-hex string (the API is case-insensitive, we emit lowercase).
fn lowercase_hex(value: &mut Value) {
    match value {
        Value::String(s) if s.starts_with("0x") => *s = s.to_ascii_lowercase(),
        Value::Array(items) => items.iter_mut().for_each(lowercase_hex),
        Value::Object(map) => map.values_mut().for_each(lowercase_hex),
        _ => {}
    }
}

type Codec = Box<dyn Fn(Value) -> Result<Value, Failed> + Send + Sync>;

/// Plain (fork-independent) containers.
fn plain<T>() -> Codec
where
    T: DeserializeOwned + Serialize + Encode + Decode + PartialEq + Debug,
{
    Box::new(|value| {
        let decoded: T = serde_json::from_value(value).map_err(|e| format!("decode: {e}"))?;
        let bytes = decoded.as_ssz_bytes();
        let again = T::from_ssz_bytes(&bytes).map_err(|e| format!("SSZ decode: {e:?}"))?;
        if again != decoded {
            return Err("SSZ round trip changed the value".into());
        }
        Ok(serde_json::to_value(&decoded)?)
    })
}

/// Fork-dependent types, decoded at `fork`.
macro_rules! versioned {
    ($ty:ty, $fork:expr) => {{
        let fork: ForkName = $fork;
        let codec: Codec = Box::new(move |value| {
            let decoded = <$ty>::from_json_value(fork, value)?;
            let bytes = decoded.as_ssz_bytes();
            let again = <$ty>::from_ssz_bytes(&bytes, fork)?;
            if again != decoded {
                return Err("SSZ round trip changed the value".into());
            }
            Ok(serde_json::to_value(&decoded)?)
        });
        codec
    }};
}

fn cases() -> Vec<(String, Codec)> {
    use ForkName::*;
    let mut cases: Vec<(String, Codec)> = vec![
        ("misc.yaml#/Fork".into(), plain::<Fork>()),
        ("misc.yaml#/Checkpoint".into(), plain::<Checkpoint>()),
        (
            "phase0/attestation_data.yaml#/Phase0/AttestationData".into(),
            plain::<AttestationData>(),
        ),
        (
            "phase0/block.yaml#/Phase0/BeaconBlockHeader".into(),
            plain::<BeaconBlockHeader>(),
        ),
        (
            "phase0/block.yaml#/Phase0/SignedBeaconBlockHeader".into(),
            plain::<SignedBeaconBlockHeader>(),
        ),
        (
            "phase0/eth1.yaml#/Phase0/Eth1Data".into(),
            plain::<Eth1Data>(),
        ),
        (
            "phase0/proposer_slashing.yaml#/Phase0/ProposerSlashing".into(),
            plain::<ProposerSlashing>(),
        ),
        (
            "phase0/attestation.yaml#/Phase0/IndexedAttestation".into(),
            plain::<IndexedAttestationPhase0<E>>(),
        ),
        (
            "phase0/attester_slashing.yaml#/Phase0/AttesterSlashing".into(),
            versioned!(AttesterSlashing<E>, Phase0),
        ),
        (
            "phase0/attestation.yaml#/Phase0/Attestation".into(),
            versioned!(Attestation<E>, Deneb),
        ),
        (
            "phase0/deposit.yaml#/Phase0/Deposit".into(),
            plain::<Deposit>(),
        ),
        (
            "phase0/deposit.yaml#/Phase0/DepositData".into(),
            plain::<DepositData>(),
        ),
        (
            "phase0/voluntary_exit.yaml#/Phase0/VoluntaryExit".into(),
            plain::<VoluntaryExit>(),
        ),
        (
            "phase0/voluntary_exit.yaml#/Phase0/SignedVoluntaryExit".into(),
            plain::<SignedVoluntaryExit>(),
        ),
        (
            "phase0/validator.yaml#/Phase0/AggregateAndProof".into(),
            versioned!(AggregateAndProof<E>, Phase0),
        ),
        (
            "phase0/validator.yaml#/Phase0/SignedAggregateAndProof".into(),
            versioned!(SignedAggregateAndProof<E>, Capella),
        ),
        (
            "altair/sync_aggregate.yaml#/Altair/SyncAggregate".into(),
            plain::<SyncAggregate<E>>(),
        ),
        (
            "altair/sync_committee.yaml#/Altair/SyncCommitteeSignature".into(),
            plain::<SyncCommitteeMessage>(),
        ),
        (
            "altair/sync_committee.yaml#/Altair/SyncCommitteeContribution".into(),
            plain::<SyncCommitteeContribution<E>>(),
        ),
        (
            "altair/sync_committee.yaml#/Altair/ContributionAndProof".into(),
            plain::<ContributionAndProof<E>>(),
        ),
        (
            "altair/sync_committee.yaml#/Altair/SignedContributionAndProof".into(),
            plain::<SignedContributionAndProof<E>>(),
        ),
        (
            "bellatrix/execution_payload.yaml#/Bellatrix/ExecutionPayload".into(),
            plain::<ExecutionPayloadBellatrix<E>>(),
        ),
        (
            "bellatrix/execution_payload.yaml#/Bellatrix/ExecutionPayloadHeader".into(),
            plain::<ExecutionPayloadHeaderBellatrix<E>>(),
        ),
        (
            "capella/execution_payload.yaml#/Capella/ExecutionPayload".into(),
            plain::<ExecutionPayloadCapella<E>>(),
        ),
        (
            "capella/execution_payload.yaml#/Capella/ExecutionPayloadHeader".into(),
            plain::<ExecutionPayloadHeaderCapella<E>>(),
        ),
        (
            "capella/withdrawal.yaml#/Capella/Withdrawal".into(),
            plain::<Withdrawal>(),
        ),
        (
            "capella/bls_to_execution_change.yaml#/Capella/BLSToExecutionChange".into(),
            plain::<BlsToExecutionChange>(),
        ),
        (
            "capella/bls_to_execution_change.yaml#/Capella/SignedBLSToExecutionChange".into(),
            plain::<SignedBlsToExecutionChange>(),
        ),
        (
            "deneb/execution_payload.yaml#/Deneb/ExecutionPayload".into(),
            plain::<ExecutionPayloadDeneb<E>>(),
        ),
        (
            "deneb/execution_payload.yaml#/Deneb/ExecutionPayloadHeader".into(),
            plain::<ExecutionPayloadHeaderDeneb<E>>(),
        ),
        (
            "deneb/block_contents.yaml#/Deneb/BlockContents".into(),
            versioned!(BlockContents<E>, Deneb),
        ),
        (
            "deneb/block_contents.yaml#/Deneb/SignedBlockContents".into(),
            versioned!(SignedBlockContents<E>, Deneb),
        ),
        (
            "electra/attestation.yaml#/Electra/Attestation".into(),
            versioned!(Attestation<E>, Electra),
        ),
        (
            "electra/attestation.yaml#/Electra/IndexedAttestation".into(),
            plain::<IndexedAttestationElectra<E>>(),
        ),
        (
            "electra/attestation.yaml#/Electra/SingleAttestation".into(),
            plain::<SingleAttestation>(),
        ),
        (
            "electra/attester_slashing.yaml#/Electra/AttesterSlashing".into(),
            versioned!(AttesterSlashing<E>, Electra),
        ),
        (
            "electra/validator.yaml#/Electra/AggregateAndProof".into(),
            versioned!(AggregateAndProof<E>, Electra),
        ),
        (
            "electra/validator.yaml#/Electra/SignedAggregateAndProof".into(),
            versioned!(SignedAggregateAndProof<E>, Fulu),
        ),
        (
            "electra/execution_requests.yaml#/Electra/ExecutionRequests".into(),
            plain::<ExecutionRequests<E>>(),
        ),
        (
            "electra/deposit.yaml#/Electra/DepositRequest".into(),
            plain::<DepositRequest>(),
        ),
        (
            "electra/withdrawal.yaml#/Electra/WithdrawalRequest".into(),
            plain::<WithdrawalRequest>(),
        ),
        (
            "electra/consolidation.yaml#/Electra/ConsolidationRequest".into(),
            plain::<ConsolidationRequest>(),
        ),
        (
            "electra/block_contents.yaml#/Electra/BlockContents".into(),
            versioned!(BlockContents<E>, Electra),
        ),
        (
            "electra/block_contents.yaml#/Electra/SignedBlockContents".into(),
            versioned!(SignedBlockContents<E>, Electra),
        ),
        (
            "fulu/block_contents.yaml#/Fulu/BlockContents".into(),
            versioned!(BlockContents<E>, Fulu),
        ),
        (
            "fulu/block_contents.yaml#/Fulu/SignedBlockContents".into(),
            versioned!(SignedBlockContents<E>, Fulu),
        ),
        (
            "registration.yaml#/ValidatorRegistration".into(),
            plain::<ValidatorRegistrationV1>(),
        ),
        (
            "registration.yaml#/SignedValidatorRegistration".into(),
            plain::<SignedValidatorRegistrationV1>(),
        ),
    ];
    // Blocks: every fork's schema, decoded at that fork. Fulu reuses Electra's schemas.
    let block_forks = [
        ("phase0", "Phase0", Phase0),
        ("altair", "Altair", Altair),
        ("bellatrix", "Bellatrix", Bellatrix),
        ("capella", "Capella", Capella),
        ("deneb", "Deneb", Deneb),
        ("electra", "Electra", Electra),
        ("electra", "Electra", Fulu),
    ];
    for (dir, section, fork) in block_forks {
        let at = |schema: &str| format!("{dir}/block.yaml#/{section}/{schema} as {fork}");
        cases.push((at("BeaconBlock"), versioned!(BeaconBlock<E>, fork)));
        cases.push((
            at("SignedBeaconBlock"),
            versioned!(SignedBeaconBlock<E>, fork),
        ));
        if fork.has_execution_payload() {
            cases.push((
                at("BlindedBeaconBlock"),
                versioned!(BlindedBeaconBlock<E>, fork),
            ));
            cases.push((
                at("SignedBlindedBeaconBlock"),
                versioned!(SignedBlindedBeaconBlock<E>, fork),
            ));
        }
    }
    cases
}

fn run_case(schemas: &Schemas, types_dir: &Path, name: &str, codec: &Codec) -> Result<(), Failed> {
    let reference = name.split(" as ").next().unwrap_or(name);
    let (file, pointer) = reference.split_once('#').ok_or("case without #")?;
    let (schema, schema_file) =
        schemas.resolve(&format!("{file}#{pointer}"), &types_dir.join("index"))?;
    let mut expected = schemas
        .example(&schema, &schema_file, 0)?
        .ok_or("schema produced no example")?;
    lowercase_hex(&mut expected);
    let encoded = codec(expected.clone())?;
    if encoded != expected {
        return Err(format!(
            "re-encoded JSON differs\nexpected: {}\nactual:   {}",
            truncate(&expected),
            truncate(&encoded)
        )
        .into());
    }
    Ok(())
}

fn truncate(value: &Value) -> String {
    let text = value.to_string();
    if text.len() > 4000 {
        format!("{}...", &text[..4000])
    } else {
        text
    }
}

fn main() {
    let args = Arguments::from_args();
    let Some(api_dir) = test_vectors::vectors_subdir("apis/beacon-APIs/v4.0.0") else {
        let skipped =
            Trial::test("api examples (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let types_dir = api_dir.join("types");
    let schemas = Arc::new(Schemas {
        files: SpecFiles::default(),
    });
    let cases = cases();
    println!("api_examples: {} schemas", cases.len());
    let trials = cases
        .into_iter()
        .map(|(name, codec)| {
            let schemas = schemas.clone();
            let types_dir = types_dir.clone();
            Trial::test(name.clone(), move || {
                run_case(&schemas, &types_dir, &name, &codec)
            })
        })
        .collect();
    libtest_mimic::run(&args, trials).exit();
}
