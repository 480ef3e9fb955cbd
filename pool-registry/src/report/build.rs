//! Building a report from ledger epochs.
//!
//! A report covers the epochs after the previous *final* report up to the frame's last epoch
//! (a withheld report never becomes a base, so the next report covers its epochs again); the
//! pool's first final report starts at the first epoch of the pool's first frame. Each
//! epoch is attributed with the snapshot of the frame it belongs to; fee rates are those of the
//! report's last frame. Epochs must be added in order, without gaps.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use types::{ChainSpec, Epoch, Hash256, PublicKeyBytes, U256};

use super::fees::split_fees;
use super::model::{
    FrameReport, OperatorReport, REPORT_VERSION, RebaseWindow, ReportEnvelope, ReportParameters,
    ReportStatus, Tally,
};
use super::rate::{INITIAL_RATE, RateInputs, compute_rate, pooled};
use super::sanity::{SanityInputs, check};
use crate::error::{Error, Result};
use crate::ledger::{EpochLedger, EpochSummary};
use crate::merkle::MerkleTree;
use crate::registry::{FrameSnapshot, OperatorId, PoolConfig};

const GWEI: u128 = 1_000_000_000;

/// What a report is built against.
#[derive(Debug, Clone, Copy)]
pub struct ReportParams<'a> {
    /// The chain.
    pub spec: &'a ChainSpec,
    /// The pool (frames, sanity limits).
    pub pool: &'a PoolConfig,
    /// The chain's genesis validators root.
    pub genesis_validators_root: Hash256,
    /// The frame being reported.
    pub frame: u64,
    /// The last final report (its rate, cumulative fees and last epoch are the base).
    pub previous: Option<&'a FrameReport>,
    /// The share supply `S` (config default or an override input).
    pub share_supply: U256,
}

/// Sums kept in wide integers until the end.
#[derive(Debug, Clone, Default)]
struct Acc {
    cl_income: i128,
    cl_rewards: u128,
    penalties: u128,
    slashing_losses: u128,
    withdrawals: u128,
    deposits: i128,
    el_rewards: u128,
    newly_slashed: u64,
    attestation_duties: u64,
    attestations_included: u64,
    source: u64,
    target: u64,
    head: u64,
    proposals_assigned: u64,
    proposals_made: u64,
    sync_expected: u64,
    sync_participated: u64,
    unexplained: i128,
    breakdown_available: u64,
    breakdown_unavailable: u64,
    el_values_missing: u64,
    fee_recipient_mismatches: u64,
    // status at the reference slot
    active: u64,
    exited: u64,
    slashed: u64,
    credential_mismatches: u64,
}

fn narrow<T: TryFrom<i128>>(v: i128, what: &'static str) -> Result<T> {
    T::try_from(v).map_err(|_| Error::Overflow(what))
}

fn narrow_u<T: TryFrom<u128>>(v: u128, what: &'static str) -> Result<T> {
    T::try_from(v).map_err(|_| Error::Overflow(what))
}

impl Acc {
    fn net_rewards(&self) -> i128 {
        self.cl_income + self.el_rewards as i128
    }

    fn effectiveness_ppm(&self) -> u64 {
        let earned = 14 * self.source
            + 26 * self.target
            + 14 * self.head
            + 8 * self.proposals_made
            + 2 * self.sync_participated;
        let possible =
            54 * self.attestation_duties + 8 * self.proposals_assigned + 2 * self.sync_expected;
        if possible == 0 {
            0
        } else {
            (u128::from(earned) * 1_000_000 / u128::from(possible)) as u64
        }
    }

    fn tally(&self) -> Result<Tally> {
        Ok(Tally {
            validators_active: self.active,
            validators_exited: self.exited,
            validators_slashed: self.slashed,
            credential_mismatches: self.credential_mismatches,
            newly_slashed: self.newly_slashed,
            cl_rewards_gwei: narrow_u(self.cl_rewards, "CL rewards")?,
            penalties_gwei: narrow_u(self.penalties, "penalties")?,
            slashing_losses_gwei: narrow_u(self.slashing_losses, "slashing losses")?,
            withdrawals_gwei: narrow_u(self.withdrawals, "withdrawals")?,
            deposits_gwei: narrow(self.deposits, "deposits")?,
            el_rewards_gwei: narrow_u(self.el_rewards, "EL rewards")?,
            net_rewards_gwei: narrow(self.net_rewards(), "net rewards")?,
            fee_gwei: 0,
            operator_fee_gwei: 0,
            protocol_fee_gwei: 0,
            attestation_duties: self.attestation_duties,
            attestations_missed: self.attestation_duties
                - self.attestations_included.min(self.attestation_duties),
            source_timely: self.source,
            target_timely: self.target,
            head_timely: self.head,
            proposals_assigned: self.proposals_assigned,
            proposals_missed: self.proposals_assigned
                - self.proposals_made.min(self.proposals_assigned),
            sync_expected: self.sync_expected,
            sync_missed: self.sync_expected - self.sync_participated.min(self.sync_expected),
            effectiveness_ppm: self.effectiveness_ppm(),
            unexplained_gwei: narrow(self.unexplained, "unexplained")?,
            breakdown_available: self.breakdown_available,
            breakdown_unavailable: self.breakdown_unavailable,
            el_values_missing: self.el_values_missing,
            fee_recipient_mismatches: self.fee_recipient_mismatches,
        })
    }
}

/// Accumulates ledger epochs into a report.
#[derive(Debug)]
pub struct ReportBuilder<'a> {
    params: ReportParams<'a>,
    first_epoch: Epoch,
    last_epoch: Epoch,
    next_epoch: Epoch,
    operators: BTreeMap<OperatorId, Acc>,
    snapshot_roots: BTreeMap<u64, Hash256>,
    last_snapshot: Option<FrameSnapshot>,
    /// The current frame's assignments as a hash map (a frame's epochs share one snapshot).
    assignments: Option<(u64, HashMap<PublicKeyBytes, OperatorId>)>,
    cl_balance_base: u128,
}

impl<'a> ReportBuilder<'a> {
    /// Starts a report for `params.frame` of a pool whose accounting starts at that frame
    /// (see [`ReportBuilder::for_pool`]).
    pub fn new(params: ReportParams<'a>) -> Result<Self> {
        Self::for_pool(params, params.frame)
    }

    /// Starts a report for `params.frame` of a pool whose accounting started at `first_frame`:
    /// without a previous final report, the report covers every epoch from `first_frame`'s
    /// first (so the epochs of withheld first reports are not lost).
    pub fn for_pool(params: ReportParams<'a>, first_frame: u64) -> Result<Self> {
        let frames = params.pool.frame;
        let last_epoch = frames.last_epoch(params.frame);
        let first_epoch = match params.previous {
            Some(prev) => prev.last_epoch + 1,
            None => frames.first_epoch(first_frame.min(params.frame)),
        };
        if first_epoch > last_epoch {
            return Err(Error::Report {
                frame: params.frame,
                message: format!(
                    "nothing to report: the previous final report already covers up to epoch {}",
                    first_epoch.as_u64().saturating_sub(1)
                ),
            });
        }
        Ok(Self {
            params,
            first_epoch,
            last_epoch,
            next_epoch: first_epoch,
            operators: BTreeMap::new(),
            snapshot_roots: BTreeMap::new(),
            last_snapshot: None,
            assignments: None,
            cl_balance_base: 0,
        })
    }

    /// The epochs the report covers, inclusive.
    pub fn epochs(&self) -> (Epoch, Epoch) {
        (self.first_epoch, self.last_epoch)
    }

    /// Adds the next epoch's ledger with the snapshot of its frame.
    pub fn add_epoch(&mut self, ledger: &EpochLedger, snapshot: &FrameSnapshot) -> Result<()> {
        let frame = self.params.frame;
        let report_err = |message: String| Error::Report { frame, message };
        if ledger.epoch != self.next_epoch || ledger.epoch > self.last_epoch {
            return Err(report_err(format!(
                "expected the ledger of epoch {}, got epoch {}",
                self.next_epoch, ledger.epoch
            )));
        }
        let epoch_frame = self.params.pool.frame.frame_of(ledger.epoch);
        if epoch_frame != Some(snapshot.frame) {
            return Err(report_err(format!(
                "epoch {} belongs to frame {epoch_frame:?}, the snapshot is of frame {}",
                ledger.epoch, snapshot.frame
            )));
        }
        if let std::collections::btree_map::Entry::Vacant(slot) =
            self.snapshot_roots.entry(snapshot.frame)
        {
            slot.insert(snapshot.root()?);
        }
        let is_first = ledger.epoch == self.first_epoch;
        let is_last = ledger.epoch == self.last_epoch;
        for id in snapshot.operators.keys() {
            self.operators.entry(*id).or_default();
        }
        if self
            .assignments
            .as_ref()
            .is_some_and(|(f, _)| *f != snapshot.frame)
        {
            self.assignments = None;
        }
        let (_, assignments) = self.assignments.get_or_insert_with(|| {
            (
                snapshot.frame,
                snapshot.assignments.iter().map(|(k, v)| (*k, *v)).collect(),
            )
        });
        for r in &ledger.records {
            let id = assignments.get(&r.pubkey).copied().ok_or_else(|| {
                report_err(format!(
                    "epoch {}: validator {} ({}) is not in frame {}'s snapshot",
                    ledger.epoch, r.validator_index, r.pubkey, snapshot.frame
                ))
            })?;
            let acc = self.operators.entry(id).or_default();
            let income = i128::from(r.income);
            acc.cl_income += income;
            if income > 0 {
                acc.cl_rewards += income.unsigned_abs();
            } else if r.slashed_end {
                acc.slashing_losses += income.unsigned_abs();
            } else {
                acc.penalties += income.unsigned_abs();
            }
            acc.withdrawals += u128::from(r.withdrawals);
            acc.deposits += i128::from(r.deposits);
            acc.el_rewards += u128::from(r.el_rewards);
            acc.newly_slashed += u64::from(r.newly_slashed());
            let d = &r.duties;
            acc.attestation_duties += u64::from(d.attestation_duties);
            acc.attestations_included +=
                u64::from(d.attestation_included.min(d.attestation_duties));
            acc.source += u64::from(d.source_timely.min(d.attestation_duties));
            acc.target += u64::from(d.target_timely.min(d.attestation_duties));
            acc.head += u64::from(d.head_timely.min(d.attestation_duties));
            acc.proposals_assigned += u64::from(d.proposals_assigned);
            acc.proposals_made += u64::from(d.proposals_made);
            acc.sync_expected += u64::from(d.sync_expected);
            acc.sync_participated += u64::from(d.sync_participated);
            match &r.breakdown {
                Some(b) => {
                    acc.breakdown_available += 1;
                    acc.unexplained += i128::from(b.unexplained);
                }
                None => acc.breakdown_unavailable += 1,
            }
            acc.el_values_missing += u64::from(r.el_values_missing);
            acc.fee_recipient_mismatches += u64::from(r.fee_recipient_mismatches);
            if is_first {
                self.cl_balance_base += u128::from(r.balance_start);
            }
            if r.deposits > 0 {
                self.cl_balance_base += u128::from(r.deposits.unsigned_abs());
            }
            if is_last {
                acc.active += u64::from(r.status.is_active());
                acc.exited += u64::from(r.status.is_exited());
                acc.slashed += u64::from(r.slashed_end);
                acc.credential_mismatches += u64::from(r.credentials_mismatch);
            }
        }
        if is_last {
            self.last_snapshot = Some(snapshot.clone());
        }
        self.next_epoch = ledger.epoch + 1;
        Ok(())
    }

    /// Finishes the report. `window` holds the ledger summaries of the negative-rebase window
    /// (the last `negative_rebase_window_epochs` epochs up to the report's last epoch, or all
    /// there are when the ledger is younger).
    pub fn finish(self, window: &[EpochSummary]) -> Result<ReportEnvelope> {
        let p = self.params;
        let frame = p.frame;
        let report_err = |message: String| Error::Report { frame, message };
        if self.next_epoch != self.last_epoch + 1 {
            return Err(report_err(format!(
                "ledger epochs {}..={} are missing",
                self.next_epoch, self.last_epoch
            )));
        }
        let snapshot = self
            .last_snapshot
            .ok_or_else(|| report_err("no snapshot for the last epoch".to_owned()))?;
        let window_start = self.last_epoch.as_u64().saturating_sub(
            p.pool
                .sanity
                .negative_rebase_window_epochs
                .saturating_sub(1),
        );
        let mut window_cl: i128 = 0;
        let mut window_slashed: u64 = 0;
        let mut seen: BTreeSet<Epoch> = BTreeSet::new();
        for s in window {
            if s.epoch.as_u64() < window_start || s.epoch > self.last_epoch || !seen.insert(s.epoch)
            {
                return Err(report_err(format!(
                    "window summary of epoch {} is outside [{window_start}, {}] or repeated",
                    s.epoch, self.last_epoch
                )));
            }
            window_cl += i128::from(s.cl_income);
            window_slashed += s.newly_slashed;
        }

        // Per operator figures and fees.
        let previous_cumulative: BTreeMap<OperatorId, U256> = p
            .previous
            .map(|r| {
                r.operators
                    .iter()
                    .map(|o| (o.operator_id, o.cumulative_fee_wei))
                    .collect()
            })
            .unwrap_or_default();
        let mut ids: BTreeSet<OperatorId> = self.operators.keys().copied().collect();
        ids.extend(previous_cumulative.keys().copied());
        let pool_net: i128 = self.operators.values().map(Acc::net_rewards).sum();
        let charge_fees = pool_net > 0;
        let mut totals = Acc::default();
        let mut operators = Vec::with_capacity(ids.len());
        let mut fees_total: u128 = 0;
        let mut fee_sums = (0u64, 0u64, 0u64);
        for id in ids {
            let acc = self.operators.get(&id).cloned().unwrap_or_default();
            let terms = snapshot.operators.get(&id).copied();
            let operator_bps = terms.map_or(0, |t| t.operator_bps);
            let mut tally = acc.tally()?;
            if charge_fees {
                let split = split_fees(tally.net_rewards_gwei, snapshot.protocol_bps, operator_bps);
                tally.fee_gwei = split.total;
                tally.operator_fee_gwei = split.operator;
                tally.protocol_fee_gwei = split.protocol;
            }
            fees_total += u128::from(tally.fee_gwei);
            fee_sums.0 += tally.fee_gwei;
            fee_sums.1 += tally.operator_fee_gwei;
            fee_sums.2 += tally.protocol_fee_gwei;
            let cumulative = previous_cumulative.get(&id).copied().unwrap_or(U256::ZERO)
                + U256::from(tally.operator_fee_gwei) * U256::from(GWEI);
            let reward_address = match terms {
                Some(t) => t.reward_address,
                None => p
                    .previous
                    .and_then(|r| r.operators.iter().find(|o| o.operator_id == id))
                    .map(|o| o.reward_address)
                    .unwrap_or_default(),
            };
            add_acc(&mut totals, &acc);
            operators.push(OperatorReport {
                operator_id: id,
                operator_bps: u64::from(operator_bps),
                reward_address,
                cumulative_fee_wei: cumulative,
                tally,
            });
        }
        let mut total_tally = totals.tally()?;
        total_tally.fee_gwei = fee_sums.0;
        total_tally.operator_fee_gwei = fee_sums.1;
        total_tally.protocol_fee_gwei = fee_sums.2;

        let spe = p.spec.slots_per_epoch;
        let epochs = self.last_epoch.as_u64() - self.first_epoch.as_u64() + 1;
        let duration_seconds = epochs * spe * p.spec.seconds_per_slot();
        let previous_rate = p.previous.map_or(U256::from(INITIAL_RATE), |r| r.rate);
        let rate_inputs = RateInputs {
            previous_rate,
            share_supply: p.share_supply,
            net_rewards_wei: pool_net * GWEI as i128,
            fees_wei: U256::from(fees_total) * U256::from(GWEI),
            duration_seconds,
        };
        // Fees not below the pooled ether cannot be minted: the rate is computed without
        // minting (the fees check below then withholds the report, unless fees equal rewards).
        let (_, pooled_after) = pooled(&rate_inputs)?;
        let rate_inputs = if pooled_after <= rate_inputs.fees_wei {
            RateInputs {
                fees_wei: U256::ZERO,
                ..rate_inputs
            }
        } else {
            rate_inputs
        };
        let rate = compute_rate(&rate_inputs)?;
        let mut violations = Vec::new();
        violations.extend(check(
            &p.pool.sanity,
            &SanityInputs {
                cl_income: totals.cl_income,
                cl_balance_base: self.cl_balance_base,
                duration_seconds,
                previous_rate,
                new_rate: rate.rate,
                window_cl_income: window_cl,
                active_validators: total_tally.validators_active,
                window_newly_slashed: window_slashed,
                net_rewards: pool_net,
                fees: fees_total,
            },
        ));

        let leaves: Vec<(U256, U256)> = operators
            .iter()
            .map(|o| (U256::from(o.operator_id), o.cumulative_fee_wei))
            .collect();
        let (rewards_root, proofs) = if leaves.is_empty() {
            (Hash256::ZERO, BTreeMap::new())
        } else {
            let tree = MerkleTree::build(&leaves)?;
            let mut proofs = BTreeMap::new();
            for o in &operators {
                proofs.insert(o.operator_id, tree.proof(U256::from(o.operator_id))?);
            }
            (tree.root(), proofs)
        };
        let mut roots = Vec::with_capacity(32 * self.snapshot_roots.len());
        for root in self.snapshot_roots.values() {
            roots.extend_from_slice(root.as_slice());
        }
        let report = FrameReport {
            version: REPORT_VERSION,
            genesis_validators_root: p.genesis_validators_root,
            frame,
            first_epoch: self.first_epoch,
            last_epoch: self.last_epoch,
            reference_slot: self.last_epoch.end_slot(spe),
            duration_seconds,
            previous_report_root: p.previous.map_or(Ok(Hash256::ZERO), FrameReport::root)?,
            assignments_root: alloy_primitives::keccak256(&roots),
            protocol_bps: u64::from(snapshot.protocol_bps),
            share_supply: p.share_supply,
            previous_rate,
            rate: rate.rate,
            shares_minted: rate.shares_minted,
            pooled_before_wei: rate.pooled_before,
            pooled_after_wei: rate.pooled_after,
            apr_ppm: rate.apr_ppm,
            cl_balance_base_gwei: narrow_u(self.cl_balance_base, "CL balance base")?,
            totals: total_tally,
            operators,
            rewards_root,
        };
        let status = if violations.is_empty() {
            ReportStatus::Final
        } else {
            for v in &violations {
                tracing::warn!(frame, violation = %v, "report withheld");
            }
            ReportStatus::Withheld
        };
        let parameters = ReportParameters {
            frame_start_epoch: p.pool.frame.start_epoch,
            frame_epochs: p.pool.frame.epochs,
            sanity_limits: p.pool.sanity,
            negative_rebase_window: RebaseWindow {
                first_epoch: seen.first().copied().unwrap_or(self.last_epoch),
                last_epoch: self.last_epoch,
                epochs: seen.len() as u64,
                cl_income_gwei: window_cl,
                newly_slashed: window_slashed,
            },
        };
        Ok(ReportEnvelope {
            root: report.root()?,
            report,
            status,
            violations,
            proofs,
            signature: None,
            signer: None,
            parameters: Some(parameters),
        })
    }
}

fn add_acc(total: &mut Acc, a: &Acc) {
    total.cl_income += a.cl_income;
    total.cl_rewards += a.cl_rewards;
    total.penalties += a.penalties;
    total.slashing_losses += a.slashing_losses;
    total.withdrawals += a.withdrawals;
    total.deposits += a.deposits;
    total.el_rewards += a.el_rewards;
    total.newly_slashed += a.newly_slashed;
    total.attestation_duties += a.attestation_duties;
    total.attestations_included += a.attestations_included;
    total.source += a.source;
    total.target += a.target;
    total.head += a.head;
    total.proposals_assigned += a.proposals_assigned;
    total.proposals_made += a.proposals_made;
    total.sync_expected += a.sync_expected;
    total.sync_participated += a.sync_participated;
    total.unexplained += a.unexplained;
    total.breakdown_available += a.breakdown_available;
    total.breakdown_unavailable += a.breakdown_unavailable;
    total.el_values_missing += a.el_values_missing;
    total.fee_recipient_mismatches += a.fee_recipient_mismatches;
    total.active += a.active;
    total.exited += a.exited;
    total.slashed += a.slashed;
    total.credential_mismatches += a.credential_mismatches;
}
