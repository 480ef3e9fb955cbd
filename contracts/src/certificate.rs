//! Quorum certificates and the off-chain verdict on a submission.
//!
//! [`verify_offchain`] decides what `PoolOracle.submitReport` decides, independently of the
//! contract's code: the report root from `pool-registry`'s SSZ encoding, the signing root from
//! the `types` crate's domain functions, the signature with blst's `FastAggregateVerify`. The
//! checks run in the contract's order, so a submission with several faults gets the same
//! [`Rejection`] from both (the crate's tests run both on every case).

use blst::BLST_ERROR;
use types::{Hash256, SignatureBytes, U256, Version, compute_domain, compute_signing_root};

use pool_registry::report::{DOMAIN_POOL_REPORT, FrameReport, REPORT_VERSION};

use crate::bls::{Committee, SIGNATURE_DST, parse_signature};
use crate::error::{Rejection, Result};

/// A committee's certificate of one report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumCertificate {
    /// The report's frame.
    pub frame: u64,
    /// The report's root.
    pub report_root: Hash256,
    /// Bit i set = member i signed.
    pub signers: U256,
    /// The aggregate of the signers' signatures over the report's signing root (compressed).
    pub aggregate_signature: SignatureBytes,
}

/// The chain the oracle is deployed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainBinding {
    /// The chain's genesis validators root.
    pub genesis_validators_root: Hash256,
    /// The chain's `GENESIS_FORK_VERSION`.
    pub genesis_fork_version: Version,
}

impl ChainBinding {
    /// What the committee signs for a report root (docs/accounting.md §5.3).
    pub fn signing_root(&self, report_root: Hash256) -> Hash256 {
        let domain = compute_domain(
            DOMAIN_POOL_REPORT,
            self.genesis_fork_version,
            self.genesis_validators_root,
        );
        compute_signing_root(report_root, domain)
    }
}

/// The oracle's state a submission is checked against.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleState {
    /// Root of the last accepted report (or the anchor).
    pub last_report_root: Hash256,
    /// The first frame a report may have.
    pub next_frame: u64,
    /// The last accepted rate.
    pub rate: U256,
    /// The positive-rebase limit (1e9 = 100 %).
    pub max_positive_rebase_1e9: u32,
    /// Rewards root of the last accepted report.
    pub rewards_root: Hash256,
}

/// A committee with the first frame it applies to (a membership epoch).
#[derive(Debug, Clone)]
pub struct CommitteeEpoch {
    /// First frame.
    pub from_frame: u64,
    /// The committee.
    pub committee: Committee,
}

/// Everything the off-chain verdict needs besides the submission.
#[derive(Debug, Clone)]
pub struct VerifierContext {
    /// The chain.
    pub chain: ChainBinding,
    /// The oracle's state.
    pub state: OracleState,
    /// Committees by id (membership epoch).
    pub committees: Vec<CommitteeEpoch>,
}

/// The verdict on submitting `report` signed by `signers` of committee `committee_id` with
/// `signature`: the report root when the contract must accept it, otherwise the reason.
pub fn verify_offchain(
    ctx: &VerifierContext,
    report: &FrameReport,
    committee_id: u32,
    signers: U256,
    signature: &SignatureBytes,
) -> Result<Hash256, Rejection> {
    let state = &ctx.state;
    if report.version != REPORT_VERSION {
        return Err(Rejection::UnsupportedVersion {
            version: report.version,
        });
    }
    if report.genesis_validators_root != ctx.chain.genesis_validators_root {
        return Err(Rejection::WrongChain {
            genesis_validators_root: report.genesis_validators_root,
        });
    }
    if report.frame < state.next_frame {
        return Err(Rejection::StaleFrame {
            frame: report.frame,
            next_frame: state.next_frame,
        });
    }
    if report.previous_report_root != state.last_report_root {
        return Err(Rejection::BrokenChain {
            expected: state.last_report_root,
            got: report.previous_report_root,
        });
    }
    if report.previous_rate != state.rate {
        return Err(Rejection::PreviousRateMismatch {
            expected: state.rate,
            got: report.previous_rate,
        });
    }
    if report.rate.is_zero() || report.rate > U256::from(u128::MAX) {
        return Err(Rejection::InvalidRate { rate: report.rate });
    }
    if report.rate > state.rate {
        let rebase = (report.rate - state.rate) * U256::from(1_000_000_000u64) / state.rate;
        let limit = U256::from(state.max_positive_rebase_1e9);
        if rebase > limit {
            return Err(Rejection::PositiveRebaseTooHigh {
                rebase_1e9: rebase,
                limit_1e9: limit,
            });
        }
    }
    let unknown = Rejection::UnknownCommittee { committee_id };
    let epoch = ctx.committees.get(committee_id as usize).ok_or(unknown)?;
    let not_for_frame = Rejection::CommitteeNotForFrame {
        committee_id,
        frame: report.frame,
    };
    if report.frame < epoch.from_frame {
        return Err(not_for_frame);
    }
    if let Some(next) = ctx.committees.get(committee_id as usize + 1)
        && report.frame >= next.from_frame
    {
        return Err(not_for_frame);
    }
    let committee = &epoch.committee;
    let size = committee.size();
    let members = if size == 256 {
        U256::MAX
    } else {
        (U256::from(1) << size) - U256::from(1)
    };
    if signers & !members != U256::ZERO {
        return Err(Rejection::NotAMember {
            bits: signers & !members,
        });
    }
    let signed = signers.count_ones();
    if signed < usize::from(committee.quorum()) {
        return Err(Rejection::BelowQuorum {
            signers: U256::from(signed),
            quorum: U256::from(committee.quorum()),
        });
    }
    // A report that cannot be encoded (more operators than the SSZ list holds) has no root any
    // certificate could sign, and cannot be submitted at all.
    let root = report.root().map_err(|_| Rejection::InvalidSignature)?;
    let message = ctx.chain.signing_root(root);
    let signature = parse_signature(signature).map_err(|_| Rejection::InvalidSignature)?;
    let keys = committee.signer_keys(signers);
    if signature.fast_aggregate_verify(true, message.as_slice(), SIGNATURE_DST, &keys)
        != BLST_ERROR::BLST_SUCCESS
    {
        return Err(Rejection::InvalidSignature);
    }
    Ok(root)
}
