//! Real Beacon API responses recorded from Lodestar 1.5.1 (Capella dev chains, minimal and
//! mainnet presets) against the client's JSON types and the client itself:
//! - one trial per recorded file: it decodes into our type and re-encodes to exactly the same
//!   JSON (plus content checks: interop public keys in duties, consistent SSE events);
//! - one replay trial per folder: a local server answers the client's requests with the recorded
//!   bodies, so decoding is proven end to end through the real client code paths.
//!
//! Every file of a folder must have a check, and every expected file must be present: a
//! shrunken or grown folder fails instead of silently passing.

use std::path::{Path, PathBuf};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, Uri, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use eventsource_stream::Eventsource;
use futures::StreamExt;
use libtest_mimic::{Arguments, Failed, Trial};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use types::api::*;
use types::{
    AttestationData, ChainSpec, Epoch, EthSpec, Fork, ForkName, ForkVersioned, MainnetEthSpec,
    MinimalEthSpec, Preset, SignedBeaconBlock, Slot, test_vectors, verify_preset,
};
use validator::beacon_node::{BeaconEvent, BeaconNodeClient, Timeouts};
use validator::testing::InteropKeypair;

const FOLDERS: [(&str, Preset); 2] = [
    ("capella-minimal", Preset::Minimal),
    ("capella-mainnet", Preset::Mainnet),
];

/// The files each folder holds (epoch-numbered duty files are matched by prefix).
const EXPECTED: [&str; 15] = [
    "attestation_data.json",
    "beacon_genesis.json",
    "block_head_v2.json",
    "config_fork_schedule.json",
    "config_spec.json",
    "duties_attester_e*.json",
    "duties_attester_e*.json",
    "duties_proposer_e*.json",
    "duties_sync_e*.json",
    "events_sse.txt",
    "finality_checkpoints.json",
    "headers_head.json",
    "node_version.json",
    "state_fork.json",
    "validators_id0_1.json",
];

fn read(path: &Path) -> Result<String, Failed> {
    std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn read_json(path: &Path) -> Result<Value, Failed> {
    Ok(serde_json::from_str(&read(path)?)?)
}

/// Decodes as `T` and checks the re-encoding is identical.
fn round_trip<T: DeserializeOwned + Serialize>(path: &Path) -> Result<T, Failed> {
    let original = read_json(path)?;
    let decoded: T =
        serde_json::from_value(original.clone()).map_err(|e| format!("decode: {e}"))?;
    let encoded = serde_json::to_value(&decoded)?;
    if encoded != original {
        return Err(format!("re-encoding differs:\n{encoded}\nvs\n{original}").into());
    }
    Ok(decoded)
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

/// The epoch in `duties_*_e<epoch>.json`.
fn file_epoch(name: &str) -> Option<Epoch> {
    name.rsplit_once("_e")?
        .1
        .strip_suffix(".json")?
        .parse()
        .ok()
        .map(Epoch)
}

fn parse_sse(text: &str) -> Result<Vec<BeaconEvent>, Failed> {
    let runtime = tokio::runtime::Builder::new_current_thread().build()?;
    let bytes = bytes::Bytes::from(text.to_owned());
    let raw: Vec<_> = runtime.block_on(
        futures::stream::iter([Ok::<_, std::convert::Infallible>(bytes)])
            .eventsource()
            .collect::<Vec<_>>(),
    );
    let mut events = Vec::new();
    for item in raw {
        let event = item.map_err(|e| format!("SSE: {e}"))?;
        let parsed = BeaconEvent::parse(&event.event, &event.data)
            .map_err(|e| format!("event {}: {e}", event.event))?
            .ok_or_else(|| format!("unexpected topic {}", event.event))?;
        events.push(parsed);
    }
    Ok(events)
}

fn check_events(events: &[BeaconEvent]) -> Result<(), Failed> {
    ensure(events.len() >= 6, || {
        format!("only {} events", events.len())
    })?;
    // Lodestar sends `block` then `head` for the same block.
    for pair in events.windows(2) {
        if let [BeaconEvent::Block(block), BeaconEvent::Head(head)] = pair {
            ensure(block.block == head.block && block.slot == head.slot, || {
                format!("{block:?} / {head:?}")
            })?;
        }
    }
    ensure(
        events.iter().any(|e| matches!(e, BeaconEvent::Head(_))),
        || "no head event".into(),
    )
}

fn check_file<E: EthSpec>(dir: &Path, name: &str) -> Result<(), Failed> {
    let path = dir.join(name);
    let keys = |n: u64| InteropKeypair::new(n).pubkey;
    match name {
        "attestation_data.json" => {
            let data: GenericResponse<AttestationData> = round_trip(&path)?;
            ensure(data.data.source.epoch < data.data.target.epoch, || {
                "source before target".into()
            })
        }
        "beacon_genesis.json" => round_trip::<GenericResponse<GenesisData>>(&path).map(drop),
        "block_head_v2.json" => {
            let original = read_json(&path)?;
            let block = ForkVersioned::<SignedBeaconBlock<E>>::decode_json(original.clone())?;
            ensure(block.version == ForkName::Capella, || {
                block.version.to_string()
            })?;
            ensure(serde_json::to_value(&block)? == original, || {
                "re-encoding differs".into()
            })
        }
        "config_fork_schedule.json" => {
            let schedule: GenericResponse<Vec<ForkScheduleEntry>> = round_trip(&path)?;
            ensure(schedule.data.len() == 5, || {
                format!("{} forks", schedule.data.len())
            })
        }
        "config_spec.json" => {
            let raw: GenericResponse<Map<String, Value>> = round_trip(&path)?;
            let spec = ChainSpec::from_config_map(&raw.data)?;
            verify_preset::<E>(&spec)?;
            ensure(spec.raw_value("EIP4844_FORK_VERSION").is_some(), || {
                "Lodestar 1.5.1 keys kept".into()
            })
        }
        n if n.starts_with("duties_attester_e") => {
            let duties: DutiesResponse<Vec<AttesterDuty>> = round_trip(&path)?;
            let epoch = file_epoch(n).ok_or("no epoch in file name")?;
            for duty in &duties.data {
                ensure(duty.pubkey == keys(duty.validator_index), || {
                    format!("pubkey of {}", duty.validator_index)
                })?;
                ensure(duty.slot.epoch(E::SLOTS_PER_EPOCH) == epoch, || {
                    format!("slot {} outside epoch {epoch}", duty.slot)
                })?;
                ensure(
                    duty.validator_committee_index < duty.committee_length,
                    || "position".into(),
                )?;
            }
            Ok(())
        }
        n if n.starts_with("duties_proposer_e") => {
            let duties: DutiesResponse<Vec<ProposerDuty>> = round_trip(&path)?;
            ensure(duties.data.len() as u64 == E::SLOTS_PER_EPOCH, || {
                format!("{} proposers", duties.data.len())
            })?;
            for duty in &duties.data {
                ensure(duty.pubkey == keys(duty.validator_index), || {
                    format!("pubkey of {}", duty.validator_index)
                })?;
            }
            Ok(())
        }
        n if n.starts_with("duties_sync_e") => {
            let duties: ExecutionOptimisticResponse<Vec<SyncDuty>> = round_trip(&path)?;
            for duty in &duties.data {
                ensure(duty.pubkey == keys(duty.validator_index), || {
                    format!("pubkey of {}", duty.validator_index)
                })?;
                ensure(
                    duty.validator_sync_committee_indices
                        .iter()
                        .all(|i| *i < E::sync_committee_size()),
                    || "sync committee index out of range".into(),
                )?;
            }
            Ok(())
        }
        "events_sse.txt" => check_events(&parse_sse(&read(&path)?)?),
        "finality_checkpoints.json" => {
            let checkpoints: ExecutionOptimisticResponse<FinalityCheckpoints> = round_trip(&path)?;
            ensure(checkpoints.finalized.is_none(), || {
                "Lodestar 1.5.1 sends no `finalized` flag".into()
            })
        }
        "headers_head.json" => {
            round_trip::<ExecutionOptimisticResponse<BlockHeaderData>>(&path).map(drop)
        }
        "node_version.json" => {
            let version: GenericResponse<VersionData> = round_trip(&path)?;
            ensure(version.data.version.starts_with("Lodestar/v1.5.1"), || {
                version.data.version.clone()
            })
        }
        "state_fork.json" => round_trip::<ExecutionOptimisticResponse<Fork>>(&path).map(drop),
        "validators_id0_1.json" => {
            round_trip::<ExecutionOptimisticResponse<Vec<ValidatorData>>>(&path).map(drop)
        }
        other => Err(format!("no check for recorded file {other}").into()),
    }
}

/// Serves the recorded bodies at the routes they were recorded from.
async fn replay(dir: PathBuf, uri: Uri) -> Response {
    let path = uri.path();
    let file = match path {
        "/eth/v1/beacon/genesis" => "beacon_genesis.json".to_owned(),
        "/eth/v1/config/spec" => "config_spec.json".to_owned(),
        "/eth/v1/config/fork_schedule" => "config_fork_schedule.json".to_owned(),
        "/eth/v1/node/version" => "node_version.json".to_owned(),
        "/eth/v1/validator/attestation_data" => "attestation_data.json".to_owned(),
        "/eth/v1/beacon/states/head/finality_checkpoints" => "finality_checkpoints.json".to_owned(),
        "/eth/v1/beacon/states/head/fork" => "state_fork.json".to_owned(),
        "/eth/v1/beacon/states/head/validators" => "validators_id0_1.json".to_owned(),
        "/eth/v1/beacon/headers/head" => "headers_head.json".to_owned(),
        "/eth/v2/beacon/blocks/head" => "block_head_v2.json".to_owned(),
        "/eth/v1/events" => "events_sse.txt".to_owned(),
        other => match other.strip_prefix("/eth/v1/validator/duties/") {
            Some(rest) => match rest.split_once('/') {
                Some((kind, epoch)) => format!("duties_{kind}_e{epoch}.json"),
                None => String::new(),
            },
            None => String::new(),
        },
    };
    match std::fs::read(dir.join(&file)) {
        Ok(body) if file.ends_with(".txt") => {
            ([(CONTENT_TYPE, "text/event-stream")], body).into_response()
        }
        Ok(body) => ([(CONTENT_TYPE, "application/json")], body).into_response(),
        Err(_) => (StatusCode::NOT_FOUND, format!("no recording for {path}")).into_response(),
    }
}

fn replay_through_client<E: EthSpec>(dir: PathBuf) -> Result<(), Failed> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}/", listener.local_addr()?);
        let served = dir.clone();
        let router = Router::new().fallback(move |uri: Uri| replay(served.clone(), uri));
        tokio::spawn(async move { axum::serve(listener, router).await });
        let client = BeaconNodeClient::new(&url, Timeouts::uniform(Duration::from_secs(5)))?;

        let genesis = client.get_genesis().await?;
        let spec = client.get_config_spec().await?;
        verify_preset::<E>(&spec)?;
        // Lodestar 1.5.1 reports the genesis *state's* fork version (Capella here, as the chain
        // starts at Capella), not GENESIS_FORK_VERSION: health checks must not compare it.
        ensure(
            genesis.genesis_fork_version == spec.fork_version_at_epoch(Epoch(0)),
            || "genesis fork version".into(),
        )?;
        ensure(
            genesis.genesis_fork_version != spec.genesis_fork_version(),
            || "quirk no longer recorded".into(),
        )?;
        ensure(client.get_fork_schedule().await?.len() == 5, || {
            "fork schedule".into()
        })?;
        ensure(
            client.get_node_version().await?.starts_with("Lodestar"),
            || "version".into(),
        )?;
        let mut names: Vec<String> = std::fs::read_dir(&dir)?
            .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
            .collect();
        names.sort();
        for name in &names {
            let Some(epoch) = file_epoch(name) else {
                continue;
            };
            if name.starts_with("duties_attester") {
                let duties = client.post_attester_duties(epoch, &[0, 1]).await?;
                ensure(!duties.data.is_empty(), || name.clone())?;
            } else if name.starts_with("duties_proposer") {
                client.get_proposer_duties(epoch).await?;
            } else if name.starts_with("duties_sync") {
                client.post_sync_duties(epoch, &[0]).await?;
            }
        }
        let header = client
            .get_block_header(BlockId::Head)
            .await?
            .ok_or("no header")?;
        let block = client
            .get_block::<E>(BlockId::Head)
            .await?
            .ok_or("no block")?;
        ensure(block.data.block_root() == header.data.root, || {
            "block root differs from header root".into()
        })?;
        let data = client
            .get_attestation_data(Slot(header.data.header.message.slot.as_u64()), 0)
            .await?;
        ensure(data.beacon_block_root == header.data.root, || {
            "attestation head".into()
        })?;
        let finality = client.get_finality_checkpoints(StateId::Head).await?;
        ensure(finality.data.finalized.epoch <= data.source.epoch, || {
            "finality".into()
        })?;
        let fork = client.get_state_fork(StateId::Head).await?;
        ensure(
            fork.data.current_version == spec.fork_version(ForkName::Capella).unwrap_or_default(),
            || "fork".into(),
        )?;
        // Lodestar answered `id=0,1` with an empty list; the client must cope.
        let validators = client
            .post_state_validators(StateId::Head, &[ValidatorId::Index(0)], &[])
            .await?;
        ensure(validators.data.is_empty(), || {
            "recorded an empty list".into()
        })?;
        let stream = client.subscribe_events(&EventTopic::ALL).await?;
        let events: Vec<_> = stream.collect().await;
        let events = events.into_iter().collect::<Result<Vec<_>, _>>()?;
        check_events(&events)
    })
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("beacon-node-responses") else {
        let skipped =
            Trial::test("recorded responses (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let mut trials = Vec::new();
    for (folder, preset) in FOLDERS {
        let dir = root.join(folder);
        let mut names: Vec<String> = std::fs::read_dir(&dir)
            .map(|entries| {
                entries
                    .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let shapes: Vec<String> = names
            .iter()
            .map(|n| match file_epoch(n) {
                Some(epoch) => n.replace(&format!("_e{epoch}.json"), "_e*.json"),
                None => n.clone(),
            })
            .collect();
        let mut expected: Vec<&str> = EXPECTED.to_vec();
        expected.sort_unstable();
        let complete = shapes == expected;
        trials.push(Trial::test(
            format!("{folder}: expected files present"),
            move || ensure(complete, || format!("found {shapes:?}")),
        ));
        for name in names {
            let dir = dir.clone();
            trials.push(Trial::test(
                format!("{folder}/{name}"),
                move || match preset {
                    Preset::Minimal => check_file::<MinimalEthSpec>(&dir, &name),
                    Preset::Mainnet => check_file::<MainnetEthSpec>(&dir, &name),
                },
            ));
        }
        trials.push(Trial::test(
            format!("{folder}: replay through the client"),
            move || match preset {
                Preset::Minimal => replay_through_client::<MinimalEthSpec>(dir),
                Preset::Mainnet => replay_through_client::<MainnetEthSpec>(dir),
            },
        ));
    }
    println!("recorded_responses: {} trials", trials.len());
    libtest_mimic::run(&args, trials).exit();
}
