//! Duties performed, missed and refused per epoch, for the epoch summary. Old epochs are pruned
//! when a summary takes its epoch, so memory stays bounded.

use std::collections::BTreeMap;

use parking_lot::Mutex;
use types::Epoch;

use crate::metrics::{Duty, Outcome};

/// Epochs kept without being taken.
const KEPT_EPOCHS: u64 = 8;

/// Counts of one duty type in one epoch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DutyCounts {
    /// Signed and accepted.
    pub performed: u64,
    /// Not done.
    pub missed: u64,
    /// Refused (slashing protection, pool safety, doppelganger).
    pub refused: u64,
}

impl DutyCounts {
    /// All duties counted.
    pub fn total(&self) -> u64 {
        self.performed + self.missed + self.refused
    }
}

/// Per-epoch duty counts.
#[derive(Debug, Default)]
pub struct Tally {
    epochs: Mutex<BTreeMap<Epoch, BTreeMap<Duty, DutyCounts>>>,
}

impl Tally {
    /// Adds `n` duties with `outcome` to `epoch`.
    pub fn record(&self, epoch: Epoch, duty: Duty, outcome: Outcome, n: usize) {
        if n == 0 {
            return;
        }
        let n = n as u64;
        let mut epochs = self.epochs.lock();
        let counts = epochs.entry(epoch).or_default().entry(duty).or_default();
        match outcome {
            Outcome::Performed => counts.performed += n,
            Outcome::Missed => counts.missed += n,
            Outcome::Refused => counts.refused += n,
        }
    }

    /// The counts of `epoch` (empty when nothing was recorded).
    pub fn get(&self, epoch: Epoch) -> BTreeMap<Duty, DutyCounts> {
        self.epochs.lock().get(&epoch).cloned().unwrap_or_default()
    }

    /// Forgets epochs older than `KEPT_EPOCHS` before `current`.
    pub fn prune(&self, current: Epoch) {
        let floor = current.saturating_sub(KEPT_EPOCHS);
        self.epochs.lock().retain(|epoch, _| *epoch >= floor);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_and_prunes() {
        let tally = Tally::default();
        tally.record(Epoch(3), Duty::Attestation, Outcome::Performed, 5);
        tally.record(Epoch(3), Duty::Attestation, Outcome::Missed, 1);
        tally.record(Epoch(3), Duty::Block, Outcome::Refused, 1);
        let counts = tally.get(Epoch(3));
        assert_eq!(counts[&Duty::Attestation].total(), 6);
        assert_eq!(counts[&Duty::Block].refused, 1);
        tally.prune(Epoch(20));
        assert!(tally.get(Epoch(3)).is_empty());
    }
}
