//! Recomputing a published report from a beacon node, as an auditor does with `poolvc report
//! verify`: every epoch the report covers is fetched and accounted again
//! ([`super::fetch::EpochFetcher`], `pool_registry::ledger::account_epoch`), the report is
//! rebuilt on the same base (the previous final report, the frames' assignment snapshots, the
//! recorded EL values and the published share supply), and compared field by field.
//!
//! The inputs that are not on the beacon chain are checked against the report before use: the
//! previous report's root must be the published `previous_report_root`; the snapshots commit
//! through `assignments_root`, which the comparison covers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pool_registry::ledger::{ElBlockValue, EpochSummary, account_epoch};
use pool_registry::report::{
    FieldDiff, FrameReport, ReportBuilder, ReportEnvelope, ReportParams, diff_reports,
};
use pool_registry::{FrameSnapshot, PoolConfig};
use types::{ChainSpec, Epoch, EthSpec, Hash256, PublicKeyBytes};

use super::fetch::{EpochFetcher, StateAccess};
use super::{AccountingError, Result};
use crate::beacon_node::BeaconNodeFallback;

/// What a recomputation needs besides the beacon node.
#[derive(Debug, Clone)]
pub struct VerifyInputs {
    /// The published report.
    pub report: FrameReport,
    /// The pool's parameters (frames, credentials, vault, sanity limits).
    pub pool: PoolConfig,
    /// The assignment snapshot of every frame the report covers.
    pub snapshots: BTreeMap<u64, FrameSnapshot>,
    /// The previous final report (absent for the pool's first report).
    pub previous: Option<FrameReport>,
    /// EL values recorded at block production for the report's slots.
    pub el_values: Vec<ElBlockValue>,
}

/// The result of a recomputation.
#[derive(Debug, Clone)]
pub struct Verification {
    /// The report recomputed from the beacon node.
    pub recomputed: ReportEnvelope,
    /// Fields where the published report differs (empty: it matches).
    pub diffs: Vec<FieldDiff>,
    /// The published report's root.
    pub published_root: Hash256,
}

impl Verification {
    /// Whether the published report equals the recomputed one.
    pub fn matches(&self) -> bool {
        self.diffs.is_empty() && self.recomputed.root == self.published_root
    }
}

fn input(epoch: Epoch, detail: impl Into<String>) -> AccountingError {
    AccountingError::Input {
        epoch,
        detail: detail.into(),
    }
}

/// The SSZ root of a report.
pub fn report_root(report: &FrameReport) -> Result<Hash256> {
    Ok(report.root()?)
}

/// Recomputes `inputs.report` from the beacon nodes of `fallback`.
pub async fn recompute<E: EthSpec>(
    fallback: Arc<BeaconNodeFallback>,
    spec: Arc<ChainSpec>,
    genesis_validators_root: Hash256,
    inputs: &VerifyInputs,
) -> Result<Verification> {
    let published = &inputs.report;
    let last = published.last_epoch;
    if published.genesis_validators_root != genesis_validators_root {
        return Err(input(
            last,
            format!(
                "the report is for the chain with genesis validators root {}, the beacon node follows {}",
                published.genesis_validators_root, genesis_validators_root
            ),
        ));
    }
    match (
        &inputs.previous,
        published.previous_report_root == Hash256::ZERO,
    ) {
        (None, false) => {
            return Err(input(
                last,
                format!(
                    "the report builds on the report {}: give it (--previous or --pool-api)",
                    published.previous_report_root
                ),
            ));
        }
        (Some(previous), _) => {
            let root = report_root(previous)?;
            if root != published.previous_report_root {
                return Err(input(
                    last,
                    format!(
                        "the previous report given has root {root}, the report builds on {}",
                        published.previous_report_root
                    ),
                ));
            }
        }
        (None, true) => {}
    }
    let finalized = super::finalized_epoch(&fallback).await?;
    if last.as_u64() + 2 > finalized.as_u64() {
        return Err(input(
            last,
            format!(
                "epoch {last} is not final yet on the beacon node (finalized checkpoint {finalized})"
            ),
        ));
    }

    let params = ReportParams {
        spec: &spec,
        pool: &inputs.pool,
        genesis_validators_root,
        frame: published.frame,
        previous: inputs.previous.as_ref(),
        share_supply: published.share_supply,
    };
    let mut builder = ReportBuilder::new(params)?;
    let (first, last) = builder.epochs();
    let spe = spec.slots_per_epoch;
    let mut fetcher = EpochFetcher::<E>::new(fallback, spec.clone());
    let mut summaries: Vec<EpochSummary> = Vec::new();
    for e in first.as_u64()..=last.as_u64() {
        let epoch = Epoch(e);
        let frame = inputs
            .pool
            .frame
            .frame_of(epoch)
            .ok_or_else(|| input(epoch, "the epoch is before the pool's first frame"))?;
        let snapshot = inputs.snapshots.get(&frame).ok_or_else(|| {
            input(
                epoch,
                format!("no assignment snapshot given for frame {frame}"),
            )
        })?;
        let keys: BTreeSet<PublicKeyBytes> = snapshot.assignments.keys().copied().collect();
        let key_list: Vec<PublicKeyBytes> = keys.iter().copied().collect();
        let (from, to) = (epoch.start_slot(spe), epoch.end_slot(spe));
        let el_values = inputs
            .el_values
            .iter()
            .filter(|v| v.slot >= from && v.slot <= to)
            .cloned()
            .collect();
        let epoch_inputs = fetcher.fetch(epoch, &key_list, el_values).await?;
        let ledger = account_epoch(
            &spec,
            &keys,
            inputs.pool.withdrawal_credentials,
            inputs.pool.el_rewards_vault,
            &epoch_inputs,
        )?;
        summaries.push(ledger.summary());
        builder.add_epoch(&ledger, snapshot)?;
        tracing::debug!(%epoch, access = ?fetcher.access(), "verify: epoch recomputed");
    }
    if fetcher.access() == StateAccess::DebugState {
        tracing::info!("states were read from the beacon node's debug API");
    }
    let recomputed = builder.finish(&summaries)?;
    let diffs = diff_reports(&recomputed.report, published)?;
    Ok(Verification {
        recomputed,
        diffs,
        published_root: report_root(published)?,
    })
}
