//! The stored form of an epoch ledger: a fixed-width little-endian binary layout, one row per
//! epoch. It is compact (202 bytes per validator), decodes in microseconds, and two ledgers are
//! identical exactly when their encodings are (which is what the idempotency check compares).
//!
//! Layout (version 1): `"PVL1"`, fork index (u8, `ForkName::ALL` order), epoch (u64), record
//! count (u32), then per record: validator_index u64, pubkey [48], balance_start u64,
//! balance_end u64, withdrawals u64, deposits i64, income i64, effective_balance u64, status
//! u8, flags u8 (bit 0 slashed_start, 1 slashed_end, 2 credentials_mismatch, 3 breakdown
//! present), ten u32 duty counters in `Duties` field order, el_rewards u64, el_values_missing
//! u32, fee_recipient_mismatches u32, five i64 breakdown fields in `Breakdown` field order
//! (zero when absent).

use types::{Epoch, ForkName, PublicKeyBytes};

use super::inputs::ValidatorStatus;
use super::{Breakdown, Duties, EpochLedger, ValidatorEpoch};
use crate::error::{Error, Result};

const MAGIC: &[u8; 4] = b"PVL1";
/// Magic, fork code, epoch, record count.
const HEADER_LEN: usize = 4 + 1 + 8 + 4;
const RECORD_LEN: usize = 8 + 48 + 8 * 6 + 2 + 4 * 10 + 8 + 4 + 4 + 8 * 5;

/// Encodes a ledger in the stored form.
pub fn encode_records(ledger: &EpochLedger) -> Vec<u8> {
    let mut out = Vec::with_capacity(17 + RECORD_LEN * ledger.records.len());
    out.extend_from_slice(MAGIC);
    let fork = ForkName::ALL
        .iter()
        .position(|f| *f == ledger.fork)
        .unwrap_or(0) as u8;
    out.push(fork);
    out.extend_from_slice(&ledger.epoch.as_u64().to_le_bytes());
    out.extend_from_slice(&(ledger.records.len() as u32).to_le_bytes());
    for r in &ledger.records {
        out.extend_from_slice(&r.validator_index.to_le_bytes());
        out.extend_from_slice(r.pubkey.as_slice());
        for v in [r.balance_start, r.balance_end, r.withdrawals] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&r.deposits.to_le_bytes());
        out.extend_from_slice(&r.income.to_le_bytes());
        out.extend_from_slice(&r.effective_balance.to_le_bytes());
        out.push(r.status.code());
        let flags = u8::from(r.slashed_start)
            | u8::from(r.slashed_end) << 1
            | u8::from(r.credentials_mismatch) << 2
            | u8::from(r.breakdown.is_some()) << 3;
        out.push(flags);
        let d = &r.duties;
        for v in [
            d.attestation_duties,
            d.attestation_included,
            d.source_timely,
            d.target_timely,
            d.head_timely,
            d.inclusion_delay,
            d.proposals_assigned,
            d.proposals_made,
            d.sync_expected,
            d.sync_participated,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&r.el_rewards.to_le_bytes());
        out.extend_from_slice(&r.el_values_missing.to_le_bytes());
        out.extend_from_slice(&r.fee_recipient_mismatches.to_le_bytes());
        let b = r.breakdown.unwrap_or_default();
        for v in [
            b.attestation,
            b.inactivity,
            b.sync_committee,
            b.proposer,
            b.unexplained,
        ] {
            out.extend_from_slice(&v.to_le_bytes());
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn take<const N: usize>(&mut self) -> Result<[u8; N]> {
        let end = self.pos + N;
        let slice = self.bytes.get(self.pos..end).ok_or_else(|| {
            Error::Corrupt(format!("ledger record truncated at byte {}", self.pos))
        })?;
        self.pos = end;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }
    fn u8(&mut self) -> Result<u8> {
        Ok(self.take::<1>()?[0])
    }
    fn u32(&mut self) -> Result<u32> {
        Ok(u32::from_le_bytes(self.take()?))
    }
    fn u64(&mut self) -> Result<u64> {
        Ok(u64::from_le_bytes(self.take()?))
    }
    fn i64(&mut self) -> Result<i64> {
        Ok(i64::from_le_bytes(self.take()?))
    }
}

/// Decodes the stored form.
pub fn decode_records(bytes: &[u8]) -> Result<EpochLedger> {
    let mut r = Reader { bytes, pos: 0 };
    let (fork, epoch, count) = read_header(&mut r)?;
    let mut records = Vec::with_capacity(count);
    for _ in 0..count {
        records.push(read_record(&mut r)?);
    }
    Ok(EpochLedger {
        epoch,
        fork,
        records,
    })
}

fn read_record(r: &mut Reader<'_>) -> Result<ValidatorEpoch> {
    let validator_index = r.u64()?;
    let pubkey = PublicKeyBytes::from(r.take::<48>()?);
    let balance_start = r.u64()?;
    let balance_end = r.u64()?;
    let withdrawals = r.u64()?;
    let deposits = r.i64()?;
    let income = r.i64()?;
    let effective_balance = r.u64()?;
    let code = r.u8()?;
    let status = ValidatorStatus::from_code(code)
        .ok_or_else(|| Error::Corrupt(format!("unknown validator status code {code}")))?;
    let flags = r.u8()?;
    let duties = Duties {
        attestation_duties: r.u32()?,
        attestation_included: r.u32()?,
        source_timely: r.u32()?,
        target_timely: r.u32()?,
        head_timely: r.u32()?,
        inclusion_delay: r.u32()?,
        proposals_assigned: r.u32()?,
        proposals_made: r.u32()?,
        sync_expected: r.u32()?,
        sync_participated: r.u32()?,
    };
    let el_rewards = r.u64()?;
    let el_values_missing = r.u32()?;
    let fee_recipient_mismatches = r.u32()?;
    let breakdown = Breakdown {
        attestation: r.i64()?,
        inactivity: r.i64()?,
        sync_committee: r.i64()?,
        proposer: r.i64()?,
        unexplained: r.i64()?,
    };
    Ok(ValidatorEpoch {
        validator_index,
        pubkey,
        balance_start,
        balance_end,
        withdrawals,
        deposits,
        income,
        effective_balance,
        status,
        slashed_start: flags & 1 != 0,
        slashed_end: flags & 2 != 0,
        credentials_mismatch: flags & 4 != 0,
        duties,
        el_rewards,
        el_values_missing,
        fee_recipient_mismatches,
        breakdown: (flags & 8 != 0).then_some(breakdown),
    })
}

/// Reads the header of a stored ledger: `(fork, epoch, record count)`, checking the length.
fn read_header(r: &mut Reader<'_>) -> Result<(ForkName, Epoch, usize)> {
    if &r.take::<4>()? != MAGIC {
        return Err(Error::Corrupt(
            "ledger blob has an unknown format".to_owned(),
        ));
    }
    let fork_code = r.u8()?;
    let fork = *ForkName::ALL
        .get(usize::from(fork_code))
        .ok_or_else(|| Error::Corrupt(format!("unknown fork code {fork_code}")))?;
    let epoch = Epoch(r.u64()?);
    let count = r.u32()? as usize;
    if r.bytes.len() != HEADER_LEN + count * RECORD_LEN {
        return Err(Error::Corrupt(format!(
            "ledger blob of epoch {epoch} has {} bytes for {count} records",
            r.bytes.len()
        )));
    }
    Ok((fork, epoch, count))
}

/// Finds one validator's record in the stored form without decoding the others: records are
/// fixed-width and sorted by validator index, so this is a binary search.
pub fn find_record(bytes: &[u8], validator_index: u64) -> Result<Option<ValidatorEpoch>> {
    let mut r = Reader { bytes, pos: 0 };
    let (_, _, count) = read_header(&mut r)?;
    let index_at = |i: usize| -> Result<u64> {
        let mut at = Reader {
            bytes,
            pos: HEADER_LEN + i * RECORD_LEN,
        };
        at.u64()
    };
    let (mut lo, mut hi) = (0usize, count);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        match index_at(mid)?.cmp(&validator_index) {
            std::cmp::Ordering::Less => lo = mid + 1,
            std::cmp::Ordering::Greater => hi = mid,
            std::cmp::Ordering::Equal => {
                let mut at = Reader {
                    bytes,
                    pos: HEADER_LEN + mid * RECORD_LEN,
                };
                return read_record(&mut at).map(Some);
            }
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(validator_index: u64) -> ValidatorEpoch {
        ValidatorEpoch {
            validator_index,
            pubkey: PublicKeyBytes::from([validator_index as u8; 48]),
            balance_start: 32_000_000_000 + validator_index,
            balance_end: 32_000_000_100 + validator_index,
            withdrawals: validator_index,
            deposits: -(validator_index as i64),
            income: 100,
            effective_balance: 32_000_000_000,
            status: ValidatorStatus::ActiveOngoing,
            slashed_start: false,
            slashed_end: validator_index == 9,
            credentials_mismatch: validator_index == 4,
            duties: Duties {
                attestation_duties: 1,
                head_timely: (validator_index % 2) as u32,
                ..Duties::default()
            },
            el_rewards: validator_index * 7,
            el_values_missing: 0,
            fee_recipient_mismatches: 0,
            breakdown: validator_index.is_multiple_of(3).then_some(Breakdown {
                attestation: 100,
                ..Breakdown::default()
            }),
        }
    }

    #[test]
    fn find_record_matches_the_full_decode() {
        let indices = [2u64, 3, 4, 9, 17, 40, 41];
        let ledger = EpochLedger {
            epoch: Epoch(12),
            fork: ForkName::Deneb,
            records: indices.iter().map(|i| record(*i)).collect(),
        };
        let bytes = encode_records(&ledger);
        let decoded = decode_records(&bytes).unwrap();
        for r in &decoded.records {
            assert_eq!(
                find_record(&bytes, r.validator_index).unwrap().as_ref(),
                Some(r)
            );
        }
        for missing in [0u64, 1, 5, 18, 42, u64::MAX] {
            assert_eq!(find_record(&bytes, missing).unwrap(), None, "{missing}");
        }
        let empty = encode_records(&EpochLedger {
            epoch: Epoch(1),
            fork: ForkName::Deneb,
            records: Vec::new(),
        });
        assert_eq!(find_record(&empty, 0).unwrap(), None);
        assert!(find_record(&bytes[..bytes.len() - 1], 2).is_err());
    }
}
