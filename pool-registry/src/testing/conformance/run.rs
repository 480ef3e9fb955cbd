//! Running a conformance case from its files alone, as an outside implementation would: the
//! inputs are decoded from the Beacon API responses and the pool's published values, the
//! canonical blocks are found by walking parent roots back from the finalized checkpoint, every
//! epoch is accounted and every frame reported (`docs/accounting.md`), and the outputs are
//! written in the case's `expected/` layout (`tests/fixtures/conformance/README.md`).
//!
//! Invariant: nothing here knows how a case was generated; only the files are read.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use types::{
    ChainSpec, Epoch, ForkName, ForkVersioned, Hash256, MinimalEthSpec, SignedBeaconBlock, Slot,
    U256,
};

use super::super::scenario::Files;
use crate::error::{Error, Result};
use crate::ledger::{
    AtSlot, BlockFacts, ElBlockValue, EpochInputs, EpochLedger, PendingDeposit, RewardsInputs,
    account_epoch,
};
use crate::merkle::leaf_hash;
use crate::registry::{FeeConfig, FrameParameters, FrameSnapshot, PoolConfig, SanityLimits};
use crate::report::{
    FrameReport, ReportBuilder, ReportEnvelope, ReportParams, ReportStatus, report_signing_root,
};

/// Where a case's files are read from.
pub trait CaseFiles {
    /// The text of the file at `path` (relative to the case), `None` when absent.
    fn read(&self, path: &str) -> Result<Option<String>>;
}

impl CaseFiles for PathBuf {
    fn read(&self, path: &str) -> Result<Option<String>> {
        let full = self.join(path);
        match std::fs::read_to_string(&full) {
            Ok(text) => Ok(Some(text)),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(source) => Err(Error::Io { path: full, source }),
        }
    }
}

impl CaseFiles for Files {
    fn read(&self, path: &str) -> Result<Option<String>> {
        Ok(self.get(path).cloned())
    }
}

fn corrupt(path: &str, detail: impl std::fmt::Display) -> Error {
    Error::Corrupt(format!("conformance file {path}: {detail}"))
}

fn json(files: &dyn CaseFiles, path: &str) -> Result<Option<Value>> {
    files
        .read(path)?
        .map(|text| {
            serde_json::from_str(&text).map_err(|source| Error::Json {
                what: path.to_owned(),
                source,
            })
        })
        .transpose()
}

fn required(files: &dyn CaseFiles, path: &str) -> Result<Value> {
    json(files, path)?.ok_or_else(|| corrupt(path, "missing"))
}

fn decode<T: DeserializeOwned>(value: Value, path: &str) -> Result<T> {
    serde_json::from_value(value).map_err(|source| Error::Json {
        what: path.to_owned(),
        source,
    })
}

/// The `data` of a response file.
fn data<T: DeserializeOwned>(files: &dyn CaseFiles, path: &str) -> Result<T> {
    let mut value = required(files, path)?;
    decode(value["data"].take(), path)
}

fn quoted(value: &Value, path: &str, field: &str) -> Result<u64> {
    value[field]
        .as_str()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| corrupt(path, format!("`{field}` is not a decimal string")))
}

fn pretty(value: &Value) -> String {
    serde_json::to_string_pretty(value).expect("json") + "\n"
}

/// A frame as published: its snapshot and parameters.
struct Frame {
    snapshot: FrameSnapshot,
    parameters: FrameParameters,
}

fn frame(files: &dyn CaseFiles, f: u64) -> Result<Frame> {
    let path = format!("pool/frames/{f}/snapshot.json");
    let value = required(files, &path)?;
    let snapshot: FrameSnapshot = decode(value["data"]["snapshot"].clone(), &path)?;
    let root: Hash256 = decode(value["data"]["root"].clone(), &path)?;
    if snapshot.frame != f || snapshot.root()? != root {
        return Err(corrupt(&path, "frame or root does not match the snapshot"));
    }
    let path = format!("pool/frames/{f}/parameters.json");
    let parameters: FrameParameters = data(files, &path)?;
    if parameters.frame != f {
        return Err(corrupt(&path, "frame does not match"));
    }
    Ok(Frame {
        snapshot,
        parameters,
    })
}

/// The canonical blocks from the finalized checkpoint block back to the first block before
/// `from` (by walking parent roots; a block file is named by its root, which is checked).
fn canonical_blocks(files: &dyn CaseFiles, from: Slot) -> Result<BTreeMap<Slot, BlockFacts>> {
    let path = "beacon/finality_checkpoints.json";
    let finality = required(files, path)?;
    let mut root: Hash256 = decode(finality["data"]["finalized"]["root"].clone(), path)?;
    let mut blocks = BTreeMap::new();
    loop {
        let path = format!("beacon/blocks/{root}.json");
        let value = required(files, &path)?;
        let block = ForkVersioned::<SignedBeaconBlock<MinimalEthSpec>>::decode_json(value)
            .map_err(|e| corrupt(&path, e))?;
        let facts = BlockFacts::from_block(&block.data);
        if facts.root != root {
            return Err(corrupt(
                &path,
                format!("the block's root is {}", facts.root),
            ));
        }
        let (slot, parent) = (facts.slot, facts.parent_root);
        blocks.insert(slot, facts);
        if slot < from || slot.as_u64() == 0 {
            return Ok(blocks);
        }
        root = parent;
    }
}

/// The `data` of `beacon/rewards/{prefix}_{slot}.json` for every slot.
fn at_slots<T: DeserializeOwned>(
    files: &dyn CaseFiles,
    slots: &[Slot],
    prefix: &str,
) -> Result<Vec<AtSlot<T>>> {
    slots
        .iter()
        .map(|s| {
            Ok(AtSlot {
                slot: *s,
                data: data(files, &format!("beacon/rewards/{prefix}_{s}.json"))?,
            })
        })
        .collect()
}

fn epoch_inputs(
    files: &dyn CaseFiles,
    spec: &ChainSpec,
    epoch: Epoch,
    blocks: &BTreeMap<Slot, BlockFacts>,
    el_values: &[ElBlockValue],
) -> Result<EpochInputs> {
    let spe = spec.slots_per_epoch;
    let (start, end) = (epoch.start_slot(spe), epoch.end_slot(spe));
    let before = Slot(start.as_u64() - 1);
    let in_range: Vec<BlockFacts> = blocks
        .range(start..=(epoch + 1).end_slot(spe))
        .map(|(_, b)| b.clone())
        .collect();
    let electra = |e: Epoch| spec.fork_name_at_epoch(e) >= ForkName::Electra;
    let pending = |slot: Slot| -> Result<Vec<PendingDeposit>> {
        data(files, &format!("beacon/pending_deposits/{slot}.json"))
    };
    let rewards = match epoch.as_u64().checked_sub(2) {
        Some(rewarded) => {
            let path = format!("beacon/rewards/attestations_{rewarded}.json");
            match json(files, &path)? {
                None => None,
                Some(mut value) => {
                    let slots: Vec<Slot> = in_range
                        .iter()
                        .filter(|b| b.slot <= end)
                        .map(|b| b.slot)
                        .collect();
                    Some(RewardsInputs {
                        attestations: decode(value["data"].take(), &path)?,
                        blocks: at_slots(files, &slots, "blocks")?,
                        sync_committee: at_slots(files, &slots, "sync_committee")?,
                    })
                }
            }
        }
        None => None,
    };
    Ok(EpochInputs {
        epoch,
        validators_start: data(files, &format!("beacon/validators/{before}.json"))?,
        validators_end: data(files, &format!("beacon/validators/{end}.json"))?,
        blocks: in_range,
        committees: data(files, &format!("beacon/committees/{epoch}.json"))?,
        proposer_duties: data(files, &format!("beacon/proposer_duties/{epoch}.json"))?,
        sync_committee: Some(data(
            files,
            &format!("beacon/sync_committees/{epoch}.json"),
        )?),
        pending_deposits_start: if electra(epoch) && electra(epoch - 1) {
            Some(pending(before)?)
        } else {
            None
        },
        pending_deposits_end: if electra(epoch) {
            Some(pending(end)?)
        } else {
            None
        },
        el_values: el_values
            .iter()
            .filter(|v| v.slot >= start && v.slot <= end)
            .cloned()
            .collect(),
        rewards,
    })
}

/// The report inputs of a frame besides the ledger: the share supply and the sanity limits.
fn report_inputs(files: &dyn CaseFiles, f: u64) -> Result<(U256, SanityLimits)> {
    let path = format!("pool/reports/{f}/inputs.json");
    let value = required(files, &path)?;
    let supply = value["share_supply"]
        .as_str()
        .and_then(|s| U256::from_str_radix(s, 10).ok())
        .ok_or_else(|| corrupt(&path, "`share_supply` is not a decimal string"))?;
    Ok((supply, decode(value["sanity_limits"].clone(), &path)?))
}

fn outcome(envelope: &ReportEnvelope, spec: &ChainSpec) -> Result<Value> {
    let report = &envelope.report;
    let proofs: serde_json::Map<String, Value> = report
        .operators
        .iter()
        .map(|o| {
            let proof = envelope
                .proofs
                .get(&o.operator_id)
                .cloned()
                .unwrap_or_default();
            (
                o.operator_id.to_string(),
                json!({
                    "cumulative_fee_wei": o.cumulative_fee_wei.to_string(),
                    "leaf_hash": leaf_hash(U256::from(o.operator_id), o.cumulative_fee_wei),
                    "proof": proof,
                }),
            )
        })
        .collect();
    Ok(json!({
        "root": envelope.root,
        "status": envelope.status,
        "violations": envelope.violations,
        "rewards_root": report.rewards_root,
        "proofs": proofs,
        "parameters": envelope.parameters,
        "signing_root": report_signing_root(spec, report.genesis_validators_root, envelope.root),
        "ssz": format!("0x{}", hex::encode(report.to_ssz()?)),
    }))
}

/// Accounts and reports a case; returns its `expected/` files.
pub fn run_case(files: &dyn CaseFiles) -> Result<Files> {
    let spec = ChainSpec::from_config_map(&data(files, "config_spec.json")?)
        .map_err(|e| corrupt("config_spec.json", e))?;
    let genesis = required(files, "genesis.json")?;
    let gvr: Hash256 = decode(
        genesis["data"]["genesis_validators_root"].clone(),
        "genesis.json",
    )?;
    let case = required(files, "case.json")?;
    let first_frame = quoted(&case, "case.json", "first_frame")?;
    let last_frame = quoted(&case, "case.json", "last_frame")?;
    let mut frames = BTreeMap::new();
    for f in first_frame..=last_frame {
        frames.insert(f, frame(files, f)?);
    }
    let geometry = frames[&first_frame].parameters.frames();
    let first_epoch = geometry.first_epoch(first_frame);
    let blocks = canonical_blocks(files, first_epoch.start_slot(spec.slots_per_epoch))?;
    let el_values: Vec<ElBlockValue> = data(files, "pool/el_values.json")?;

    let mut out = Files::new();
    let mut ledgers: BTreeMap<Epoch, EpochLedger> = BTreeMap::new();
    let mut previous: Option<FrameReport> = None;
    for (f, fr) in &frames {
        let keys = fr.snapshot.assignments.keys().copied().collect();
        let geometry = fr.parameters.frames();
        for e in geometry.first_epoch(*f).as_u64()..=geometry.last_epoch(*f).as_u64() {
            let inputs = epoch_inputs(files, &spec, Epoch(e), &blocks, &el_values)?;
            let ledger = account_epoch(
                &spec,
                &keys,
                fr.parameters.withdrawal_credentials,
                fr.parameters.el_rewards_vault,
                &inputs,
            )?;
            out.insert(
                format!("expected/ledger/{e}.json"),
                pretty(&json!({"epoch": e.to_string(), "records": ledger.records})),
            );
            ledgers.insert(Epoch(e), ledger);
        }
        let (share_supply, sanity) = report_inputs(files, *f)?;
        let pool = PoolConfig {
            name: "conformance".to_owned(),
            withdrawal_credentials: fr.parameters.withdrawal_credentials,
            el_rewards_vault: fr.parameters.el_rewards_vault,
            allow_other_fee_recipients: false,
            frame: geometry,
            fees: FeeConfig {
                protocol_bps: fr.snapshot.protocol_bps,
                operator_bps: 0,
            },
            initial_total_shares: share_supply,
            sanity,
        };
        let mut builder = ReportBuilder::for_pool(
            ReportParams {
                spec: &spec,
                pool: &pool,
                genesis_validators_root: gvr,
                frame: *f,
                previous: previous.as_ref(),
                share_supply,
            },
            first_frame,
        )?;
        let (first, last) = builder.epochs();
        for e in first.as_u64()..=last.as_u64() {
            let epoch_frame = geometry
                .frame_of(Epoch(e))
                .ok_or_else(|| corrupt("case.json", format!("epoch {e} is before frame 0")))?;
            let snapshot = &frames
                .get(&epoch_frame)
                .ok_or_else(|| {
                    corrupt(
                        "case.json",
                        format!("frame {epoch_frame} is not in the case"),
                    )
                })?
                .snapshot;
            builder.add_epoch(&ledgers[&Epoch(e)], snapshot)?;
        }
        let window_start = last
            .as_u64()
            .saturating_sub(sanity.negative_rebase_window_epochs.saturating_sub(1));
        let window: Vec<_> = ledgers
            .range(Epoch(window_start)..=last)
            .map(|(_, l)| l.summary())
            .collect();
        let envelope = builder.finish(&window)?;
        out.insert(
            format!("expected/reports/{f}/report.json"),
            crate::canonical::to_canonical_json(&envelope.report)?,
        );
        out.insert(
            format!("expected/reports/{f}/outcome.json"),
            pretty(&outcome(&envelope, &spec)?),
        );
        if envelope.status == ReportStatus::Final {
            previous = Some(envelope.report);
        }
    }
    Ok(out)
}
