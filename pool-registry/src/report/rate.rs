//! The exchange rate (wei of pooled ether per 1e18 shares), Lido-style fee minting.
//!
//! With the previous rate `r0`, share supply `S`, the report's net rewards `R` (wei, signed)
//! and fees `F` (wei): `P0 = r0·S / 1e18`, `P1 = P0 + R`,
//! `minted = F·S / (P1 − F)` (0 when `F = 0`), `r1 = P1·1e18 / (S + minted)`, all U256 with
//! floor division. The fee recipients' `minted` shares are worth exactly `F` at the new rate
//! (up to rounding). `apr_ppm = (r1 − r0)·1e6·SECONDS_PER_YEAR / (r0·duration_seconds)`,
//! signed, truncated toward zero.

use serde::{Deserialize, Serialize};
use types::U256;

use crate::error::{Error, Result};

/// The initial rate: 1 ether per share (1e18 wei per 1e18 shares).
pub const INITIAL_RATE: u128 = 1_000_000_000_000_000_000;
/// Seconds in the 365-day year used for every annualisation.
pub const SECONDS_PER_YEAR: u64 = 365 * 24 * 60 * 60;

/// What the rate computation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateInputs {
    /// The previous final report's rate (or [`INITIAL_RATE`]).
    pub previous_rate: U256,
    /// The share supply `S` (> 0).
    pub share_supply: U256,
    /// The pool's net rewards `R` in wei.
    pub net_rewards_wei: i128,
    /// Fees `F` in wei (0 when `R ≤ 0`).
    pub fees_wei: U256,
    /// The report's duration in seconds (> 0).
    pub duration_seconds: u64,
}

/// The computed rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RateOutcome {
    /// `P0`: pooled ether before the report (wei).
    pub pooled_before: U256,
    /// `P1`: pooled ether after the report (wei).
    pub pooled_after: U256,
    /// Shares minted for the fees.
    pub shares_minted: U256,
    /// The new rate.
    pub rate: U256,
    /// Annualised rate change in parts per million.
    pub apr_ppm: i64,
}

fn e18() -> U256 {
    U256::from(INITIAL_RATE)
}

/// `(P0, P1)`: the pooled ether before and after the report's net rewards (wei).
pub fn pooled(inputs: &RateInputs) -> Result<(U256, U256)> {
    let p0 = inputs
        .previous_rate
        .checked_mul(inputs.share_supply)
        .ok_or(Error::Overflow("P0 = rate · shares"))?
        / e18();
    let magnitude = U256::from(inputs.net_rewards_wei.unsigned_abs());
    let p1 = if inputs.net_rewards_wei >= 0 {
        p0.checked_add(magnitude)
            .ok_or(Error::Overflow("P1 = P0 + R"))?
    } else {
        p0.checked_sub(magnitude)
            .ok_or(Error::Overflow("P1 = P0 + R (losses exceed the pool)"))?
    };
    Ok((p0, p1))
}

/// Computes the new rate.
pub fn compute_rate(inputs: &RateInputs) -> Result<RateOutcome> {
    if inputs.share_supply.is_zero() {
        return Err(Error::Overflow("exchange rate with a zero share supply"));
    }
    if inputs.duration_seconds == 0 {
        return Err(Error::Overflow("exchange rate over a zero duration"));
    }
    let (p0, p1) = pooled(inputs)?;
    let shares_minted = if inputs.fees_wei.is_zero() {
        U256::ZERO
    } else {
        if p1 <= inputs.fees_wei {
            return Err(Error::Overflow(
                "shares to mint: fees are not below the pooled ether",
            ));
        }
        inputs
            .fees_wei
            .checked_mul(inputs.share_supply)
            .ok_or(Error::Overflow("F · S"))?
            / (p1 - inputs.fees_wei)
    };
    let rate = p1.checked_mul(e18()).ok_or(Error::Overflow("P1 · 1e18"))?
        / (inputs.share_supply + shares_minted);
    Ok(RateOutcome {
        pooled_before: p0,
        pooled_after: p1,
        shares_minted,
        rate,
        apr_ppm: apr_ppm(inputs.previous_rate, rate, inputs.duration_seconds)?,
    })
}

/// `(new − old)·1e6·SECONDS_PER_YEAR / (old·duration)`, signed, truncated toward zero.
pub fn apr_ppm(old: U256, new: U256, duration_seconds: u64) -> Result<i64> {
    if old.is_zero() || duration_seconds == 0 {
        return Ok(0);
    }
    let (diff, negative) = if new >= old {
        (new - old, false)
    } else {
        (old - new, true)
    };
    let numerator = diff
        .checked_mul(U256::from(1_000_000u64) * U256::from(SECONDS_PER_YEAR))
        .ok_or(Error::Overflow("APR numerator"))?;
    let denominator = old
        .checked_mul(U256::from(duration_seconds))
        .ok_or(Error::Overflow("APR denominator"))?;
    let value = i64::try_from(numerator / denominator).map_err(|_| Error::Overflow("APR"))?;
    Ok(if negative { -value } else { value })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(n: u64) -> U256 {
        U256::from(n) * e18()
    }

    #[test]
    fn no_rewards_keeps_the_rate() {
        let out = compute_rate(&RateInputs {
            previous_rate: e18(),
            share_supply: eth(1000),
            net_rewards_wei: 0,
            fees_wei: U256::ZERO,
            duration_seconds: 86_400,
        })
        .unwrap();
        assert_eq!(out.rate, e18());
        assert_eq!(out.apr_ppm, 0);
        assert_eq!(out.pooled_before, eth(1000));
    }

    #[test]
    fn worked_example_with_fees() {
        // 1000 ETH pooled at rate 1, +1 ETH rewards, 0.1 ETH fees:
        // P1 = 1001e18, minted = 0.1e18·1000e18 / 1000.9e18 = 99_910_080_927_165_551 (floor),
        // rate = 1001e18·1e18 / 1000.099910080927165551e18 = 1_000_900_000_000_000_000 (floor):
        // holders keep 0.9 ETH of the 1 ETH.
        let out = compute_rate(&RateInputs {
            previous_rate: e18(),
            share_supply: eth(1000),
            net_rewards_wei: 1_000_000_000_000_000_000,
            fees_wei: U256::from(100_000_000_000_000_000u128),
            duration_seconds: 86_400,
        })
        .unwrap();
        assert_eq!(out.pooled_after, eth(1001));
        assert_eq!(out.shares_minted, U256::from(99_910_080_927_165_551u128));
        assert_eq!(out.rate, U256::from(1_000_900_000_000_000_000u128));
        // Holders got 0.9 ETH on 1000 ETH in one day: 0.09% · 365 = 32.85% = 328_500 ppm.
        assert_eq!(out.apr_ppm, 328_500);
        // The fee shares are worth the fees at the new rate, less one wei of rounding.
        let fee_value = out.shares_minted * out.rate / e18();
        assert_eq!(
            U256::from(100_000_000_000_000_000u128) - fee_value,
            U256::from(1u64)
        );
    }

    #[test]
    fn losses_lower_the_rate_without_fees() {
        let out = compute_rate(&RateInputs {
            previous_rate: e18(),
            share_supply: eth(100),
            net_rewards_wei: -1_000_000_000_000_000_000,
            fees_wei: U256::ZERO,
            duration_seconds: 86_400,
        })
        .unwrap();
        assert_eq!(out.rate, U256::from(990_000_000_000_000_000u128));
        assert_eq!(out.shares_minted, U256::ZERO);
        assert!(out.apr_ppm < 0);
        assert_eq!(out.apr_ppm, -3_650_000);
    }

    #[test]
    fn nonunit_previous_rate() {
        // rate 1.05, S = 200 shares → P0 = 210 ETH; +2.1 ETH, no fees → rate 1.0605.
        let out = compute_rate(&RateInputs {
            previous_rate: U256::from(1_050_000_000_000_000_000u128),
            share_supply: eth(200),
            net_rewards_wei: 2_100_000_000_000_000_000,
            fees_wei: U256::ZERO,
            duration_seconds: 86_400 * 365,
        })
        .unwrap();
        assert_eq!(out.pooled_before, eth(210));
        assert_eq!(out.rate, U256::from(1_060_500_000_000_000_000u128));
        assert_eq!(out.apr_ppm, 10_000); // +1% over exactly one year
    }

    #[test]
    fn errors_on_impossible_inputs() {
        let base = RateInputs {
            previous_rate: e18(),
            share_supply: eth(1),
            net_rewards_wei: -2_000_000_000_000_000_000,
            fees_wei: U256::ZERO,
            duration_seconds: 1,
        };
        assert!(compute_rate(&base).is_err());
        assert!(
            compute_rate(&RateInputs {
                share_supply: U256::ZERO,
                ..base
            })
            .is_err()
        );
        assert!(
            compute_rate(&RateInputs {
                net_rewards_wei: 0,
                fees_wei: eth(2),
                ..base
            })
            .is_err()
        );
    }
}
