//! Deterministic number formatting for the dashboard: integers only, no floating point, so
//! the same report always renders the same text.
//!
//! - ether amounts from gwei with 9 decimals (`32.000000000`), from wei with 18;
//! - the exchange rate (wei per 1e18 shares) as a decimal with 18 decimals;
//! - parts per million as a percentage with 4 decimals (`755` → `0.0755%`);
//! - basis points as a percentage with 2 decimals (`500` → `5.00%`);
//! - Unix times as `YYYY-MM-DD HH:MM UTC`.

use types::U256;

/// `magnitude / 10^decimals` written with exactly `decimals` digits after the point.
fn decimal(negative: bool, magnitude: U256, decimals: usize) -> String {
    let digits = magnitude.to_string();
    let padded = if digits.len() <= decimals {
        format!("{}{digits}", "0".repeat(decimals + 1 - digits.len()))
    } else {
        digits
    };
    let (int, frac) = padded.split_at(padded.len() - decimals);
    let sign = if negative && !magnitude.is_zero() {
        "-"
    } else {
        ""
    };
    if decimals == 0 {
        format!("{sign}{int}")
    } else {
        format!("{sign}{int}.{frac}")
    }
}

/// Ether from unsigned gwei: `1500000000` → `1.500000000`.
pub fn eth_from_gwei(gwei: u64) -> String {
    decimal(false, U256::from(gwei), 9)
}

/// Ether from signed gwei: `-949922000` → `-0.949922000`.
pub fn eth_from_gwei_signed(gwei: i64) -> String {
    decimal(gwei < 0, U256::from(gwei.unsigned_abs()), 9)
}

/// Ether from wei, all 18 decimals.
pub fn eth_from_wei(wei: U256) -> String {
    decimal(false, wei, 18)
}

/// The exchange rate (wei of pooled ether per 1e18 shares) as ether per share.
pub fn rate(rate: U256) -> String {
    decimal(false, rate, 18)
}

/// Parts per million as a percentage: `755` → `0.0755%`, `-1` → `-0.0001%`.
pub fn ppm_percent(ppm: i64) -> String {
    format!("{}%", decimal(ppm < 0, U256::from(ppm.unsigned_abs()), 4))
}

/// Basis points as a percentage: `500` → `5.00%`.
pub fn bps_percent(bps: u64) -> String {
    format!("{}%", decimal(false, U256::from(bps), 2))
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// A Unix time as `YYYY-MM-DD HH:MM UTC`.
pub fn utc_time(unix_seconds: u64) -> String {
    let days = (unix_seconds / 86_400) as i64;
    let secs = unix_seconds % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        secs / 3600,
        secs % 3600 / 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ether_amounts() {
        assert_eq!(eth_from_gwei(0), "0.000000000");
        assert_eq!(eth_from_gwei(1), "0.000000001");
        assert_eq!(eth_from_gwei(32_000_000_000), "32.000000000");
        assert_eq!(eth_from_gwei_signed(-949_922_000), "-0.949922000");
        assert_eq!(eth_from_gwei_signed(i64::MIN), "-9223372036.854775808");
        assert_eq!(eth_from_gwei_signed(0), "0.000000000");
        assert_eq!(
            eth_from_wei(U256::from(300_000_000_000u64)),
            "0.000000300000000000"
        );
    }

    #[test]
    fn rates_and_percentages() {
        assert_eq!(
            rate(U256::from(1_000_000_004_600_000_000u128)),
            "1.000000004600000000"
        );
        assert_eq!(ppm_percent(755), "0.0755%");
        assert_eq!(ppm_percent(-1), "-0.0001%");
        assert_eq!(ppm_percent(1_000_000), "100.0000%");
        assert_eq!(bps_percent(500), "5.00%");
        assert_eq!(bps_percent(7), "0.07%");
    }

    #[test]
    fn utc_dates() {
        assert_eq!(utc_time(0), "1970-01-01 00:00 UTC");
        // 2020-12-01 12:00:23 UTC: mainnet genesis.
        assert_eq!(utc_time(1_606_824_023), "2020-12-01 12:00 UTC");
        assert_eq!(utc_time(951_782_400), "2000-02-29 00:00 UTC");
    }
}
