//! Pure duty helpers from the honest-validator specs (phase0 and Altair `validator.md`).
//!
//! Aggregator selection hashes the validator's selection-proof signature: a validator aggregates
//! when `bytes_to_uint64(hash(signature)[0:8]) % modulo == 0`, where the modulo targets
//! `TARGET_AGGREGATORS_PER_COMMITTEE` (or `_PER_SYNC_SUBCOMMITTEE`) aggregators. All divisions
//! use values the [`ChainSpec`] guarantees non-zero, and the `max(1, ..)` of the spec.

use typenum::Unsigned;

use crate::chain_spec::ChainSpec;
use crate::eth_spec::EthSpec;
use crate::primitives::{Epoch, SignatureBytes, Slot};

/// `bytes_to_uint64(hash(signature)[0:8]) % modulo == 0`.
fn selected(signature: &SignatureBytes, modulo: u64) -> bool {
    let digest = ethereum_hashing::hash(signature.as_slice());
    let mut first8 = [0u8; 8];
    first8.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first8) % modulo.max(1) == 0
}

/// `is_aggregator`: whether the validator whose slot signature is `selection_proof` aggregates
/// for a committee of `committee_len` members.
pub fn is_aggregator(
    committee_len: u64,
    selection_proof: &SignatureBytes,
    spec: &ChainSpec,
) -> bool {
    let modulo = (committee_len / spec.target_aggregators_per_committee).max(1);
    selected(selection_proof, modulo)
}

/// `is_sync_committee_aggregator`: whether the validator whose `SyncAggregatorSelectionData`
/// signature is `selection_proof` aggregates for its sync subcommittee.
pub fn is_sync_committee_aggregator<E: EthSpec>(
    selection_proof: &SignatureBytes,
    spec: &ChainSpec,
) -> bool {
    let modulo = (E::SyncCommitteeSize::to_u64()
        / spec.sync_committee_subnet_count
        / spec.target_aggregators_per_sync_subcommittee)
        .max(1);
    selected(selection_proof, modulo)
}

/// `compute_subnet_for_attestation`: the attestation subnet of committee `committee_index` at
/// `slot`, given the number of committees per slot at that epoch.
pub fn compute_subnet_for_attestation(
    committees_per_slot: u64,
    slot: Slot,
    committee_index: u64,
    spec: &ChainSpec,
) -> u64 {
    let slots_since_epoch_start = slot.as_u64() % spec.slots_per_epoch;
    let committees_since_epoch_start = committees_per_slot.wrapping_mul(slots_since_epoch_start);
    committees_since_epoch_start.wrapping_add(committee_index) % spec.attestation_subnet_count
}

/// The sync subcommittee size (`SYNC_COMMITTEE_SIZE // SYNC_COMMITTEE_SUBNET_COUNT`).
pub fn sync_subcommittee_size<E: EthSpec>(spec: &ChainSpec) -> u64 {
    (E::SyncCommitteeSize::to_u64() / spec.sync_committee_subnet_count).max(1)
}

/// The sync subcommittee (= sync committee subnet) of a position in the sync committee
/// (`compute_subnets_for_sync_committee` for one index).
pub fn sync_subcommittee_index<E: EthSpec>(sync_committee_index: u64, spec: &ChainSpec) -> u64 {
    sync_committee_index / sync_subcommittee_size::<E>(spec)
}

/// The position within its subcommittee of a position in the sync committee (the bit a
/// contribution sets for it).
pub fn index_in_sync_subcommittee<E: EthSpec>(sync_committee_index: u64, spec: &ChainSpec) -> u64 {
    sync_committee_index % sync_subcommittee_size::<E>(spec)
}

/// The distinct sync subcommittees a validator serves in, from its sync committee positions,
/// sorted.
pub fn sync_subcommittees<E: EthSpec>(
    sync_committee_indices: &[u64],
    spec: &ChainSpec,
) -> Vec<u64> {
    let mut subnets: Vec<u64> = sync_committee_indices
        .iter()
        .map(|index| sync_subcommittee_index::<E>(*index, spec))
        .collect();
    subnets.sort_unstable();
    subnets.dedup();
    subnets
}

/// `compute_epoch_at_slot`.
pub fn compute_epoch_at_slot(slot: Slot, spec: &ChainSpec) -> Epoch {
    spec.compute_epoch_at_slot(slot)
}

/// The sync committee period of `epoch`.
pub fn sync_committee_period(epoch: Epoch, spec: &ChainSpec) -> u64 {
    spec.sync_committee_period(epoch)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eth_spec::{MainnetEthSpec, MinimalEthSpec};

    fn sig(byte: u8) -> SignatureBytes {
        SignatureBytes::repeat_byte(byte)
    }

    #[test]
    fn small_committees_always_aggregate() {
        let spec = ChainSpec::mainnet();
        // len // 16 == 1 => modulo 1.
        for len in [0, 1, 16, 31] {
            assert!(is_aggregator(len, &sig(0xab), &spec));
        }
    }

    #[test]
    fn aggregator_selection_matches_hand_computed_hashes() {
        // Values computed independently with Python's hashlib:
        // int.from_bytes(sha256(bytes([b]) * 96).digest()[:8], "little") % 8 for b = 1..=4
        // gives 3, 0, 2, 2 (modulo 8 = committee of 128 / 16).
        let spec = ChainSpec::mainnet();
        let expected = [(1u8, false), (2, true), (3, false), (4, false)];
        for (byte, aggregates) in expected {
            assert_eq!(
                is_aggregator(128, &sig(byte), &spec),
                aggregates,
                "byte {byte}"
            );
        }
    }

    #[test]
    fn sync_aggregator_modulo_per_preset() {
        let spec = ChainSpec::mainnet();
        // Mainnet: 512 / 4 / 16 = 8; minimal: 32 / 4 / 16 = 0 -> 1 (everyone aggregates).
        assert!(is_sync_committee_aggregator::<MinimalEthSpec>(
            &sig(1),
            &spec
        ));
        assert_eq!(
            is_sync_committee_aggregator::<MainnetEthSpec>(&sig(2), &spec),
            is_aggregator(128, &sig(2), &spec)
        );
        assert!(is_sync_committee_aggregator::<MainnetEthSpec>(
            &sig(2),
            &spec
        ));
        assert_eq!(
            is_sync_committee_aggregator::<MainnetEthSpec>(&sig(1), &spec),
            is_aggregator(128, &sig(1), &spec)
        );
        assert!(!is_sync_committee_aggregator::<MainnetEthSpec>(
            &sig(1),
            &spec
        ));
    }

    #[test]
    fn attestation_subnets() {
        let spec = ChainSpec::mainnet();
        assert_eq!(compute_subnet_for_attestation(64, Slot(0), 5, &spec), 5);
        // Slot 33 is the 2nd slot of epoch 1: 64 committees before it, wrapping at 64 subnets.
        assert_eq!(compute_subnet_for_attestation(64, Slot(33), 5, &spec), 5);
        assert_eq!(compute_subnet_for_attestation(3, Slot(33), 2, &spec), 5);
        assert_eq!(
            compute_subnet_for_attestation(10, Slot(31), 9, &spec),
            319 % 64
        );
    }

    #[test]
    fn sync_subcommittee_math() {
        let spec = ChainSpec::mainnet();
        assert_eq!(sync_subcommittee_size::<MainnetEthSpec>(&spec), 128);
        assert_eq!(sync_subcommittee_index::<MainnetEthSpec>(127, &spec), 0);
        assert_eq!(sync_subcommittee_index::<MainnetEthSpec>(128, &spec), 1);
        assert_eq!(index_in_sync_subcommittee::<MainnetEthSpec>(130, &spec), 2);
        assert_eq!(sync_subcommittee_index::<MinimalEthSpec>(22, &spec), 2);
        assert_eq!(
            sync_subcommittees::<MainnetEthSpec>(&[511, 3, 5, 300], &spec),
            vec![0, 2, 3]
        );
        assert_eq!(sync_committee_period(Epoch(511), &spec), 1);
        assert_eq!(compute_epoch_at_slot(Slot(95), &spec), Epoch(2));
    }
}
