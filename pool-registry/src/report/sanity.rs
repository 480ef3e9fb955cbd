//! Sanity limits a report must pass to be final. A report over any limit is stored as
//! withheld with every violated limit named; it is never published as final.
//!
//! - Annual CL balance increase: with `R_cl` the pool's CL income over the report (gwei) and
//!   `B` the CL balance base (balances at the start plus positive credited deposits), when
//!   `R_cl > 0`: `R_cl·SECONDS_PER_YEAR·10000 / (B·duration_seconds) ≤
//!   annual_balance_increase_bps` (a positive `R_cl` with `B = 0` fails).
//! - Positive rebase: when the rate rises, `(r1 − r0)·1e9 / r0 ≤ max_positive_rebase_1e9`.
//! - Negative rebase: over the window of the last `negative_rebase_window_epochs` ledger epochs
//!   ending at the report's last epoch, the CL decrease `max(0, −Σ income)` (gwei) must be
//!   `≤ active·inactivity_penalties_amount_pwei·1e6 + newly_slashed·initial_slashing_amount_pwei·1e6`
//!   (1 pWei = 1e15 wei = 1e6 gwei).
//! - Fees may not exceed the pool's net rewards (possible when one operator's losses offset
//!   another's gains): such a report needs review.
//!
//! All divisions floor; a value exactly at its limit passes.

use serde::{Deserialize, Serialize};
use types::U256;

use super::rate::SECONDS_PER_YEAR;
use crate::registry::SanityLimits;

/// Gwei per pWei.
const GWEI_PER_PWEI: u128 = 1_000_000;

/// What the checks look at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SanityInputs {
    /// Pool CL income over the report (gwei).
    pub cl_income: i128,
    /// CL balance base (gwei).
    pub cl_balance_base: u128,
    /// Report duration in seconds.
    pub duration_seconds: u64,
    /// Previous rate.
    pub previous_rate: U256,
    /// New rate.
    pub new_rate: U256,
    /// Pool CL income over the negative-rebase window (gwei).
    pub window_cl_income: i128,
    /// Active validators at the reference slot.
    pub active_validators: u64,
    /// Validators newly slashed within the window.
    pub window_newly_slashed: u64,
    /// Pool net rewards `R` (gwei).
    pub net_rewards: i128,
    /// Total fees `F` (gwei).
    pub fees: u128,
}

/// A violated limit, with the measured value and the limit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "limit", rename_all = "snake_case")]
pub enum SanityViolation {
    /// Annualised CL balance increase over the limit (bps); `actual_bps` is `None` when the
    /// base balance is zero.
    AnnualBalanceIncrease {
        /// Measured (floored) value.
        #[serde(with = "crate::serde_num::opt_u128_dec")]
        actual_bps: Option<u128>,
        /// The limit.
        #[serde(with = "serde_utils::quoted_u64")]
        limit_bps: u64,
    },
    /// Rate increase over the per-report limit (1e-9 units).
    PositiveRebase {
        /// Measured (floored) value.
        #[serde(with = "serde_utils::quoted_u256")]
        actual_1e9: U256,
        /// The limit.
        #[serde(with = "serde_utils::quoted_u64")]
        limit_1e9: u64,
    },
    /// CL decrease over the window above what inactivity and slashings explain (gwei).
    NegativeRebase {
        /// Measured decrease.
        #[serde(with = "crate::serde_num::u128_dec")]
        decrease_gwei: u128,
        /// Allowed decrease.
        #[serde(with = "crate::serde_num::u128_dec")]
        allowed_gwei: u128,
    },
    /// Fees above the pool's net rewards (gwei).
    FeesExceedRewards {
        /// Total fees.
        #[serde(with = "crate::serde_num::u128_dec")]
        fees_gwei: u128,
        /// Net rewards.
        #[serde(with = "crate::serde_num::i128_dec")]
        net_rewards_gwei: i128,
    },
}

impl std::fmt::Display for SanityViolation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AnnualBalanceIncrease {
                actual_bps: Some(a),
                limit_bps,
            } => write!(
                f,
                "annual CL balance increase {a} bps exceeds the limit of {limit_bps} bps"
            ),
            Self::AnnualBalanceIncrease {
                actual_bps: None, ..
            } => {
                write!(f, "positive CL income on a zero CL balance base")
            }
            Self::PositiveRebase {
                actual_1e9,
                limit_1e9,
            } => write!(
                f,
                "positive rebase {actual_1e9}e-9 exceeds the limit of {limit_1e9}e-9"
            ),
            Self::NegativeRebase {
                decrease_gwei,
                allowed_gwei,
            } => write!(
                f,
                "CL decrease of {decrease_gwei} gwei over the window exceeds the allowed {allowed_gwei} gwei"
            ),
            Self::FeesExceedRewards {
                fees_gwei,
                net_rewards_gwei,
            } => write!(
                f,
                "fees of {fees_gwei} gwei exceed the pool's net rewards of {net_rewards_gwei} gwei"
            ),
        }
    }
}

/// Runs every check; empty when the report may be final.
pub fn check(limits: &SanityLimits, inputs: &SanityInputs) -> Vec<SanityViolation> {
    let mut out = Vec::new();
    if inputs.cl_income > 0 {
        let gain = inputs.cl_income.unsigned_abs();
        let denominator = inputs.cl_balance_base * u128::from(inputs.duration_seconds);
        if denominator == 0 {
            out.push(SanityViolation::AnnualBalanceIncrease {
                actual_bps: None,
                limit_bps: limits.annual_balance_increase_bps,
            });
        } else {
            let actual = U256::from(gain) * U256::from(SECONDS_PER_YEAR) * U256::from(10_000u64)
                / U256::from(denominator);
            if actual > U256::from(limits.annual_balance_increase_bps) {
                out.push(SanityViolation::AnnualBalanceIncrease {
                    actual_bps: Some(u128::try_from(actual).unwrap_or(u128::MAX)),
                    limit_bps: limits.annual_balance_increase_bps,
                });
            }
        }
    }
    if inputs.new_rate > inputs.previous_rate && !inputs.previous_rate.is_zero() {
        let actual = (inputs.new_rate - inputs.previous_rate) * U256::from(1_000_000_000u64)
            / inputs.previous_rate;
        if actual > U256::from(limits.max_positive_rebase_1e9) {
            out.push(SanityViolation::PositiveRebase {
                actual_1e9: actual,
                limit_1e9: limits.max_positive_rebase_1e9,
            });
        }
    }
    if inputs.window_cl_income < 0 {
        let decrease = inputs.window_cl_income.unsigned_abs();
        let allowed = u128::from(inputs.active_validators)
            * u128::from(limits.inactivity_penalties_amount_pwei)
            * GWEI_PER_PWEI
            + u128::from(inputs.window_newly_slashed)
                * u128::from(limits.initial_slashing_amount_pwei)
                * GWEI_PER_PWEI;
        if decrease > allowed {
            out.push(SanityViolation::NegativeRebase {
                decrease_gwei: decrease,
                allowed_gwei: allowed,
            });
        }
    }
    if inputs.fees > 0 && i128::try_from(inputs.fees).map_or(true, |f| f > inputs.net_rewards) {
        out.push(SanityViolation::FeesExceedRewards {
            fees_gwei: inputs.fees,
            net_rewards_gwei: inputs.net_rewards,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const L: SanityLimits = SanityLimits::LIDO_MAINNET;
    const DAY: u64 = 86_400;

    fn quiet() -> SanityInputs {
        SanityInputs {
            cl_income: 0,
            cl_balance_base: 32_000_000_000_000, // 1000 validators × 32 ETH
            duration_seconds: DAY,
            previous_rate: U256::from(1_000_000_000_000_000_000u128),
            new_rate: U256::from(1_000_000_000_000_000_000u128),
            window_cl_income: 0,
            active_validators: 1000,
            window_newly_slashed: 0,
            net_rewards: 0,
            fees: 0,
        }
    }

    #[test]
    fn quiet_report_passes() {
        assert!(check(&L, &quiet()).is_empty());
    }

    #[test]
    fn annual_increase_boundary() {
        // Smallest R (gwei) whose floored annual increase reaches 1001 bps:
        // R ≥ 1001·B·d / (SECONDS_PER_YEAR·10000). One gwei less floors to 1000 (the limit).
        let mut i = quiet();
        let b = i.cl_balance_base;
        let threshold =
            (1001u128 * b * u128::from(DAY)).div_ceil(u128::from(SECONDS_PER_YEAR) * 10_000);
        i.cl_income = (threshold - 1) as i128;
        assert!(check(&L, &i).is_empty(), "just under the limit must pass");
        i.cl_income = threshold as i128;
        assert_eq!(
            check(&L, &i),
            vec![SanityViolation::AnnualBalanceIncrease {
                actual_bps: Some(1001),
                limit_bps: 1000
            }]
        );
    }

    #[test]
    fn zero_base_with_income_is_withheld() {
        let mut i = quiet();
        i.cl_balance_base = 0;
        i.cl_income = 1;
        assert_eq!(check(&L, &i).len(), 1);
    }

    #[test]
    fn positive_rebase_boundary() {
        let r0 = U256::from(1_000_000_000_000_000_000u128);
        let mut i = quiet();
        // 750_000e-9 of 1e18 = 7.5e14: exactly at the limit passes.
        i.new_rate = r0 + U256::from(750_000_000_000_000u128);
        assert!(check(&L, &i).is_empty());
        // One 1e-9 step over the limit (floor reaches 750_001) is withheld.
        i.new_rate = r0 + U256::from(750_001_000_000_000u128);
        assert_eq!(
            check(&L, &i),
            vec![SanityViolation::PositiveRebase {
                actual_1e9: U256::from(750_001u64),
                limit_1e9: 750_000
            }]
        );
        // Just below the next step still floors to the limit.
        i.new_rate = r0 + U256::from(750_000_999_999_999u128);
        assert!(check(&L, &i).is_empty());
    }

    #[test]
    fn negative_rebase_boundary() {
        let mut i = quiet();
        // 1000 validators × 0.101 ETH + 2 slashed × 1 ETH = 101 + 2 ETH = 103e9 gwei.
        i.window_newly_slashed = 2;
        i.window_cl_income = -103_000_000_000;
        assert!(check(&L, &i).is_empty());
        i.window_cl_income = -103_000_000_001;
        assert_eq!(
            check(&L, &i),
            vec![SanityViolation::NegativeRebase {
                decrease_gwei: 103_000_000_001,
                allowed_gwei: 103_000_000_000
            }]
        );
    }

    #[test]
    fn fees_above_rewards() {
        let mut i = quiet();
        i.net_rewards = 100;
        i.fees = 100;
        assert!(check(&L, &i).is_empty());
        i.fees = 101;
        assert_eq!(check(&L, &i).len(), 1);
    }
}
