use super::*;
use types::MinimalEthSpec as E;

/// `compute_shuffled_index` written exactly as the spec's Python, byte concatenations
/// included, to check the buffer-reusing version.
fn reference_shuffle(mut index: u64, count: u64, seed: &[u8; 32], rounds: u64) -> u64 {
    for round in 0..rounds {
        let mut a = seed.to_vec();
        a.push(round as u8);
        let pivot = u64::from_le_bytes(hash(&a)[..8].try_into().unwrap()) % count;
        let flip = (pivot + count - index) % count;
        let position = index.max(flip);
        let mut b = seed.to_vec();
        b.push(round as u8);
        b.extend_from_slice(&((position / 256) as u32).to_le_bytes());
        let source = hash(&b);
        let byte = source[((position % 256) / 8) as usize];
        if (byte >> (position % 8)) % 2 == 1 {
            index = flip;
        }
    }
    index
}

fn record(i: u64, balance: u64) -> ValidatorRecord {
    ValidatorRecord {
        pubkey: PublicKeyBytes::repeat_byte(i as u8 + 1),
        withdrawal_credentials: Hash256::ZERO,
        effective_balance: balance,
        slashed: false,
        activation_eligibility_epoch: Epoch(0),
        activation_epoch: Epoch(0),
        exit_epoch: FAR_FUTURE_EPOCH,
        withdrawable_epoch: FAR_FUTURE_EPOCH,
    }
}

fn view(slot: u64, validators: u64, balance: u64) -> StateView {
    StateView {
        slot: Slot(slot),
        randao_mixes: (0..E::EPOCHS_PER_HISTORICAL_VECTOR)
            .map(|i| Hash256::repeat_byte(i as u8))
            .collect(),
        validators: (0..validators).map(|i| record(i, balance)).collect(),
        balances: (0..validators).map(|i| Quoted(balance + i)).collect(),
        current_sync_committee: None,
        pending_deposits: None,
        proposer_lookahead: None,
    }
}

#[test]
fn shuffle_matches_the_spec_text_and_is_a_permutation() {
    for (count, seed_byte) in [(1u64, 0u8), (2, 1), (7, 2), (64, 3), (300, 4)] {
        let seed = [seed_byte; 32];
        let mut seen = vec![false; count as usize];
        for i in 0..count {
            let fast = compute_shuffled_index(i, count, &seed, 90);
            assert_eq!(fast, reference_shuffle(i, count, &seed, 90));
            assert!(!seen[fast as usize], "index {fast} twice");
            seen[fast as usize] = true;
        }
    }
}

#[test]
fn statuses_follow_the_beacon_api_rules() {
    let mut v = record(0, 32_000_000_000);
    v.activation_eligibility_epoch = FAR_FUTURE_EPOCH;
    v.activation_epoch = FAR_FUTURE_EPOCH;
    assert_eq!(
        validator_status(&v, Epoch(5)),
        ValidatorStatus::PendingInitialized
    );
    v.activation_eligibility_epoch = Epoch(3);
    assert_eq!(
        validator_status(&v, Epoch(5)),
        ValidatorStatus::PendingQueued
    );
    v.activation_epoch = Epoch(5);
    assert_eq!(
        validator_status(&v, Epoch(5)),
        ValidatorStatus::ActiveOngoing
    );
    v.exit_epoch = Epoch(9);
    v.withdrawable_epoch = Epoch(12);
    assert_eq!(
        validator_status(&v, Epoch(8)),
        ValidatorStatus::ActiveExiting
    );
    assert_eq!(
        validator_status(&v, Epoch(9)),
        ValidatorStatus::ExitedUnslashed
    );
    assert_eq!(
        validator_status(&v, Epoch(12)),
        ValidatorStatus::WithdrawalPossible
    );
    v.effective_balance = 0;
    assert_eq!(
        validator_status(&v, Epoch(12)),
        ValidatorStatus::WithdrawalDone
    );
    v.slashed = true;
    v.effective_balance = 1;
    assert_eq!(
        validator_status(&v, Epoch(8)),
        ValidatorStatus::ActiveSlashed
    );
    assert_eq!(
        validator_status(&v, Epoch(10)),
        ValidatorStatus::ExitedSlashed
    );
}

#[test]
fn validators_are_found_by_key_with_their_balances() {
    let state = view(23, 10, 32_000_000_000);
    let keys = [
        PublicKeyBytes::repeat_byte(3),
        PublicKeyBytes::repeat_byte(200),
    ];
    let found = state.validators::<E>(&keys).unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].index, 2);
    assert_eq!(found[0].balance, 32_000_000_002);
    assert_eq!(found[0].status, ValidatorStatus::ActiveOngoing);
    let mut broken = state.clone();
    broken.balances.pop();
    assert!(matches!(
        broken.validators::<E>(&keys),
        Err(StateError::Length {
            what: "balances",
            ..
        })
    ));
}

#[test]
fn committees_partition_the_active_set_per_spec() {
    // 200 validators, minimal preset: 200 / 8 / 4 = 6 committees per slot (MAX 4) → 4.
    let mut state = view(23, 200, 32_000_000_000);
    state.validators[7].exit_epoch = Epoch(1); // not active in epoch 2
    let committees = state.committees::<E>(Epoch(2)).unwrap();
    assert_eq!(committees.len(), 8 * 4);
    let mut members: Vec<u64> = committees
        .iter()
        .flat_map(|c| c.validators.clone())
        .collect();
    members.sort_unstable();
    let expected: Vec<u64> = (0..200).filter(|i| *i != 7).collect();
    assert_eq!(
        members, expected,
        "each active validator in exactly one committee"
    );
    // One committee recomputed the spec's way: compute_committee with the reference shuffle.
    let active: Vec<u64> = expected.clone();
    let seed: [u8; 32] = state
        .seed::<E>(Epoch(2), DOMAIN_BEACON_ATTESTER)
        .unwrap()
        .try_into()
        .unwrap();
    let (slot_offset, index) = (5u64, 3u64);
    let k = slot_offset * 4 + index;
    let n = active.len() as u64;
    let want: Vec<u64> = ((n * k / 32)..(n * (k + 1) / 32))
        .map(|i| active[reference_shuffle(i, n, &seed, E::SHUFFLE_ROUND_COUNT) as usize])
        .collect();
    let got = committees
        .iter()
        .find(|c| c.slot == Slot(16 + slot_offset) && c.index == index)
        .unwrap();
    assert_eq!(got.validators, want);
    assert!(matches!(
        state.committees::<E>(Epoch(1)),
        Err(StateError::WrongEpoch { .. })
    ));
}

#[test]
fn full_balances_always_accept_the_first_candidate() {
    // With every effective balance at the maximum the first candidate always passes, so each
    // slot's proposer is active[shuffle(0)]: an independent check of the seed derivation.
    for (fork, balance) in [
        (ForkName::Capella, 32_000_000_000u64),
        (ForkName::Electra, 2_048_000_000_000),
    ] {
        let state = view(16, 10, balance);
        let duties = state.proposer_duties::<E>(Epoch(2), fork).unwrap();
        let mix = state.randao_mixes[((2 + 64 - 1 - 1) % 64) as usize];
        let mut pre = vec![0u8; 4];
        pre.extend_from_slice(&2u64.to_le_bytes());
        pre.extend_from_slice(mix.as_slice());
        let epoch_seed = hash(&pre);
        assert_eq!(duties.len(), 8);
        for (i, duty) in duties.iter().enumerate() {
            let mut s = epoch_seed.clone();
            s.extend_from_slice(&(16 + i as u64).to_le_bytes());
            let seed: [u8; 32] = hash(&s).try_into().unwrap();
            assert_eq!(duty.slot, Slot(16 + i as u64));
            assert_eq!(
                duty.validator_index,
                reference_shuffle(0, 10, &seed, E::SHUFFLE_ROUND_COUNT)
            );
            assert_eq!(
                duty.pubkey,
                state.validators[duty.validator_index as usize].pubkey
            );
        }
    }
}

#[test]
fn low_balances_are_sampled_less() {
    // Half the validators at 1 ETH effective balance: over many slots they propose far less
    // often than the 32 ETH half (acceptance probability 1/32 per candidate).
    let mut state = view(8 * 40, 64, 32_000_000_000);
    for v in state.validators.iter_mut().take(32) {
        v.effective_balance = 1_000_000_000;
    }
    let mut low = 0;
    for epoch in 40..60 {
        state.slot = Slot(epoch * 8);
        for d in state
            .proposer_duties::<E>(Epoch(epoch), ForkName::Capella)
            .unwrap()
        {
            low += u64::from(d.validator_index < 32);
        }
    }
    assert!(low < 20, "{low} of 160 proposals by 1 ETH validators");
}

#[test]
fn fulu_reads_the_lookahead() {
    let mut state = view(17, 30, 32_000_000_000);
    assert!(matches!(
        state.proposer_duties::<E>(Epoch(2), ForkName::Fulu),
        Err(StateError::Missing("proposer_lookahead"))
    ));
    state.proposer_lookahead = Some((0..16).map(|i| Quoted(i * 2)).collect());
    let duties = state
        .proposer_duties::<E>(Epoch(2), ForkName::Fulu)
        .unwrap();
    let indices: Vec<u64> = duties.iter().map(|d| d.validator_index).collect();
    assert_eq!(indices, vec![0, 2, 4, 6, 8, 10, 12, 14]);
}

#[test]
fn sync_committee_maps_pubkeys_to_indices() {
    let mut state = view(17, 40, 32_000_000_000);
    assert!(matches!(
        state.sync_committee::<E>(),
        Err(StateError::Missing(_))
    ));
    let members: Vec<u64> = (0..32).map(|i| (i * 7) % 40).collect();
    state.current_sync_committee = Some(StateSyncCommittee {
        pubkeys: members
            .iter()
            .map(|i| state.validators[*i as usize].pubkey)
            .collect(),
    });
    let committee = state.sync_committee::<E>().unwrap();
    assert_eq!(committee.validators, members);
    assert_eq!(committee.validator_aggregates.len(), 4);
    assert_eq!(committee.validator_aggregates[1][0], members[8].to_string());
    state.current_sync_committee.as_mut().unwrap().pubkeys[3] = PublicKeyBytes::repeat_byte(0xee);
    assert!(matches!(
        state.sync_committee::<E>(),
        Err(StateError::UnknownMember(_))
    ));
}

#[test]
fn debug_state_json_parses_with_unknown_fields_skipped() {
    let json = serde_json::json!({
        "genesis_time": "1",
        "slot": "23",
        "fork": {"previous_version": "0x00000000", "current_version": "0x00000000", "epoch": "0"},
        "randao_mixes": ["0x0000000000000000000000000000000000000000000000000000000000000001"],
        "validators": [{
            "pubkey": format!("0x{}", "11".repeat(48)),
            "withdrawal_credentials": format!("0x{}", "00".repeat(32)),
            "effective_balance": "32000000000",
            "slashed": false,
            "activation_eligibility_epoch": "0",
            "activation_epoch": "0",
            "exit_epoch": "18446744073709551615",
            "withdrawable_epoch": "18446744073709551615"
        }],
        "balances": ["32000000123"],
        "current_sync_committee": {"pubkeys": [format!("0x{}", "11".repeat(48))], "aggregate_pubkey": format!("0x{}", "11".repeat(48))},
        "inactivity_scores": ["0"]
    });
    let state: StateView = serde_json::from_value(json).unwrap();
    assert_eq!(state.slot, Slot(23));
    assert_eq!(state.balances[0].0, 32_000_000_123);
    assert_eq!(state.sync_committee::<E>().unwrap().validators, vec![0]);
}
