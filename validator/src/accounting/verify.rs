//! Recomputing a published report from a beacon node, as an auditor does with `poolvc report
//! verify`: every epoch the report covers is fetched and accounted again
//! ([`super::fetch::EpochFetcher`], `pool_registry::ledger::account_epoch`) with the frame
//! parameters and snapshots in force, the report is rebuilt on the same base (the previous
//! final report, the published share supply, the sanity limits it was built with) and compared
//! field by field, and its status (final or withheld, with the violated limits) is checked
//! when the published values allow it.
//!
//! The inputs that are not on the beacon chain are checked against the report before use: the
//! previous report's root must be the published `previous_report_root`; the snapshots commit
//! through `assignments_root`, which the comparison covers.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use pool_registry::ledger::{ElBlockValue, EpochSummary, account_epoch};
use pool_registry::report::{
    FieldDiff, FrameReport, ReportBuilder, ReportEnvelope, ReportParameters, ReportParams,
    ReportStatus, SanityViolation, diff_reports,
};
use pool_registry::{
    FeeConfig, FrameConfig, FrameParameters, FrameSnapshot, PoolConfig, SanityLimits,
};
use types::{ChainSpec, Epoch, EthSpec, Hash256, PublicKeyBytes};

use super::fetch::{EpochFetcher, StateAccess};
use super::{AccountingError, Result};
use crate::beacon_node::BeaconNodeFallback;

/// A report's status as the pool published it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublishedStatus {
    /// Final or withheld.
    pub status: ReportStatus,
    /// The violated limits (empty when final).
    pub violations: Vec<SanityViolation>,
    /// The parameters it was built with, when published.
    pub parameters: Option<ReportParameters>,
}

/// What a recomputation needs besides the beacon node.
#[derive(Debug, Clone)]
pub struct VerifyInputs {
    /// The report to check.
    pub report: FrameReport,
    /// The frame geometry.
    pub frames: FrameConfig,
    /// The sanity limits the report was built with.
    pub sanity: SanityLimits,
    /// The pool's first frame (where its ledger starts): the start of a report without a
    /// previous final report.
    pub first_frame: u64,
    /// The assignment snapshot of every frame the report covers.
    pub snapshots: BTreeMap<u64, FrameSnapshot>,
    /// The parameters of every frame the report covers.
    pub parameters: BTreeMap<u64, FrameParameters>,
    /// The previous final report (absent for the pool's first report).
    pub previous: Option<FrameReport>,
    /// EL values recorded at block production for the report's slots.
    pub el_values: Vec<ElBlockValue>,
    /// The published summaries of the ledger epochs of the negative-rebase window before the
    /// report's first epoch (`None`: not available; the status is then not checked when the
    /// window reaches before the report).
    pub window: Option<Vec<EpochSummary>>,
    /// The published status (`None`: not checked).
    pub published: Option<PublishedStatus>,
}

/// Whether the report's status was reproduced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StatusCheck {
    /// Status, violated limits and recorded parameters are the published ones.
    Matches,
    /// They differ.
    Differs {
        /// What differs.
        detail: String,
    },
    /// Not checked.
    NotChecked {
        /// Why.
        reason: String,
    },
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
    /// The status check.
    pub status: StatusCheck,
}

impl Verification {
    /// Whether the published report (and its status, when checked) equals the recomputed one.
    pub fn matches(&self) -> bool {
        self.diffs.is_empty()
            && self.recomputed.root == self.published_root
            && !matches!(self.status, StatusCheck::Differs { .. })
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

/// Checks the inputs the chain does not hold against the report.
fn check_base(inputs: &VerifyInputs, genesis_validators_root: Hash256) -> Result<()> {
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
        (None, false) => Err(input(
            last,
            format!(
                "the report builds on the report {}: give it (--previous or --pool-api)",
                published.previous_report_root
            ),
        )),
        (Some(previous), _) => {
            let root = report_root(previous)?;
            if root == published.previous_report_root {
                Ok(())
            } else {
                Err(input(
                    last,
                    format!(
                        "the previous report given has root {root}, the report builds on {}",
                        published.previous_report_root
                    ),
                ))
            }
        }
        (None, true) => Ok(()),
    }
}

/// Compares the recomputed status with the published one.
fn check_status(
    recomputed: &ReportEnvelope,
    published: Option<&PublishedStatus>,
    window_complete: bool,
) -> StatusCheck {
    let Some(published) = published else {
        return StatusCheck::NotChecked {
            reason: "the pool's published status was not given (--pool-api)".to_owned(),
        };
    };
    if !window_complete {
        return StatusCheck::NotChecked {
            reason: "the negative-rebase window reaches before the report and its epochs' published summaries were not given".to_owned(),
        };
    }
    let mut differences = Vec::new();
    if published.status != recomputed.status {
        differences.push(format!(
            "status: published {}, recomputed {}",
            published.status.as_str(),
            recomputed.status.as_str()
        ));
    }
    if published.violations != recomputed.violations {
        differences.push(format!(
            "violations: published {:?}, recomputed {:?}",
            published.violations, recomputed.violations
        ));
    }
    if let Some(parameters) = &published.parameters
        && Some(parameters) != recomputed.parameters.as_ref()
    {
        differences.push(format!(
            "parameters: published {parameters:?}, recomputed {:?}",
            recomputed.parameters
        ));
    }
    if differences.is_empty() {
        StatusCheck::Matches
    } else {
        StatusCheck::Differs {
            detail: differences.join("; "),
        }
    }
}

/// Recomputes `inputs.report` from the beacon nodes of `fallback`.
pub async fn recompute<E: EthSpec>(
    fallback: Arc<BeaconNodeFallback>,
    spec: Arc<ChainSpec>,
    genesis_validators_root: Hash256,
    inputs: &VerifyInputs,
) -> Result<Verification> {
    check_base(inputs, genesis_validators_root)?;
    let published = &inputs.report;
    let last = published.last_epoch;
    let finalized = super::finalized_checkpoint(&fallback).await?;
    if last.as_u64() + 2 > finalized.epoch.as_u64() {
        return Err(input(
            last,
            format!(
                "epoch {last} is not final yet on the beacon node (finalized checkpoint {})",
                finalized.epoch
            ),
        ));
    }
    let frame_parameters = |frame: u64, epoch: Epoch| {
        inputs.parameters.get(&frame).ok_or_else(|| {
            input(
                epoch,
                format!("no frame parameters given for frame {frame}"),
            )
        })
    };
    let last_parameters = frame_parameters(published.frame, last)?;
    // The report builder reads the frame geometry and the sanity limits only.
    let pool = PoolConfig {
        name: String::new(),
        withdrawal_credentials: last_parameters.withdrawal_credentials,
        el_rewards_vault: last_parameters.el_rewards_vault,
        allow_other_fee_recipients: false,
        frame: inputs.frames,
        fees: FeeConfig {
            protocol_bps: 0,
            operator_bps: 0,
        },
        initial_total_shares: published.share_supply,
        sanity: inputs.sanity,
    };
    let params = ReportParams {
        spec: &spec,
        pool: &pool,
        genesis_validators_root,
        frame: published.frame,
        previous: inputs.previous.as_ref(),
        share_supply: published.share_supply,
    };
    let mut builder = ReportBuilder::for_pool(params, inputs.first_frame)?;
    let (first, last) = builder.epochs();
    let spe = spec.slots_per_epoch;
    let mut fetcher = EpochFetcher::<E>::new(fallback, spec.clone());
    let mut summaries: Vec<EpochSummary> = Vec::new();
    for e in first.as_u64()..=last.as_u64() {
        let epoch = Epoch(e);
        let frame = inputs
            .frames
            .frame_of(epoch)
            .ok_or_else(|| input(epoch, "the epoch is before the pool's first frame"))?;
        let snapshot = inputs.snapshots.get(&frame).ok_or_else(|| {
            input(
                epoch,
                format!("no assignment snapshot given for frame {frame}"),
            )
        })?;
        let parameters = frame_parameters(frame, epoch)?;
        let keys: BTreeSet<PublicKeyBytes> = snapshot.assignments.keys().copied().collect();
        let key_list: Vec<PublicKeyBytes> = keys.iter().copied().collect();
        let (from, to) = (epoch.start_slot(spe), epoch.end_slot(spe));
        let el_values = inputs
            .el_values
            .iter()
            .filter(|v| v.slot >= from && v.slot <= to)
            .cloned()
            .collect();
        let epoch_inputs = fetcher
            .fetch(epoch, finalized, &key_list, el_values)
            .await?;
        let ledger = account_epoch(
            &spec,
            &keys,
            parameters.withdrawal_credentials,
            parameters.el_rewards_vault,
            &epoch_inputs,
        )?;
        summaries.push(ledger.summary());
        builder.add_epoch(&ledger, snapshot)?;
        tracing::debug!(%epoch, access = ?fetcher.access(), "verify: epoch recomputed");
    }
    if fetcher.access() == StateAccess::DebugState {
        tracing::info!("states were read from the beacon node's debug API");
    }
    // The negative-rebase window: the published summaries of its epochs before the report
    // (recomputing them would mean accounting up to `negative_rebase_window_epochs` epochs),
    // then the recomputed ones.
    let window_start = Epoch(
        last.as_u64().saturating_sub(
            inputs
                .sanity
                .negative_rebase_window_epochs
                .saturating_sub(1),
        ),
    );
    let ledger_start = inputs.frames.first_epoch(inputs.first_frame);
    let mut window: Vec<EpochSummary> = Vec::new();
    let needs_published = window_start < first && ledger_start < first;
    if let Some(published) = &inputs.window {
        window.extend(
            published
                .iter()
                .filter(|s| s.epoch >= window_start && s.epoch < first)
                .copied(),
        );
    }
    window.extend(
        summaries
            .iter()
            .filter(|s| s.epoch >= window_start)
            .copied(),
    );
    let recomputed = builder.finish(&window)?;
    let diffs = diff_reports(&recomputed.report, published)?;
    let status = check_status(
        &recomputed,
        inputs.published.as_ref(),
        !needs_published || inputs.window.is_some(),
    );
    Ok(Verification {
        recomputed,
        diffs,
        published_root: report_root(published)?,
        status,
    })
}
