//! A report as `submitReport` takes it: the used fields as values ([`PoolOracle::ReportFields`])
//! and the hashes of the other subtrees of `PoolReport` ([`PoolOracle::ReportWitness`]).
//!
//! `PoolReport` has 21 fields, so its tree has 32 leaves (docs/accounting.md §5.1). The contract
//! turns the used fields into their leaves itself and hashes up to the root; the witness gives
//! leaves 3, 4, 6, the nodes over leaves 8–9, 14–15 and 16–19. Invariant: for every report,
//! the contract's root equals `FrameReport::root` (checked against the deployed contract in the
//! tests).

use sha2::{Digest, Sha256};
use tree_hash::TreeHash;
use types::{Hash256, U256};

use pool_registry::report::{FrameReport, PoolReport};

use crate::bindings::PoolOracle::{ReportFields, ReportWitness};
use crate::error::Result;

fn h(a: Hash256, b: Hash256) -> Hash256 {
    let mut hasher = Sha256::new();
    hasher.update(a);
    hasher.update(b);
    Hash256::from(<[u8; 32]>::from(hasher.finalize()))
}

/// The fields and witness of a report, with its root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedReport {
    /// The used fields, as values.
    pub fields: ReportFields,
    /// The other subtrees.
    pub witness: ReportWitness,
    /// `hash_tree_root(PoolReport)`.
    pub root: Hash256,
}

impl EncodedReport {
    /// Encodes `report`.
    pub fn new(report: &FrameReport) -> Result<Self> {
        let ssz = PoolReport::from_report(report)?;
        let fields = ReportFields {
            version: ssz.version,
            genesisValidatorsRoot: ssz.genesis_validators_root,
            frame: ssz.frame,
            referenceSlot: ssz.reference_slot,
            previousReportRoot: ssz.previous_report_root,
            shareSupply: ssz.share_supply,
            previousRate: ssz.previous_rate,
            rate: ssz.rate,
            sharesMinted: ssz.shares_minted,
            rewardsRoot: ssz.rewards_root,
        };
        let witness = ReportWitness {
            firstEpoch: ssz.first_epoch.tree_hash_root(),
            lastEpoch: ssz.last_epoch.tree_hash_root(),
            durationSeconds: ssz.duration_seconds.tree_hash_root(),
            assignmentsAndProtocolBps: h(ssz.assignments_root, ssz.protocol_bps.tree_hash_root()),
            pooledBeforeAndAfter: h(
                ssz.pooled_before_wei.tree_hash_root(),
                ssz.pooled_after_wei.tree_hash_root(),
            ),
            aprBaseTotalsOperators: h(
                h(
                    ssz.apr_ppm.tree_hash_root(),
                    ssz.cl_balance_base_gwei.tree_hash_root(),
                ),
                h(ssz.totals.tree_hash_root(), ssz.operators.tree_hash_root()),
            ),
        };
        Ok(Self {
            fields,
            witness,
            root: ssz.tree_hash_root(),
        })
    }
}

/// The root `submitReport` computes from fields and witness (the contract's algorithm, for
/// comparing with `FrameReport::root`).
pub fn root_from_parts(fields: &ReportFields, witness: &ReportWitness) -> Hash256 {
    let z = Hash256::ZERO;
    let z1 = h(z, z);
    let z2 = h(z1, z1);
    let z3 = h(z2, z2);
    let l64 = |v: u64| v.tree_hash_root();
    let l256 = |v: U256| v.tree_hash_root();
    let n0to3 = h(
        h(l64(fields.version), fields.genesisValidatorsRoot),
        h(l64(fields.frame), witness.firstEpoch),
    );
    let n4to7 = h(
        h(witness.lastEpoch, l64(fields.referenceSlot)),
        h(witness.durationSeconds, fields.previousReportRoot),
    );
    let n8to11 = h(
        witness.assignmentsAndProtocolBps,
        h(l256(fields.shareSupply), l256(fields.previousRate)),
    );
    let n12to15 = h(
        h(l256(fields.rate), l256(fields.sharesMinted)),
        witness.pooledBeforeAndAfter,
    );
    let n16to23 = h(
        witness.aprBaseTotalsOperators,
        h(h(fields.rewardsRoot, z), z1),
    );
    h(h(h(n0to3, n4to7), h(n8to11, n12to15)), h(n16to23, z3))
}
