//! The synthetic chain behind a conformance case: a minimal-preset chain (8 slots per epoch,
//! 6-second slots) whose validators, blocks, committees, proposers, sync committee and rewards
//! follow a [`Story`], written out as the Beacon API responses `docs/accounting.md` §2.3 names.
//!
//! Invariant: the chain is internally consistent where accounting can see it. Balances change
//! only by the story's events: at each epoch transition into e the attestation rewards of e−2
//! (computed from the inclusions actually written into blocks) and, from Electra, the pending
//! deposits; in each block the proposer reward, the sync committee rewards and penalties, the
//! withdrawals, deposits and slashings the block carries. The rewards endpoints' answers are
//! these same amounts, so a validator's income is fully explained unless a slashing penalty
//! (which no endpoint reports) hits it.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Value, json};
use types::{Address, Epoch, Hash256, MinimalEthSpec, PublicKeyBytes, Slot};

use super::super::scenario::Files;

mod blocks;

type E = MinimalEthSpec;

/// Slots per epoch of the minimal preset.
pub(crate) const SPE: u64 = 8;
/// Genesis time of every case's chain.
pub(crate) const GENESIS_TIME: u64 = 1_700_000_000;
/// Seconds per slot of the minimal preset.
const SECONDS_PER_SLOT: u64 = 6;
const ETH: u64 = 1_000_000_000;
const FAR: Epoch = Epoch(u64::MAX);
/// Sync committee size of the minimal preset.
const SYNC_SIZE: usize = 32;
/// Attestation rewards per flag (gwei): small, so that one- and two-epoch reports stay within
/// the default sanity limits.
const SOURCE: i64 = 300;
const TARGET: i64 = 550;
const HEAD: i64 = 300;
/// Proposer reward per block, of which the sync aggregate's part.
const PROPOSER: u64 = 2_000;
const PROPOSER_SYNC: u64 = 500;
/// Sync committee reward (or penalty) per position and block.
const SYNC: i64 = 10;

/// The public key of key number `k`.
pub(crate) fn pubkey(k: u64) -> PublicKeyBytes {
    PublicKeyBytes::from([(k + 1) as u8; 48])
}

/// `0x01 ‖ 11 zero bytes ‖ address`.
pub(crate) fn credentials(address: Address) -> Hash256 {
    let mut c = [0u8; 32];
    c[0] = 1;
    c[12..].copy_from_slice(address.as_slice());
    Hash256::from(c)
}

/// What happens on a case's chain. Slots are absolute; epochs are accounted from 1.
#[derive(Debug, Clone, Default)]
pub(crate) struct Story {
    /// The Electra fork epoch (`None`: Deneb throughout; every earlier fork is at genesis).
    pub(crate) electra_epoch: Option<u64>,
    /// Genesis validators (key numbers `0..validators`).
    pub(crate) validators: u64,
    /// The last epoch accounted (blocks are generated up to the finalized checkpoint two
    /// epochs later).
    pub(crate) last_epoch: u64,
    /// The pool's withdrawal address (validators' credentials) and fee recipient.
    pub(crate) pool_address: Address,
    /// The EL rewards vault.
    pub(crate) vault: Address,
    /// Genesis validators with BLS (`0x00`) credentials.
    pub(crate) bls_credentials: Vec<u64>,
    /// Genesis balance above 32 ETH, per validator (gwei).
    pub(crate) extra_balance: Vec<(u64, u64)>,
    /// Slots without a canonical block.
    pub(crate) skipped: Vec<u64>,
    /// Of those, slots where an orphaned block exists (a node asked by slot may answer it).
    pub(crate) orphans: Vec<u64>,
    /// `(validator, epoch)`: no attestation and no sync committee signature.
    pub(crate) absent: Vec<(u64, u64)>,
    /// `(validator, epoch)`: attestation included three slots late.
    pub(crate) late: Vec<(u64, u64)>,
    /// Attestation slots whose aggregate votes for a wrong head.
    pub(crate) wrong_head: Vec<u64>,
    /// `(slot, validator, amount)`: a withdrawal in the block at `slot` (`None`: the whole
    /// balance).
    pub(crate) withdrawals: Vec<(u64, u64, Option<u64>)>,
    /// `(slot, key number, amount)`: a deposit (a top-up, or a new validator for a new key).
    pub(crate) deposits: Vec<(u64, u64, u64)>,
    /// `(slot, validator)`: a proposer slashing in the block at `slot`.
    pub(crate) slashings: Vec<(u64, u64)>,
    /// `(slot, validator)`: a voluntary exit in the block at `slot`.
    pub(crate) exits: Vec<(u64, u64)>,
    /// Pool blocks whose EL value was not recorded.
    pub(crate) el_missing: Vec<u64>,
    /// `(slot, wei)`: a recorded EL value other than the default.
    pub(crate) el_value: Vec<(u64, u128)>,
    /// Pool blocks paying another fee recipient.
    pub(crate) foreign_recipient: Vec<u64>,
    /// Whether the rewards endpoints' answers are part of the case.
    pub(crate) rewards: bool,
}

#[derive(Debug, Clone)]
struct Val {
    key: u64,
    credentials: Hash256,
    balance: u64,
    effective: u64,
    slashed: bool,
    eligibility: Epoch,
    activation: Epoch,
    exit: Epoch,
    withdrawable: Epoch,
}

impl Val {
    fn active(&self, epoch: Epoch) -> bool {
        self.activation <= epoch && epoch < self.exit
    }

    /// Balance decreases stop at zero, as `decrease_balance` does.
    fn credit(&mut self, amount: i64) {
        self.balance = self.balance.saturating_add_signed(amount);
    }
}

/// `(source, target, head)` flags earned by a validator's attestation of one epoch.
type Flags = (bool, bool, bool);

struct Aggregate {
    slot: u64,
    members: Vec<u64>,
    bits: Vec<bool>,
    head: Hash256,
    target: Hash256,
}

/// The chain being written.
pub(crate) struct Chain<'a> {
    story: &'a Story,
    /// The pool keys (EL values are recorded for their blocks).
    pool_keys: BTreeSet<u64>,
    vals: Vec<Val>,
    pending: Vec<Value>,
    roots: BTreeMap<u64, Hash256>,
    flags: BTreeMap<(u64, u64), Flags>,
    queued: BTreeMap<u64, Vec<Aggregate>>,
    withdrawal_index: u64,
    deposit_index: u64,
    el_values: Vec<Value>,
    block_rewards: BTreeMap<u64, Value>,
    sync_rewards: BTreeMap<u64, Vec<(u64, i64)>>,
    files: Files,
}

fn envelope(data: Value) -> Value {
    json!({"execution_optimistic": false, "finalized": true, "data": data})
}

fn put(files: &mut Files, path: String, value: &Value) {
    files.insert(path, serde_json::to_string(value).expect("json") + "\n");
}

impl<'a> Chain<'a> {
    /// A chain at genesis.
    pub(crate) fn new(story: &'a Story, pool_keys: BTreeSet<u64>) -> Self {
        let vals = (0..story.validators)
            .map(|k| Val {
                key: k,
                credentials: if story.bls_credentials.contains(&k) {
                    bls_credentials(k)
                } else {
                    credentials(story.pool_address)
                },
                balance: 32 * ETH
                    + story
                        .extra_balance
                        .iter()
                        .find(|(v, _)| *v == k)
                        .map_or(0, |(_, extra)| *extra),
                effective: 32 * ETH,
                slashed: false,
                eligibility: Epoch(0),
                activation: Epoch(0),
                exit: FAR,
                withdrawable: FAR,
            })
            .collect();
        Self {
            story,
            pool_keys,
            vals,
            pending: Vec::new(),
            roots: BTreeMap::new(),
            flags: BTreeMap::new(),
            queued: BTreeMap::new(),
            withdrawal_index: 0,
            deposit_index: 0,
            el_values: Vec::new(),
            block_rewards: BTreeMap::new(),
            sync_rewards: BTreeMap::new(),
            files: Files::new(),
        }
    }

    /// Runs the story and returns the Beacon API files (`beacon/…`, `genesis.json`,
    /// `config_spec.json`) and the recorded EL values (`pool/el_values.json`).
    pub(crate) fn write(mut self) -> Files {
        let s = self.story;
        put(
            &mut self.files,
            "config_spec.json".into(),
            &spec_response(s.electra_epoch),
        );
        put(
            &mut self.files,
            "genesis.json".into(),
            &json!({"data": {
                "genesis_time": GENESIS_TIME.to_string(),
                "genesis_validators_root": Hash256::repeat_byte(0x9a),
                "genesis_fork_version": "0x00000001",
            }}),
        );
        // The genesis block at slot 0; epoch 0 has no other block.
        let genesis = self.block_shell(0, 0, Hash256::ZERO);
        self.finish_block(genesis, false);
        self.state(Epoch(0));
        let finalized = Epoch(s.last_epoch + 2);
        let last_slot = finalized.start_slot(SPE).as_u64();
        for e in 1..=finalized.as_u64() {
            let epoch = Epoch(e);
            self.transition(epoch);
            let duties = self.duties(epoch);
            self.committees(epoch);
            for slot in epoch.start_slot(SPE).as_u64()..=epoch.end_slot(SPE).as_u64() {
                if slot > last_slot {
                    break;
                }
                self.queue_attestations(slot);
                let proposer = duties[(slot % SPE) as usize];
                if s.skipped.contains(&slot) {
                    if s.orphans.contains(&slot) {
                        self.orphan(slot, proposer);
                    }
                    continue;
                }
                self.block(slot, proposer);
            }
            if e <= s.last_epoch {
                self.state(epoch);
                if s.rewards && e >= 2 {
                    self.attestation_rewards(Epoch(e - 2));
                }
            }
        }
        let checkpoint_root = self
            .roots
            .range(..=last_slot)
            .next_back()
            .map(|(_, r)| *r)
            .expect("a block before the checkpoint");
        put(
            &mut self.files,
            "beacon/finality_checkpoints.json".into(),
            &envelope(json!({
                "previous_justified": {"epoch": (finalized.as_u64() - 1).to_string(), "root": Hash256::ZERO},
                "current_justified": {"epoch": finalized.as_u64().to_string(), "root": checkpoint_root},
                "finalized": {"epoch": finalized.as_u64().to_string(), "root": checkpoint_root},
            })),
        );
        if s.rewards {
            let last = Epoch(s.last_epoch).end_slot(SPE).as_u64();
            for (slot, value) in std::mem::take(&mut self.block_rewards) {
                if slot > last {
                    continue;
                }
                put(
                    &mut self.files,
                    format!("beacon/rewards/blocks_{slot}.json"),
                    &envelope(value),
                );
            }
            for (slot, rewards) in std::mem::take(&mut self.sync_rewards) {
                if slot > last {
                    continue;
                }
                let rows: Vec<Value> = rewards
                    .iter()
                    .map(
                        |(v, r)| json!({"validator_index": v.to_string(), "reward": r.to_string()}),
                    )
                    .collect();
                put(
                    &mut self.files,
                    format!("beacon/rewards/sync_committee_{slot}.json"),
                    &envelope(json!(rows)),
                );
            }
        }
        let values = std::mem::take(&mut self.el_values);
        put(
            &mut self.files,
            "pool/el_values.json".into(),
            &json!({ "data": values }),
        );
        self.files
    }

    /// The transition into `epoch`: attestation rewards of `epoch − 2`, pending deposits
    /// (Electra), effective balances.
    fn transition(&mut self, epoch: Epoch) {
        if let Some(rewarded) = epoch.as_u64().checked_sub(2).map(Epoch) {
            for i in 0..self.vals.len() {
                if self.vals[i].active(rewarded) {
                    let (source, target, head) = self.components(i as u64, rewarded);
                    self.vals[i].credit(source + target + head);
                }
            }
        }
        for deposit in std::mem::take(&mut self.pending) {
            let pubkey: PublicKeyBytes =
                serde_json::from_value(deposit["pubkey"].clone()).expect("pubkey");
            let amount: u64 = deposit["amount"]
                .as_str()
                .and_then(|a| a.parse().ok())
                .expect("amount");
            self.credit_deposit(pubkey, amount);
        }
        for v in &mut self.vals {
            let quarter = ETH / 4;
            if v.balance + quarter < v.effective || v.effective + 5 * quarter < v.balance {
                v.effective = (v.balance - v.balance % ETH).min(32 * ETH);
            }
        }
    }

    /// The rewards of validator `v` for its attestation of `epoch`: `(source, target, head)`.
    fn components(&self, v: u64, epoch: Epoch) -> (i64, i64, i64) {
        // Epoch 0 has no block to include attestations: counted as fully timely.
        let (s, t, h) = if epoch.as_u64() == 0 {
            (true, true, true)
        } else {
            self.flags
                .get(&(v, epoch.as_u64()))
                .copied()
                .unwrap_or((false, false, false))
        };
        (
            if s { SOURCE } else { -SOURCE },
            if t { TARGET } else { -TARGET },
            if h { HEAD } else { 0 },
        )
    }

    fn credit_deposit(&mut self, key_bytes: PublicKeyBytes, amount: u64) {
        match self.vals.iter_mut().find(|v| pubkey(v.key) == key_bytes) {
            Some(v) => v.credit(amount as i64),
            None => {
                let key = (0..u64::from(u8::MAX))
                    .find(|k| pubkey(*k) == key_bytes)
                    .expect("a story key");
                self.vals.push(Val {
                    key,
                    credentials: credentials(self.story.pool_address),
                    balance: amount,
                    effective: (amount - amount % ETH).min(32 * ETH),
                    slashed: false,
                    eligibility: FAR,
                    activation: FAR,
                    exit: FAR,
                    withdrawable: FAR,
                });
            }
        }
    }

    /// Whether `epoch` is at or after the Electra fork.
    fn electra_at(&self, epoch: Epoch) -> bool {
        self.story
            .electra_epoch
            .is_some_and(|e| epoch.as_u64() >= e)
    }

    /// Validators active in `epoch`, by index.
    fn active(&self, epoch: Epoch) -> Vec<u64> {
        (0..self.vals.len() as u64)
            .filter(|i| self.vals[*i as usize].active(epoch))
            .collect()
    }

    /// The proposer of every slot of `epoch` (written as proposer duties).
    fn duties(&mut self, epoch: Epoch) -> Vec<u64> {
        let candidates: Vec<u64> = self
            .active(epoch)
            .into_iter()
            .filter(|i| !self.vals[*i as usize].slashed)
            .collect();
        let proposers: Vec<u64> = (0..SPE)
            .map(|i| {
                let slot = epoch.start_slot(SPE).as_u64() + i;
                candidates[((slot * 5 + 1) % candidates.len() as u64) as usize]
            })
            .collect();
        if epoch.as_u64() <= self.story.last_epoch {
            let duties: Vec<Value> = proposers
                .iter()
                .enumerate()
                .map(|(i, v)| {
                    json!({
                        "pubkey": pubkey(self.vals[*v as usize].key),
                        "validator_index": v.to_string(),
                        "slot": (epoch.start_slot(SPE).as_u64() + i as u64).to_string(),
                    })
                })
                .collect();
            put(
                &mut self.files,
                format!("beacon/proposer_duties/{epoch}.json"),
                &json!({"dependent_root": Hash256::repeat_byte(0x33), "execution_optimistic": false, "data": duties}),
            );
        }
        proposers
    }

    /// The committee of `slot` (one per slot).
    fn committee(&self, slot: u64) -> Vec<u64> {
        let epoch = Slot(slot).epoch(SPE);
        let mut active = self.active(epoch);
        let n = active.len() as u64;
        active.rotate_left(((epoch.as_u64() * 3) % n.max(1)) as usize);
        let k = slot % SPE;
        active[(n * k / SPE) as usize..(n * (k + 1) / SPE) as usize].to_vec()
    }

    fn committees(&mut self, epoch: Epoch) {
        if epoch.as_u64() > self.story.last_epoch {
            return;
        }
        let rows: Vec<Value> = (epoch.start_slot(SPE).as_u64()..=epoch.end_slot(SPE).as_u64())
            .map(|slot| {
                let members: Vec<String> =
                    self.committee(slot).iter().map(u64::to_string).collect();
                json!({"index": "0", "slot": slot.to_string(), "validators": members})
            })
            .collect();
        put(
            &mut self.files,
            format!("beacon/committees/{epoch}.json"),
            &envelope(json!(rows)),
        );
        let members = self.sync_members();
        let names: Vec<String> = members.iter().map(u64::to_string).collect();
        let aggregates: Vec<Vec<String>> = names
            .chunks(SYNC_SIZE / 4)
            .map(<[String]>::to_vec)
            .collect();
        put(
            &mut self.files,
            format!("beacon/sync_committees/{epoch}.json"),
            &envelope(json!({"validators": names, "validator_aggregates": aggregates})),
        );
    }

    /// The sync committee (every case stays in period 0): position p holds genesis validator
    /// `p mod validators`.
    fn sync_members(&self) -> Vec<u64> {
        (0..SYNC_SIZE as u64)
            .map(|p| p % self.story.validators)
            .collect()
    }

    fn root_at(&self, slot: u64) -> Hash256 {
        self.roots
            .range(..=slot)
            .next_back()
            .map(|(_, r)| *r)
            .expect("the genesis block")
    }

    /// Builds the aggregates for the attestations of the slot before `slot` (on time) and
    /// queues them for inclusion: on time at the next block, late ones three slots later.
    fn queue_attestations(&mut self, slot: u64) {
        let Some(attested) = slot.checked_sub(1).filter(|s| *s >= SPE) else {
            return;
        };
        let epoch = Slot(attested).epoch(SPE);
        let members = self.committee(attested);
        if members.is_empty() {
            return;
        }
        let head = if self.story.wrong_head.contains(&attested) {
            Hash256::repeat_byte(0xde)
        } else {
            self.root_at(attested)
        };
        let target = self.root_at(epoch.start_slot(SPE).as_u64());
        let voter = |v: &u64, late: bool| {
            let val = &self.vals[*v as usize];
            !val.slashed
                && !self.story.absent.contains(&(*v, epoch.as_u64()))
                && self.story.late.contains(&(*v, epoch.as_u64())) == late
        };
        let on_time: Vec<bool> = members.iter().map(|v| voter(v, false)).collect();
        let late: Vec<bool> = members.iter().map(|v| voter(v, true)).collect();
        for (bits, at, head) in [
            (on_time, slot, head),
            (late, attested + 3, self.root_at(attested)),
        ] {
            if bits.iter().any(|b| *b) {
                self.queued.entry(at).or_default().push(Aggregate {
                    slot: attested,
                    members: members.clone(),
                    bits,
                    head,
                    target,
                });
            }
        }
    }

    /// The validators (every one in the state) and, from Electra, the pending deposits at the
    /// end of `epoch`.
    fn state(&mut self, epoch: Epoch) {
        let slot = epoch.end_slot(SPE);
        let rows: Vec<Value> = self
            .vals
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let validator = types::api::Validator {
                    pubkey: pubkey(v.key),
                    withdrawal_credentials: v.credentials,
                    effective_balance: v.effective,
                    slashed: v.slashed,
                    activation_eligibility_epoch: v.eligibility,
                    activation_epoch: v.activation,
                    exit_epoch: v.exit,
                    withdrawable_epoch: v.withdrawable,
                };
                json!({
                    "index": i.to_string(),
                    "balance": v.balance.to_string(),
                    "status": types::api::ValidatorStatus::compute(&validator, v.balance, epoch),
                    "validator": validator,
                })
            })
            .collect();
        put(
            &mut self.files,
            format!("beacon/validators/{slot}.json"),
            &envelope(json!(rows)),
        );
        if self.electra_at(epoch) {
            let mut response = envelope(json!(self.pending));
            response["version"] = json!("electra");
            put(
                &mut self.files,
                format!("beacon/pending_deposits/{slot}.json"),
                &response,
            );
        }
    }

    /// `/eth/v1/beacon/rewards/attestations/{epoch}` for the validators active in `epoch`.
    fn attestation_rewards(&mut self, epoch: Epoch) {
        let rows: Vec<Value> = (0..self.vals.len() as u64)
            .filter(|i| self.vals[*i as usize].active(epoch))
            .map(|v| {
                let (source, target, head) = self.components(v, epoch);
                json!({
                    "validator_index": v.to_string(),
                    "head": head.to_string(),
                    "target": target.to_string(),
                    "source": source.to_string(),
                    "inactivity": "0",
                })
            })
            .collect();
        put(
            &mut self.files,
            format!("beacon/rewards/attestations_{epoch}.json"),
            &envelope(json!({"ideal_rewards": [], "total_rewards": rows})),
        );
    }
}

/// `0x00 ‖ 31 bytes`: BLS withdrawal credentials (not the pool's).
fn bls_credentials(k: u64) -> Hash256 {
    let mut c = [0x0bu8; 32];
    c[0] = 0;
    c[31] = k as u8;
    Hash256::from(c)
}

/// `/eth/v1/config/spec` of the minimal preset with every fork up to Deneb at genesis and
/// Electra at `electra_epoch`.
fn spec_response(electra_epoch: Option<u64>) -> Value {
    let mut map = types::ChainSpec::minimal().raw_config().clone();
    for fork in ["ALTAIR", "BELLATRIX", "CAPELLA", "DENEB"] {
        map.insert(format!("{fork}_FORK_EPOCH"), json!("0"));
    }
    map.insert(
        "ELECTRA_FORK_EPOCH".into(),
        json!(electra_epoch.unwrap_or(u64::MAX).to_string()),
    );
    json!({ "data": map })
}
