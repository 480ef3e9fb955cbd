//! Queries shared by the reports API and the dashboard: the latest final report joined with
//! the registry (operator names, key counts) and, per operator, its validators with their
//! ledger record at the report's last epoch.
//!
//! Invariant: operator figures come from the report only (what was published and signed); the
//! registry only adds display data (names) and the live key count.

use std::collections::HashMap;

use pool_registry::ledger::ValidatorEpoch;
use pool_registry::report::{ReportEnvelope, Tally};
use pool_registry::{Error as StoreError, OperatorId};
use types::{Address, Epoch, PublicKeyBytes, U256};

use crate::http::error::ApiError;
use crate::http::state::ReportsState;
use crate::http::verify::{OperatorProof, operator_proof};

/// One operator in the latest final report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OperatorRow {
    /// Operator id.
    pub id: OperatorId,
    /// Display name from the live registry (`None`: no longer in the registry).
    pub name: Option<String>,
    /// Where its fees are paid (the report's terms).
    pub reward_address: Address,
    /// Fee rate applied in the report.
    pub operator_bps: u64,
    /// Keys the live registry assigns to it.
    pub registry_keys: usize,
    /// Cumulative operator fees (wei): the Merkle leaf value.
    pub cumulative_fee_wei: U256,
    /// The report's figures for the operator.
    pub tally: Tally,
}

/// The latest final report with one row per operator.
#[derive(Debug, Clone)]
pub struct OperatorsData {
    /// The report.
    pub report: ReportEnvelope,
    /// Its operators, by id.
    pub rows: Vec<OperatorRow>,
}

/// Where an operator's validator list comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValidatorsSource {
    /// The assignment snapshot of the report's frame (what the report counted).
    Snapshot,
    /// The live registry (no snapshot stored for the frame).
    Registry,
}

/// Whether per-validator records of the report's last epoch were available.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LedgerRecords {
    /// Records found.
    Available,
    /// The epoch's records were pruned.
    Pruned,
    /// The epoch is not in the ledger.
    Missing,
}

/// One validator of an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatorRow {
    /// Its key.
    pub pubkey: PublicKeyBytes,
    /// Its ledger record at the report's last epoch, when available.
    pub record: Option<ValidatorEpoch>,
}

/// One operator with its validators and Merkle proof.
#[derive(Debug, Clone)]
pub struct OperatorDetail {
    /// The latest final report.
    pub report: ReportEnvelope,
    /// The operator's row (zero figures when the report does not include it yet).
    pub row: OperatorRow,
    /// Whether the report includes the operator.
    pub in_report: bool,
    /// The epoch of the validators' records (the report's last epoch).
    pub epoch: Epoch,
    /// Where the validator list comes from.
    pub source: ValidatorsSource,
    /// Whether records were available.
    pub records: LedgerRecords,
    /// Validators, by index (unknown indices last, by key).
    pub validators: Vec<ValidatorRow>,
    /// The Merkle proof of its cumulative fees (`None` when not in the report).
    pub proof: Option<OperatorProof>,
}

/// The latest final report, `None` before the first.
pub async fn latest_final(state: &ReportsState) -> Result<Option<ReportEnvelope>, ApiError> {
    Ok(state.store().latest_final_report().await?)
}

fn rows_of(state: &ReportsState, report: &ReportEnvelope) -> Vec<OperatorRow> {
    let registry = state.registry().current();
    report
        .report
        .operators
        .iter()
        .map(|o| {
            let live = registry.operator(o.operator_id);
            OperatorRow {
                id: o.operator_id,
                name: live.map(|op| op.name.clone()),
                reward_address: o.reward_address,
                operator_bps: o.operator_bps,
                registry_keys: live.map_or(0, |op| op.keys.len()),
                cumulative_fee_wei: o.cumulative_fee_wei,
                tally: o.tally,
            }
        })
        .collect()
}

/// Operators of the latest final report, `None` before the first.
pub async fn operators(state: &ReportsState) -> Result<Option<OperatorsData>, ApiError> {
    let Some(report) = latest_final(state).await? else {
        return Ok(None);
    };
    let rows = rows_of(state, &report);
    Ok(Some(OperatorsData { report, rows }))
}

/// One operator (404 when neither the latest final report nor the registry knows it, or when
/// there is no final report yet).
pub async fn operator(state: &ReportsState, id: OperatorId) -> Result<OperatorDetail, ApiError> {
    let report = latest_final(state)
        .await?
        .ok_or_else(|| ApiError::not_found("final report"))?;
    let registry = state.registry().current();
    let in_report = report.report.operators.iter().any(|o| o.operator_id == id);
    let row = match rows_of(state, &report).into_iter().find(|r| r.id == id) {
        Some(row) => row,
        None => {
            let live = registry
                .operator(id)
                .ok_or_else(|| ApiError::not_found(format!("operator {id}")))?;
            OperatorRow {
                id,
                name: Some(live.name.clone()),
                reward_address: live.reward_address,
                operator_bps: registry.operator_bps(id).map_or(0, u64::from),
                registry_keys: live.keys.len(),
                cumulative_fee_wei: U256::ZERO,
                tally: Tally::default(),
            }
        }
    };
    let (source, keys): (ValidatorsSource, Vec<PublicKeyBytes>) =
        match state.store().snapshot(report.report.frame).await? {
            Some(snapshot) => (
                ValidatorsSource::Snapshot,
                snapshot
                    .assignments
                    .iter()
                    .filter(|(_, op)| **op == id)
                    .map(|(key, _)| *key)
                    .collect(),
            ),
            None => (
                ValidatorsSource::Registry,
                registry
                    .operator(id)
                    .map(|o| o.keys.clone())
                    .unwrap_or_default(),
            ),
        };
    let epoch = report.report.last_epoch;
    let (records, mut by_key) = match state.store().epoch(epoch).await {
        Ok(Some(ledger)) => (
            LedgerRecords::Available,
            ledger
                .records
                .into_iter()
                .map(|r| (r.pubkey, r))
                .collect::<HashMap<_, _>>(),
        ),
        Ok(None) => (LedgerRecords::Missing, HashMap::new()),
        Err(StoreError::Pruned(_)) => (LedgerRecords::Pruned, HashMap::new()),
        Err(error) => return Err(error.into()),
    };
    let mut validators: Vec<ValidatorRow> = keys
        .into_iter()
        .map(|pubkey| ValidatorRow {
            record: by_key.remove(&pubkey),
            pubkey,
        })
        .collect();
    validators.sort_by_key(|v| {
        (
            v.record.as_ref().map_or(u64::MAX, |r| r.validator_index),
            v.pubkey,
        )
    });
    let proof = operator_proof(&report, id);
    Ok(OperatorDetail {
        report,
        row,
        in_report,
        epoch,
        source,
        records,
        validators,
        proof,
    })
}
