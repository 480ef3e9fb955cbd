//! Accounting benchmarks (targets in `docs/performance.md`, "Accounting").
//!
//! - `epoch/account_10k`: `ledger::account_epoch` for 10,000 pool validators on a mainnet-sized
//!   Electra chain (1,048,576 active validators: 32 slots × 64 committees × 512, one aggregate
//!   per committee set per block, 97% participation), with the rewards breakdown.
//!   Baseline `epoch/read_inputs`: one pass over the same inputs summing balances, committee
//!   sizes and set aggregation bits. Target ≤ 100 ms.
//! - `frame/report_225x10k`: a 225-epoch frame report for 10,000 validators / 100 operators
//!   with the Merkle tree and proofs, from decoded ledgers; `frame/report_225x10k_from_blobs`
//!   the same decoding each epoch's stored blob first (what the stores return). Baseline
//!   `frame/sum_records`: summing every record's income over the 225 epochs. Target ≤ 5 s.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use criterion::{Criterion, criterion_main};
use pool_registry::ledger::*;
use pool_registry::report::{ReportBuilder, ReportParams};
use pool_registry::{FrameSnapshot, OperatorTerms, PoolConfig, Registry};
use types::{Address, ChainSpec, Epoch, Hash256, PublicKeyBytes, Slot, U256};

const POOL: u64 = 10_000;
const CHAIN: u64 = 1 << 20;
const COMMITTEES: u64 = 64;
const EPOCH: u64 = 400_000; // Electra on mainnet

fn pk(i: u64) -> PublicKeyBytes {
    let mut b = [0u8; 48];
    b[..8].copy_from_slice(&i.to_le_bytes());
    b[8] = 0xa5;
    PublicKeyBytes::from(b)
}

/// Validator index of pool member `k`: every 100th validator of the chain.
fn pool_index(k: u64) -> u64 {
    k * (CHAIN / POOL)
}

fn creds() -> Hash256 {
    let mut c = [0u8; 32];
    c[0] = 1;
    c[12..].copy_from_slice(&[0xaa; 20]);
    Hash256::from(c)
}

fn entry(index: u64, balance: u64) -> ValidatorEntry {
    ValidatorEntry {
        index,
        balance,
        status: ValidatorStatus::ActiveOngoing,
        validator: ValidatorRecord {
            pubkey: pk(index),
            withdrawal_credentials: creds(),
            effective_balance: 32_000_000_000,
            slashed: false,
            activation_eligibility_epoch: Epoch(0),
            activation_epoch: Epoch(0),
            exit_epoch: Epoch(u64::MAX),
            withdrawable_epoch: Epoch(u64::MAX),
        },
    }
}

fn epoch_inputs(spec: &ChainSpec) -> (EpochInputs, BTreeSet<PublicKeyBytes>) {
    let spe = spec.slots_per_epoch;
    let first = EPOCH * spe;
    let per_committee = CHAIN / spe / COMMITTEES;
    // Committees of epoch EPOCH: a fixed permutation of the chain's validators.
    let mut committees = Vec::new();
    for s in 0..spe {
        for c in 0..COMMITTEES {
            let validators = (0..per_committee)
                .map(|j| {
                    ((s * COMMITTEES + c) * per_committee + j).wrapping_mul(0x9e37_79b9) % CHAIN
                })
                .collect::<Vec<_>>();
            committees.push(Committee {
                index: c,
                slot: Slot(first + s),
                validators,
            });
        }
    }
    // Multiplying by an odd constant modulo 2^20 is a bijection: every validator, pool members
    // included, has exactly one attestation duty.
    let mut blocks = Vec::new();
    let mut parent = Hash256::repeat_byte(1);
    for slot in first..first + 2 * spe {
        let root = Hash256::from(U256::from(slot).to_be_bytes::<32>());
        let mut attestations = Vec::new();
        if slot > first && slot <= first + spe {
            let att_slot = slot - 1;
            let bits_len = (COMMITTEES * per_committee) as usize;
            attestations.push(IncludedAttestation {
                slot: Slot(att_slot),
                head_root: Hash256::from(U256::from(att_slot).to_be_bytes::<32>()),
                target_epoch: Epoch(EPOCH),
                target_root: Hash256::from(U256::from(first).to_be_bytes::<32>()),
                committee_indices: (0..COMMITTEES).collect(),
                aggregation_bits: (0..bits_len).map(|i| i % 33 != 0).collect(),
            });
        }
        let withdrawals = (0..16u64)
            .map(|w| (pool_index((slot * 16 + w) % POOL), 1_000_000))
            .collect();
        blocks.push(BlockFacts {
            slot: Slot(slot),
            proposer_index: if slot.is_multiple_of(3) {
                pool_index(slot % POOL)
            } else {
                slot % CHAIN
            },
            root,
            parent_root: parent,
            fee_recipient: Some(Address::repeat_byte(0xbb)),
            attestations,
            deposits: vec![],
            deposit_requests: vec![],
            withdrawals,
            sync_committee_bits: (0..512).map(|i| i % 10 != 0).collect(),
        });
        parent = root;
    }
    let validators_start: Vec<ValidatorEntry> = (0..POOL)
        .map(|k| entry(pool_index(k), 32_000_000_000))
        .collect();
    let validators_end: Vec<ValidatorEntry> = (0..POOL)
        .map(|k| {
            entry(
                pool_index(k),
                32_000_000_000 + 9_000 - 1_000_000 * u64::from(k.is_multiple_of(7)),
            )
        })
        .collect();
    let keys = validators_end.iter().map(|v| v.validator.pubkey).collect();
    let el_values = blocks
        .iter()
        .filter(|b| b.slot.as_u64() < first + spe)
        .map(|b| ElBlockValue {
            slot: b.slot,
            block_root: b.root,
            proposer_index: b.proposer_index,
            value_wei: U256::from(40_000_000_000_000_000u64),
        })
        .collect();
    let epoch_blocks: Vec<&BlockFacts> = blocks
        .iter()
        .filter(|b| b.slot.as_u64() < first + spe)
        .collect();
    let rewards = RewardsInputs {
        attestations: AttestationsRewards {
            ideal_rewards: vec![],
            total_rewards: (0..POOL)
                .map(|k| AttestationRewards {
                    validator_index: pool_index(k),
                    head: 2_000,
                    target: 4_000,
                    source: 3_000,
                    inclusion_delay: 0,
                    inactivity: 0,
                })
                .collect(),
        },
        blocks: epoch_blocks
            .iter()
            .map(|b| AtSlot {
                slot: b.slot,
                data: BlockRewards {
                    proposer_index: b.proposer_index,
                    total: 40_000,
                    attestations: 35_000,
                    sync_aggregate: 5_000,
                    proposer_slashings: 0,
                    attester_slashings: 0,
                },
            })
            .collect(),
        sync_committee: epoch_blocks
            .iter()
            .map(|b| AtSlot {
                slot: b.slot,
                data: (0..512u64)
                    .map(|p| SyncCommitteeReward {
                        validator_index: (p * 2049) % CHAIN,
                        reward: 100,
                    })
                    .collect(),
            })
            .collect(),
    };
    let inputs = EpochInputs {
        epoch: Epoch(EPOCH),
        validators_start,
        validators_end,
        blocks,
        committees,
        proposer_duties: (0..spe)
            .map(|s| ProposerDuty {
                pubkey: pk(0),
                validator_index: if (first + s).is_multiple_of(3) {
                    pool_index((first + s) % POOL)
                } else {
                    (first + s) % CHAIN
                },
                slot: Slot(first + s),
            })
            .collect(),
        sync_committee: Some(SyncCommittee {
            validators: (0..512u64).map(|p| (p * 2049) % CHAIN).collect(),
            validator_aggregates: vec![],
        }),
        pending_deposits_start: Some(vec![]),
        pending_deposits_end: Some(vec![]),
        el_values,
        rewards: Some(rewards),
    };
    (inputs, keys)
}

/// What any consumer must at least do: touch every input once.
fn read_inputs(inputs: &EpochInputs) -> u64 {
    let mut sum = 0u64;
    for v in inputs.validators_start.iter().chain(&inputs.validators_end) {
        sum = sum.wrapping_add(v.balance);
    }
    for c in &inputs.committees {
        sum = sum.wrapping_add(c.validators.len() as u64);
    }
    for b in &inputs.blocks {
        for a in &b.attestations {
            sum = sum.wrapping_add(a.aggregation_bits.iter().filter(|x| **x).count() as u64);
        }
        sum = sum.wrapping_add(b.sync_committee_bits.iter().filter(|x| **x).count() as u64);
    }
    sum
}

fn bench_epoch(c: &mut Criterion) {
    let spec = ChainSpec::mainnet();
    let (inputs, keys) = epoch_inputs(&spec);
    let ledger = account_epoch(&spec, &keys, creds(), Address::repeat_byte(0xbb), &inputs)
        .expect("bench inputs are valid");
    assert_eq!(ledger.records.len(), POOL as usize);
    assert!(
        ledger
            .records
            .iter()
            .any(|r| r.duties.attestation_included == 1)
    );
    let mut group = c.benchmark_group("epoch");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.bench_function("read_inputs", |b| {
        b.iter(|| read_inputs(std::hint::black_box(&inputs)))
    });
    group.bench_function("account_10k", |b| {
        b.iter(|| {
            account_epoch(
                &spec,
                &keys,
                creds(),
                Address::repeat_byte(0xbb),
                std::hint::black_box(&inputs),
            )
            .expect("valid")
        })
    });
    group.finish();
}

fn pool_config() -> PoolConfig {
    let text = format!(
        "[pool]\nname = \"bench\"\nwithdrawal_credentials = \"{}\"\nel_rewards_vault = \"0x{}\"\nframe_epochs = 225\n[pool.fees]\nprotocol_bps = 500\noperator_bps = 500\n[pool.shares]\ninitial_total_shares = \"320000000000000000000000\"\n",
        creds(),
        "bb".repeat(20)
    );
    Registry::parse(std::path::Path::new("bench.toml"), &text)
        .expect("bench registry")
        .pool()
        .clone()
}

fn frame_ledger(epoch: u64) -> EpochLedger {
    EpochLedger {
        epoch: Epoch(epoch),
        fork: types::ForkName::Electra,
        records: (0..POOL)
            .map(|k| {
                let income = if k.is_multiple_of(97) {
                    -12_000
                } else {
                    9_000 + (k % 13) as i64
                };
                ValidatorEpoch {
                    validator_index: pool_index(k),
                    pubkey: pk(pool_index(k)),
                    balance_start: 32_000_000_000,
                    balance_end: (32_000_000_000 + income) as u64,
                    withdrawals: 0,
                    deposits: 0,
                    income,
                    effective_balance: 32_000_000_000,
                    status: ValidatorStatus::ActiveOngoing,
                    slashed_start: false,
                    slashed_end: false,
                    credentials_mismatch: false,
                    duties: Duties {
                        attestation_duties: 1,
                        attestation_included: 1,
                        source_timely: 1,
                        target_timely: 1,
                        head_timely: u32::from(k % 5 != 0),
                        inclusion_delay: 1,
                        ..Duties::default()
                    },
                    el_rewards: if k.is_multiple_of(300) { 40_000_000 } else { 0 },
                    el_values_missing: 0,
                    fee_recipient_mismatches: 0,
                    breakdown: Some(Breakdown {
                        attestation: income,
                        ..Breakdown::default()
                    }),
                }
            })
            .collect(),
    }
}

fn frame_snapshot() -> FrameSnapshot {
    FrameSnapshot {
        frame: 0,
        protocol_bps: 500,
        operators: (0..100u64)
            .map(|id| {
                (
                    id,
                    OperatorTerms {
                        operator_bps: 500 + id as u16,
                        reward_address: Address::repeat_byte(id as u8),
                    },
                )
            })
            .collect(),
        assignments: (0..POOL)
            .map(|k| (pk(pool_index(k)), k % 100))
            .collect::<BTreeMap<_, _>>(),
    }
}

fn bench_frame(c: &mut Criterion) {
    let spec = ChainSpec::mainnet();
    let pool = pool_config();
    let snapshot = frame_snapshot();
    let template = frame_ledger(0);
    let blob = encode_records(&template);
    let build = |from_blobs: bool| {
        let params = ReportParams {
            spec: &spec,
            pool: &pool,
            genesis_validators_root: Hash256::ZERO,
            frame: 0,
            previous: None,
            share_supply: pool.initial_total_shares,
        };
        let mut builder = ReportBuilder::new(params).expect("frame");
        let mut ledger = template.clone();
        let mut window = Vec::with_capacity(225);
        for e in 0..225u64 {
            if from_blobs {
                ledger = decode_records(&blob).expect("blob");
            }
            ledger.epoch = Epoch(e);
            window.push(ledger.summary());
            builder.add_epoch(&ledger, &snapshot).expect("epoch");
        }
        builder.finish(&window).expect("report")
    };
    let report = build(true);
    assert_eq!(report.report.operators.len(), 100);
    let mut group = c.benchmark_group("frame");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(15));
    group.bench_function("sum_records", |b| {
        b.iter(|| {
            let mut sum = 0i64;
            for _ in 0..225 {
                for r in &std::hint::black_box(&template).records {
                    sum = sum.wrapping_add(r.income);
                }
            }
            sum
        })
    });
    group.bench_function("report_225x10k", |b| b.iter(|| build(false)));
    group.bench_function("report_225x10k_from_blobs", |b| b.iter(|| build(true)));
    group.finish();
}

// In a private module the generated `pub fn` needs no documentation.
mod harness {
    criterion::criterion_group!(benches, super::bench_epoch, super::bench_frame);
}
criterion_main!(harness::benches);
