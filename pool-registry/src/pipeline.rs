//! The accounting workflow over a [`LedgerStore`], as the validator binary drives it:
//!
//! 1. at every new epoch, [`capture_frame`]: the first call in a frame stores the live
//!    registry's assignment snapshot and pool parameters for that frame (later calls return the
//!    stored ones), and with them the oracle committee's membership when the registry has an
//!    `[oracle]` section;
//! 2. once epoch e+1 is finalized, [`account_and_store`] accounts epoch e with its frame's
//!    snapshot and parameters and stores it (idempotent; a different result is an error);
//! 3. after a frame's last epoch is stored, [`build_and_store_report`] builds the report on the
//!    last final report, signs it when final, and stores it.
//!
//! Catching up after downtime is the same loop over [`LedgerStore::missing_epochs`]; the
//! snapshot of a frame that started during the downtime is the registry at catch-up time. A
//! frame whose snapshot was stored before frame parameters were recorded gets the live
//! registry's parameters at its next capture.

use std::collections::BTreeSet;

use types::{ChainSpec, Epoch, Hash256, PublicKeyBytes, U256};

use crate::error::{Error, Result};
use crate::ledger::{EpochInputs, EpochLedger, account_epoch, is_accountable};
use crate::registry::{FrameParameters, FrameSnapshot, PoolConfig, Registry};
use crate::report::{
    ReportBuilder, ReportEnvelope, ReportParams, ReportSigner, ReportStatus, sign_report,
};
use crate::store::{LedgerStore, StoreOutcome};

/// Stores (once) and returns the snapshot and the pool parameters of the frame containing
/// `epoch`; stores (once) the frame's oracle membership beside them.
pub async fn capture_frame(
    store: &dyn LedgerStore,
    registry: &Registry,
    epoch: Epoch,
) -> Result<(FrameSnapshot, FrameParameters)> {
    let frame = registry
        .pool()
        .frame
        .frame_of(epoch)
        .ok_or_else(|| Error::Report {
            frame: 0,
            message: format!("epoch {epoch} is before the first frame"),
        })?;
    let snapshot = store.ensure_snapshot(&registry.snapshot(frame)).await?;
    if let Some(membership) = registry.oracle_membership(frame) {
        store.ensure_membership(&membership).await?;
    }
    let parameters = store
        .ensure_frame_parameters(&registry.frame_parameters(frame))
        .await?;
    Ok((snapshot, parameters))
}

/// Stores (once) and returns the snapshot of the frame containing `epoch` (with its
/// parameters, [`capture_frame`]).
pub async fn capture_frame_snapshot(
    store: &dyn LedgerStore,
    registry: &Registry,
    epoch: Epoch,
) -> Result<FrameSnapshot> {
    Ok(capture_frame(store, registry, epoch).await?.0)
}

/// Accounts `inputs.epoch` with its frame's snapshot and parameters (withdrawal credentials,
/// vault) and stores the ledger. Refuses an epoch that is not yet accountable (every block of
/// e+1 final): a result from a chain that could still reorganise would be stored for good.
pub async fn account_and_store(
    store: &dyn LedgerStore,
    spec: &ChainSpec,
    registry: &Registry,
    inputs: &EpochInputs,
    finalized_checkpoint_epoch: Epoch,
) -> Result<(EpochLedger, StoreOutcome)> {
    if !is_accountable(inputs.epoch, finalized_checkpoint_epoch) {
        return Err(Error::Input {
            epoch: inputs.epoch,
            message: format!(
                "not accountable yet: the finalized checkpoint is at epoch {finalized_checkpoint_epoch}, epoch {} is needed",
                inputs.epoch + 2
            ),
        });
    }
    let (snapshot, parameters) = capture_frame(store, registry, inputs.epoch).await?;
    let keys: BTreeSet<PublicKeyBytes> = snapshot.assignments.keys().copied().collect();
    let ledger = account_epoch(
        spec,
        &keys,
        parameters.withdrawal_credentials,
        parameters.el_rewards_vault,
        inputs,
    )?;
    let outcome = store.store_epoch(&ledger).await?;
    Ok((ledger, outcome))
}

/// Builds the report of `frame` from the stored ledger, signs it when final (and a signer is
/// given) and stores it. Returns the stored envelope.
pub async fn build_and_store_report(
    store: &dyn LedgerStore,
    spec: &ChainSpec,
    pool: &PoolConfig,
    genesis_validators_root: Hash256,
    frame: u64,
    share_supply: Option<U256>,
    signer: Option<&dyn ReportSigner>,
) -> Result<ReportEnvelope> {
    let previous = store.latest_final_report().await?;
    if let Some(p) = previous.as_ref().filter(|p| p.report.frame >= frame) {
        return Err(Error::Report {
            frame,
            message: format!("frame {} already has a final report", p.report.frame),
        });
    }
    let params = ReportParams {
        spec,
        pool,
        genesis_validators_root,
        frame,
        previous: previous.as_ref().map(|p| &p.report),
        share_supply: share_supply.unwrap_or(pool.initial_total_shares),
    };
    // The pool's first frame: where its ledger starts (its lowest snapshot).
    let first_frame = store
        .snapshot_frames()
        .await?
        .map_or(frame, |(low, _)| low.min(frame));
    let mut builder = ReportBuilder::for_pool(params, first_frame)?;
    let (first, last) = builder.epochs();
    let mut snapshot: Option<FrameSnapshot> = None;
    for e in first.as_u64()..=last.as_u64() {
        let epoch = Epoch(e);
        let epoch_frame = pool.frame.frame_of(epoch).ok_or_else(|| Error::Report {
            frame,
            message: format!("epoch {epoch} is before the first frame"),
        })?;
        if snapshot.as_ref().is_none_or(|s| s.frame != epoch_frame) {
            snapshot = Some(
                store
                    .snapshot(epoch_frame)
                    .await?
                    .ok_or_else(|| Error::Report {
                        frame,
                        message: format!("no assignment snapshot stored for frame {epoch_frame}"),
                    })?,
            );
        }
        let ledger = store.epoch(epoch).await?.ok_or_else(|| Error::Report {
            frame,
            message: format!("ledger epoch {epoch} is not stored yet"),
        })?;
        if let Some(s) = &snapshot {
            builder.add_epoch(&ledger, s)?;
        }
    }
    let window_start = last
        .as_u64()
        .saturating_sub(pool.sanity.negative_rebase_window_epochs.saturating_sub(1));
    let window = store.epoch_summaries(Epoch(window_start), last).await?;
    let mut envelope = builder.finish(&window)?;
    if let (ReportStatus::Final, Some(signer)) = (envelope.status, signer) {
        sign_report(&mut envelope, spec, signer)?;
    }
    store.store_report(&envelope).await?;
    Ok(envelope)
}
