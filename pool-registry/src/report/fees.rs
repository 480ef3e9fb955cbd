//! Fee arithmetic (integers only, multiply before divide).
//!
//! For an operator with net rewards `R` (gwei, signed), `R⁺ = max(R, 0)`:
//! `F = floor(R⁺ · (protocol_bps + operator_bps) / 10000)`,
//! `operator = floor(F · operator_bps / (protocol_bps + operator_bps))` (0 when both rates are
//! 0), `protocol = F − operator`: the rounding remainder always goes to the protocol.

use serde::{Deserialize, Serialize};

/// An operator's fees for one report (gwei).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct FeeSplit {
    /// `F`: all fees taken from this operator's rewards.
    pub total: u64,
    /// The operator's part.
    pub operator: u64,
    /// The protocol's part (`total − operator`).
    pub protocol: u64,
}

/// Splits fees on `net_rewards` (gwei) at the given rates (basis points, sum ≤ 10000).
pub fn split_fees(net_rewards: i64, protocol_bps: u16, operator_bps: u16) -> FeeSplit {
    let positive = u128::try_from(net_rewards.max(0)).unwrap_or(0);
    let rate = u128::from(protocol_bps) + u128::from(operator_bps);
    if rate == 0 || positive == 0 {
        return FeeSplit::default();
    }
    let total = positive * rate / 10_000;
    let operator = total * u128::from(operator_bps) / rate;
    // total ≤ R⁺ ≤ i64::MAX, so both fit in u64.
    let total = total as u64;
    let operator = operator as u64;
    FeeSplit {
        total,
        operator,
        protocol: total - operator,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        // R = 1_000_000_007 gwei at 5% + 5%: F = floor(100_000_000.7) = 100_000_000,
        // operator = 50_000_000, protocol = 50_000_000.
        assert_eq!(
            split_fees(1_000_000_007, 500, 500),
            FeeSplit {
                total: 100_000_000,
                operator: 50_000_000,
                protocol: 50_000_000
            }
        );
    }

    #[test]
    fn remainder_goes_to_protocol() {
        // R = 999, 3 + 4 bps... use bps that do not divide: F = floor(999*700/10000) = 69,
        // operator = floor(69*400/700) = 39, protocol = 30.
        let split = split_fees(999, 300, 400);
        assert_eq!(
            split,
            FeeSplit {
                total: 69,
                operator: 39,
                protocol: 30
            }
        );
        assert_eq!(split.operator + split.protocol, split.total);
    }

    #[test]
    fn zero_and_negative_rewards_pay_nothing() {
        assert_eq!(split_fees(0, 500, 500), FeeSplit::default());
        assert_eq!(split_fees(-1_000_000, 500, 500), FeeSplit::default());
        assert_eq!(split_fees(i64::MIN, 10_000, 0), FeeSplit::default());
    }

    #[test]
    fn zero_rates() {
        assert_eq!(split_fees(1_000, 0, 0), FeeSplit::default());
        assert_eq!(
            split_fees(1_000, 0, 1000),
            FeeSplit {
                total: 100,
                operator: 100,
                protocol: 0
            }
        );
        assert_eq!(
            split_fees(1_000, 1000, 0),
            FeeSplit {
                total: 100,
                operator: 0,
                protocol: 100
            }
        );
    }

    #[test]
    fn tiny_rewards_round_down_to_zero() {
        assert_eq!(split_fees(9, 500, 500), FeeSplit::default()); // 9*1000/10000 = 0.9
        assert_eq!(
            split_fees(10, 500, 500),
            FeeSplit {
                total: 1,
                operator: 0,
                protocol: 1
            }
        );
    }

    #[test]
    fn full_rate_and_extremes_do_not_overflow() {
        let split = split_fees(i64::MAX, 5_000, 5_000);
        assert_eq!(split.total, i64::MAX as u64);
        assert_eq!(split.operator, (i64::MAX as u64) / 2);
        assert_eq!(split.operator + split.protocol, split.total);
    }
}
