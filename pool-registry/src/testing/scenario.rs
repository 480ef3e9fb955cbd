//! The ledger scenarios: Beacon API responses (exact response shapes: `{"data": …}`
//! envelopes, quoted integers, 0x hex, fork-versioned blocks) for two hand-designed epochs on a
//! minimal-preset chain. The expected values in the tests are derived by hand from the
//! scenario described here, not from the code under test.
//!
//! Keys: validator `i` has pubkey `[i+1; 48]`. Accounted epoch: 3 (slots 24..=31); blocks of
//! epoch 4 (32..=39) carry late attestations.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use ssz_types::{BitList, BitVector, FixedVector, VariableList};
use types::block::{SignedBeaconBlockDeneb, SignedBeaconBlockElectra};
use types::{
    Address, AttestationData, AttestationElectra, AttestationPhase0, Checkpoint, Deposit,
    DepositData, DepositRequest, Epoch, ExecutionPayloadDeneb, ForkName, Hash256, MinimalEthSpec,
    PublicKeyBytes, SignedBeaconBlock, Slot, Withdrawal,
};

type E = MinimalEthSpec;

/// The pool's EL rewards vault (fee recipient).
pub const VAULT: [u8; 20] = [0xbb; 20];
/// The address in the pool's withdrawal credentials.
pub const POOL_ADDRESS: [u8; 20] = [0xaa; 20];

/// The public key of validator `i`: `[i + 1; 48]`.
pub fn pubkey(i: u64) -> PublicKeyBytes {
    PublicKeyBytes::from([(i + 1) as u8; 48])
}

fn pool_credentials() -> Hash256 {
    let mut c = [0u8; 32];
    c[0] = 1;
    c[12..].copy_from_slice(&POOL_ADDRESS);
    Hash256::from(c)
}

fn envelope(data: Value) -> Value {
    json!({"execution_optimistic": false, "finalized": true, "data": data})
}

/// A `ValidatorResponse`.
fn validator(index: u64, balance: u64, status: &str, slashed: bool, credentials: Hash256) -> Value {
    let exited = status.starts_with("exited") || status.starts_with("withdrawal");
    json!({
        "index": index.to_string(),
        "balance": balance.to_string(),
        "status": status,
        "validator": {
            "pubkey": pubkey(index),
            "withdrawal_credentials": credentials,
            "effective_balance": (balance.min(32_000_000_000) / 1_000_000_000 * 1_000_000_000).to_string(),
            "slashed": slashed,
            "activation_eligibility_epoch": "0",
            "activation_epoch": if status.starts_with("pending") { u64::MAX.to_string() } else { "0".to_owned() },
            "exit_epoch": if exited { "1".to_owned() } else if slashed { "20".to_owned() } else { u64::MAX.to_string() },
            "withdrawable_epoch": if exited { "2".to_owned() } else if slashed { "40".to_owned() } else { u64::MAX.to_string() },
        }
    })
}

fn bits_list<N: typenum::Unsigned + Clone>(bits: &[bool]) -> BitList<N> {
    let mut list = BitList::with_capacity(bits.len()).expect("bit list length");
    for (i, b) in bits.iter().enumerate() {
        list.set(i, *b).expect("bit index");
    }
    list
}

fn data(slot: u64, head: Hash256, target: Hash256, index: u64) -> AttestationData {
    AttestationData {
        slot: Slot(slot),
        index,
        beacon_block_root: head,
        source: Checkpoint {
            epoch: Epoch(slot / 8 - 1),
            root: Hash256::repeat_byte(0x11),
        },
        target: Checkpoint {
            epoch: Epoch(slot / 8),
            root: target,
        },
    }
}

fn sync_bits(skip: &[usize]) -> BitVector<typenum::U32> {
    let mut v = BitVector::new();
    for i in 0..32 {
        v.set(i, !skip.contains(&i)).expect("sync bit");
    }
    v
}

fn block_response(block: &SignedBeaconBlock<E>) -> Value {
    let mut v = envelope(serde_json::to_value(block).expect("block serialises"));
    v["version"] = json!(block.fork_name().as_str());
    v
}

/// What one attestation in a block looks like in a scenario.
struct Att {
    slot: u64,
    committees: Vec<u64>,
    bits: Vec<bool>,
    head: HeadVote,
    target_ok: bool,
}

enum HeadVote {
    Block(u64),
    Wrong,
}

fn roots_lookup(roots: &BTreeMap<u64, Hash256>, slot: u64) -> Hash256 {
    roots
        .range(..=slot)
        .next_back()
        .map(|(_, r)| *r)
        .expect("a block at or before the slot")
}

fn resolve(att: &Att, roots: &BTreeMap<u64, Hash256>, target: Hash256) -> (Hash256, Hash256) {
    let head = match att.head {
        HeadVote::Block(s) => roots_lookup(roots, s),
        HeadVote::Wrong => Hash256::repeat_byte(0xde),
    };
    (
        head,
        if att.target_ok {
            target
        } else {
            Hash256::repeat_byte(0xbe)
        },
    )
}

/// Files of one scenario: relative path → JSON (or TOML text under `registry.toml`).
pub type Files = BTreeMap<String, String>;

fn put(files: &mut Files, path: &str, value: &Value) {
    files.insert(
        path.to_owned(),
        serde_json::to_string_pretty(value).expect("json") + "\n",
    );
}

fn spec_response(electra: bool) -> Value {
    let mut map = types::ChainSpec::minimal().raw_config().clone();
    for fork in ["ALTAIR", "BELLATRIX", "CAPELLA", "DENEB"] {
        map.insert(format!("{fork}_FORK_EPOCH"), json!("0"));
    }
    map.insert(
        "ELECTRA_FORK_EPOCH".into(),
        json!(if electra {
            "0".to_owned()
        } else {
            u64::MAX.to_string()
        }),
    );
    json!({"data": map})
}

fn registry(ops: &[(u64, &[u64])]) -> String {
    let mut text = format!(
        "[pool]\nname = \"Fixture pool\"\nwithdrawal_credentials = \"{}\"\nel_rewards_vault = \"0x{}\"\nframe_epochs = 4\n\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n\n[pool.shares]\ninitial_total_shares = \"1000000000000000000000\"\n",
        pool_credentials(),
        hex::encode(VAULT)
    );
    for (id, keys) in ops {
        let keys: Vec<String> = keys.iter().map(|k| format!("\"{}\"", pubkey(*k))).collect();
        text.push_str(&format!(
            "\n[[operators]]\nid = {id}\nname = \"Operator {id}\"\nreward_address = \"0x{}\"\nkeys = [{}]\n",
            hex::encode([*id as u8; 20]),
            keys.join(", ")
        ));
    }
    text
}

/// Pre-Electra (Deneb) epoch 3: attestation delays and wrong votes, a missed proposal at a
/// skipped slot, partial and full withdrawals, a top-up and a new validator from
/// `body.deposits`, a slashing, an exited validator, sync participation, an EL value, and the
/// rewards endpoints (all conserved except the slashed validator).
pub fn deneb() -> Files {
    let mut files = Files::new();
    put(&mut files, "config_spec.json", &spec_response(false));
    files.insert(
        "registry.toml".into(),
        registry(&[(1, &[0, 1, 2, 3]), (2, &[4, 5, 6, 7, 16])]),
    );
    let creds = pool_credentials();
    let bls = Hash256::ZERO; // 0x00 credentials: a mismatch
    let others =
        |balance: u64| (8..16).map(move |i| validator(i, balance, "active_ongoing", false, creds));
    let mut start = vec![
        validator(0, 32_000_100_000, "active_ongoing", false, creds),
        validator(1, 32_000_000_000, "active_ongoing", false, creds),
        validator(2, 31_999_000_000, "active_ongoing", false, creds),
        validator(3, 32_000_000_000, "active_ongoing", false, bls),
        validator(4, 32_000_000_000, "active_ongoing", false, creds),
        validator(5, 32_010_000_000, "active_ongoing", false, creds),
        validator(6, 31_000_000_000, "withdrawal_possible", false, creds),
        validator(7, 32_000_000_000, "active_ongoing", false, creds),
    ];
    start.extend(others(32_000_000_000));
    let mut end = vec![
        validator(0, 33_000_114_000, "active_ongoing", false, creds),
        validator(1, 32_000_009_000, "active_ongoing", false, creds),
        validator(2, 31_999_004_000, "active_ongoing", false, creds),
        validator(3, 31_999_990_000, "active_ongoing", false, bls),
        validator(4, 32_000_011_000, "active_ongoing", false, creds),
        validator(5, 32_010_047_655, "active_ongoing", false, creds),
        validator(6, 0, "withdrawal_done", false, creds),
        validator(7, 30_999_990_000, "active_slashed", true, creds),
    ];
    end.extend(others(32_000_005_000));
    end.push(validator(
        16,
        32_000_000_000,
        "pending_initialized",
        false,
        creds,
    ));
    put(&mut files, "validators_start.json", &envelope(json!(start)));
    put(&mut files, "validators_end.json", &envelope(json!(end)));

    let committees: Vec<(u64, Vec<u64>)> = vec![
        (24, vec![0, 8]),
        (25, vec![1, 9]),
        (26, vec![2, 10]),
        (27, vec![3, 11]),
        (28, vec![4, 12]),
        (29, vec![5, 13]),
        (30, vec![14]),
        (31, vec![7, 15]),
    ];
    let committees_json: Vec<Value> = committees
        .iter()
        .map(|(slot, v)| json!({"index": "0", "slot": slot.to_string(), "validators": v.iter().map(u64::to_string).collect::<Vec<_>>()}))
        .collect();
    put(
        &mut files,
        "committees.json",
        &envelope(json!(committees_json)),
    );
    let proposers = [
        (24, 8),
        (25, 5),
        (26, 9),
        (27, 10),
        (28, 4),
        (29, 11),
        (30, 12),
        (31, 13),
    ];
    let duties: Vec<Value> = proposers
        .iter()
        .map(|(slot, v)| json!({"pubkey": pubkey(*v), "validator_index": v.to_string(), "slot": slot.to_string()}))
        .collect();
    put(
        &mut files,
        "proposer_duties.json",
        &json!({"dependent_root": Hash256::repeat_byte(0x33), "execution_optimistic": false, "data": duties}),
    );
    let sync: Vec<String> = (0..32u64)
        .map(|p| match p {
            0 | 5 => 0,
            1 => 1,
            p => 8 + p % 8,
        })
        .map(|v| v.to_string())
        .collect();
    put(
        &mut files,
        "sync_committees.json",
        &envelope(
            json!({"validators": sync, "validator_aggregates": [sync[..8], sync[8..16], sync[16..24], sync[24..]]}),
        ),
    );

    // Attestations per inclusion slot.
    let mut atts: BTreeMap<u64, Vec<Att>> = BTreeMap::new();
    atts.entry(25).or_default().push(Att {
        slot: 24,
        committees: vec![0],
        bits: vec![true, true],
        head: HeadVote::Block(24),
        target_ok: true,
    });
    atts.entry(27).or_default().push(Att {
        slot: 25,
        committees: vec![0],
        bits: vec![true, false],
        head: HeadVote::Wrong,
        target_ok: true,
    });
    atts.entry(35).or_default().push(Att {
        slot: 26,
        committees: vec![0],
        bits: vec![true, false],
        head: HeadVote::Block(26),
        target_ok: true,
    });
    atts.entry(29).or_default().push(Att {
        slot: 28,
        committees: vec![0],
        bits: vec![true, true],
        head: HeadVote::Block(28),
        target_ok: true,
    });
    atts.entry(30).or_default().push(Att {
        slot: 29,
        committees: vec![0],
        bits: vec![true, false],
        head: HeadVote::Block(29),
        target_ok: false,
    });

    let mut roots: BTreeMap<u64, Hash256> = BTreeMap::new();
    let mut parent = Hash256::repeat_byte(0x23); // the block at slot 23
    roots.insert(23, parent);
    let mut target = Hash256::ZERO;
    for slot in (24..40u64).filter(|s| *s != 28) {
        let mut b = SignedBeaconBlockDeneb::<E>::default();
        let m = &mut b.message;
        m.slot = Slot(slot);
        m.proposer_index = proposers
            .iter()
            .find(|p| p.0 == slot)
            .map_or(8 + slot % 8, |p| p.1);
        m.parent_root = parent;
        m.state_root = Hash256::repeat_byte(slot as u8);
        m.body.graffiti = Hash256::repeat_byte(0x67);
        m.body.sync_aggregate.sync_committee_bits = sync_bits(&[1]);
        let payload: &mut ExecutionPayloadDeneb<E> = &mut m.body.execution_payload;
        payload.fee_recipient = Address::from(VAULT);
        payload.block_number = slot;
        payload.timestamp = 1_700_000_000 + slot * 6;
        if slot == 24 {
            // A previous-epoch attestation: belongs to epoch 2's accounting, ignored here.
            let a = AttestationPhase0::<E> {
                aggregation_bits: bits_list(&[true, true]),
                data: data(23, parent, Hash256::repeat_byte(0x16), 0),
                signature: Default::default(),
            };
            m.body.attestations.push(a).expect("room");
        }
        if slot == 26 {
            payload.withdrawals = VariableList::from(vec![
                Withdrawal {
                    index: 100,
                    validator_index: 5,
                    address: Address::from(POOL_ADDRESS),
                    amount: 12_345,
                },
                Withdrawal {
                    index: 101,
                    validator_index: 6,
                    address: Address::from(POOL_ADDRESS),
                    amount: 31_000_000_000,
                },
            ]);
        }
        if slot == 27 {
            let deposit = |v: u64, amount: u64| Deposit {
                proof: FixedVector::from(vec![Hash256::ZERO; 33]),
                data: DepositData {
                    pubkey: pubkey(v),
                    withdrawal_credentials: creds,
                    amount,
                    signature: Default::default(),
                },
            };
            m.body.deposits =
                VariableList::from(vec![deposit(0, 1_000_000_000), deposit(16, 32_000_000_000)]);
        }
        for att in atts.get(&slot).into_iter().flatten() {
            let (head, target_root) = resolve(att, &roots, target);
            m.body
                .attestations
                .push(AttestationPhase0 {
                    aggregation_bits: bits_list(&att.bits),
                    data: data(att.slot, head, target_root, att.committees[0]),
                    signature: Default::default(),
                })
                .expect("room");
        }
        let block = SignedBeaconBlock::Deneb(b);
        let root = block.block_root();
        if slot == 24 {
            target = root;
        }
        roots.insert(slot, root);
        parent = root;
        put(
            &mut files,
            &format!("blocks/{slot}.json"),
            &block_response(&block),
        );
    }
    let el = json!([
        {"slot": "25", "block_root": roots[&25], "proposer_index": "5", "value_wei": "50000000000000000"},
        {"slot": "28", "block_root": Hash256::repeat_byte(0x28), "proposer_index": "4", "value_wei": "70000000000000000"}
    ]);
    put(&mut files, "el_values.json", &el);

    // Rewards endpoints (epoch 3 is accounted: attestation rewards of epoch 1).
    let att_rewards = |v: u64, head: i64, target: i64, source: i64| json!({"validator_index": v.to_string(), "head": head.to_string(), "target": target.to_string(), "source": source.to_string(), "inactivity": "0"});
    put(
        &mut files,
        "rewards/attestations_1.json",
        &envelope(json!({
            "ideal_rewards": [{"effective_balance": "32000000000", "head": "2600", "target": "6000", "source": "4000", "inactivity": "0"}],
            "total_rewards": [
                att_rewards(0, 2_600, 6_000, 4_000),
                att_rewards(1, 2_000, 4_700, 3_000),
                att_rewards(2, 1_000, 2_000, 1_000),
                att_rewards(3, 0, -6_000, -4_000),
                att_rewards(4, 2_000, 5_000, 4_000),
                att_rewards(5, 2_600, 4_000, 3_400),
                att_rewards(7, 0, -6_000, -4_000),
                att_rewards(8, 2_600, 6_000, 4_000),
            ]
        })),
    );
    for (slot, proposer) in [
        (24, 8),
        (25, 5),
        (26, 9),
        (27, 10),
        (29, 11),
        (30, 12),
        (31, 13),
    ] {
        let total: u64 = if proposer == 5 { 50_000 } else { 40_000 + slot };
        put(
            &mut files,
            &format!("rewards/blocks_{slot}.json"),
            &envelope(json!({
                "proposer_index": proposer.to_string(), "total": total.to_string(),
                "attestations": (total - 5_000).to_string(), "sync_aggregate": "5000",
                "proposer_slashings": "0", "attester_slashings": "0"
            })),
        );
        put(
            &mut files,
            &format!("rewards/sync_committee_{slot}.json"),
            &envelope(json!([
                {"validator_index": "0", "reward": "200"},
                {"validator_index": "1", "reward": "-100"},
                {"validator_index": "9", "reward": "100"}
            ])),
        );
    }
    files
}

/// Electra epoch 3: pending deposits (processed at the transition, queued by a request,
/// postponed), a validator created from a pending deposit, committee-bits aggregates, a pool
/// block paying another fee recipient without a recorded EL value. No rewards endpoints.
pub fn electra() -> Files {
    let mut files = Files::new();
    put(&mut files, "config_spec.json", &spec_response(true));
    files.insert(
        "registry.toml".into(),
        registry(&[(1, &[0, 1, 2]), (2, &[3, 16])]),
    );
    let creds = pool_credentials();
    let others =
        |balance: u64| (4..16).map(move |i| validator(i, balance, "active_ongoing", false, creds));
    let mut start = vec![
        validator(0, 32_000_000_000, "active_ongoing", false, creds),
        validator(1, 32_000_000_000, "active_ongoing", false, creds),
        validator(2, 32_000_000_000, "active_ongoing", false, creds),
        validator(3, 32_000_000_000, "active_ongoing", false, creds),
    ];
    start.extend(others(32_000_000_000));
    let mut end = vec![
        validator(0, 32_000_010_000, "active_ongoing", false, creds),
        validator(1, 33_000_008_000, "active_ongoing", false, creds),
        validator(2, 32_000_007_000, "active_ongoing", false, creds),
        validator(3, 32_000_030_000, "active_ongoing", false, creds),
    ];
    end.extend(others(32_000_004_000));
    end.push(validator(
        16,
        32_000_000_000,
        "pending_initialized",
        false,
        creds,
    ));
    put(&mut files, "validators_start.json", &envelope(json!(start)));
    put(&mut files, "validators_end.json", &envelope(json!(end)));
    let pending = |v: u64, amount: u64, slot: u64| json!({"pubkey": pubkey(v), "withdrawal_credentials": creds, "amount": amount.to_string(), "signature": format!("0x{}", "00".repeat(96)), "slot": slot.to_string()});
    let mut pending_start = envelope(json!([
        pending(1, 1_000_000_000, 10),
        pending(16, 32_000_000_000, 11),
        pending(2, 5_000_000_000, 12)
    ]));
    pending_start["version"] = json!("electra");
    let mut pending_end = envelope(json!([
        pending(2, 5_000_000_000, 12),
        pending(0, 2_000_000_000, 26)
    ]));
    pending_end["version"] = json!("electra");
    put(&mut files, "pending_deposits_start.json", &pending_start);
    put(&mut files, "pending_deposits_end.json", &pending_end);

    let mut committees_json = Vec::new();
    for k in 0..8u64 {
        committees_json.push(
            json!({"index": "0", "slot": (24 + k).to_string(), "validators": [k.to_string()]}),
        );
        committees_json.push(json!({"index": "1", "slot": (24 + k).to_string(), "validators": [(8 + k).to_string()]}));
    }
    put(
        &mut files,
        "committees.json",
        &envelope(json!(committees_json)),
    );
    let proposers = [
        (24, 8),
        (25, 9),
        (26, 10),
        (27, 3),
        (28, 11),
        (29, 12),
        (30, 13),
        (31, 14),
    ];
    let duties: Vec<Value> = proposers
        .iter()
        .map(|(slot, v)| json!({"pubkey": pubkey(*v), "validator_index": v.to_string(), "slot": slot.to_string()}))
        .collect();
    put(
        &mut files,
        "proposer_duties.json",
        &json!({"dependent_root": Hash256::repeat_byte(0x33), "execution_optimistic": false, "data": duties}),
    );
    let sync: Vec<String> = (0..32u64).map(|p| (8 + p % 8).to_string()).collect();
    put(
        &mut files,
        "sync_committees.json",
        &envelope(json!({"validators": sync, "validator_aggregates": []})),
    );

    let mut atts: BTreeMap<u64, Vec<Att>> = BTreeMap::new();
    atts.entry(25).or_default().push(Att {
        slot: 24,
        committees: vec![0, 1],
        bits: vec![true, true],
        head: HeadVote::Block(24),
        target_ok: true,
    });
    atts.entry(26).or_default().push(Att {
        slot: 25,
        committees: vec![1],
        bits: vec![true],
        head: HeadVote::Block(25),
        target_ok: true,
    });
    atts.entry(27).or_default().push(Att {
        slot: 25,
        committees: vec![0],
        bits: vec![true],
        head: HeadVote::Block(25),
        target_ok: true,
    });
    atts.entry(27).or_default().push(Att {
        slot: 26,
        committees: vec![0, 1],
        bits: vec![true, false],
        head: HeadVote::Block(26),
        target_ok: true,
    });

    let mut roots: BTreeMap<u64, Hash256> = BTreeMap::new();
    let mut parent = Hash256::repeat_byte(0x23);
    roots.insert(23, parent);
    let mut target = Hash256::ZERO;
    for slot in 24..40u64 {
        let mut b = SignedBeaconBlockElectra::<E>::default();
        let m = &mut b.message;
        m.slot = Slot(slot);
        m.proposer_index = proposers
            .iter()
            .find(|p| p.0 == slot)
            .map_or(8 + slot % 8, |p| p.1);
        m.parent_root = parent;
        m.state_root = Hash256::repeat_byte(slot as u8);
        m.body.sync_aggregate.sync_committee_bits = sync_bits(&[]);
        let payload = &mut m.body.execution_payload;
        payload.fee_recipient = if slot == 27 {
            Address::repeat_byte(0xcc)
        } else {
            Address::from(VAULT)
        };
        payload.block_number = slot;
        if slot == 26 {
            m.body.execution_requests.deposits = VariableList::from(vec![DepositRequest {
                pubkey: pubkey(0),
                withdrawal_credentials: creds,
                amount: 2_000_000_000,
                signature: Default::default(),
                index: 77,
            }]);
        }
        for att in atts.get(&slot).into_iter().flatten() {
            let (head, target_root) = resolve(att, &roots, target);
            let mut committee_bits = BitVector::new();
            for c in &att.committees {
                committee_bits
                    .set(*c as usize, true)
                    .expect("committee bit");
            }
            m.body
                .attestations
                .push(AttestationElectra {
                    aggregation_bits: bits_list(&att.bits),
                    data: data(att.slot, head, target_root, 0),
                    signature: Default::default(),
                    committee_bits,
                })
                .expect("room");
        }
        let block = SignedBeaconBlock::Electra(b);
        assert_eq!(block.fork_name(), ForkName::Electra);
        let root = block.block_root();
        if slot == 24 {
            target = root;
        }
        roots.insert(slot, root);
        parent = root;
        put(
            &mut files,
            &format!("blocks/{slot}.json"),
            &block_response(&block),
        );
    }
    put(&mut files, "el_values.json", &json!([]));
    files
}
