//! The blocks of a case's chain: canonical blocks carrying the story's operations, sync
//! aggregates and queued attestations (applied to the balances as they are written), and
//! orphaned blocks nothing builds on.

use std::collections::BTreeMap;

use serde_json::json;
use ssz_types::{BitList, BitVector, FixedVector, VariableList};
use types::block::{SignedBeaconBlockDeneb, SignedBeaconBlockElectra};
use types::{
    Address, AttestationData, AttestationElectra, AttestationPhase0, BeaconBlockHeader, Checkpoint,
    Deposit, DepositData, DepositRequest, Epoch, Hash256, ProposerSlashing, SignedBeaconBlock,
    SignedBeaconBlockHeader, SignedVoluntaryExit, Slot, VoluntaryExit, Withdrawal,
};

use super::{
    Aggregate, Chain, E, GENESIS_TIME, PROPOSER, PROPOSER_SYNC, SECONDS_PER_SLOT, SPE, SYNC,
    credentials, envelope, pubkey, put,
};

fn bits<N: typenum::Unsigned + Clone>(set: &[bool]) -> BitList<N> {
    let mut list = BitList::with_capacity(set.len()).expect("bit list length");
    for (i, b) in set.iter().enumerate() {
        list.set(i, *b).expect("bit index");
    }
    list
}

impl Chain<'_> {
    /// A block's common fields (the body is filled by [`Self::block`]).
    pub(super) fn block_shell(
        &self,
        slot: u64,
        proposer: u64,
        parent: Hash256,
    ) -> SignedBeaconBlock<E> {
        if self.electra_at(Slot(slot).epoch(SPE)) {
            let mut b = SignedBeaconBlockElectra::<E>::default();
            b.message.slot = Slot(slot);
            b.message.proposer_index = proposer;
            b.message.parent_root = parent;
            b.message.state_root = Hash256::repeat_byte((slot % 251) as u8 + 1);
            b.message.body.execution_payload.block_number = slot;
            b.message.body.execution_payload.timestamp = GENESIS_TIME + slot * SECONDS_PER_SLOT;
            SignedBeaconBlock::Electra(b)
        } else {
            let mut b = SignedBeaconBlockDeneb::<E>::default();
            b.message.slot = Slot(slot);
            b.message.proposer_index = proposer;
            b.message.parent_root = parent;
            b.message.state_root = Hash256::repeat_byte((slot % 251) as u8 + 1);
            b.message.body.execution_payload.block_number = slot;
            b.message.body.execution_payload.timestamp = GENESIS_TIME + slot * SECONDS_PER_SLOT;
            SignedBeaconBlock::Deneb(b)
        }
    }

    /// Writes a block file (by root); canonical blocks extend the chain.
    pub(super) fn finish_block(&mut self, block: SignedBeaconBlock<E>, orphan: bool) -> Hash256 {
        let root = block.block_root();
        let mut response = envelope(serde_json::to_value(&block).expect("block serialises"));
        response["version"] = json!(block.fork_name().as_str());
        response["finalized"] = json!(!orphan);
        put(
            &mut self.files,
            format!("beacon/blocks/{root}.json"),
            &response,
        );
        if !orphan {
            self.roots.insert(block.slot().as_u64(), root);
        }
        root
    }

    /// An orphaned block at a skipped slot: built on the canonical head, never built upon.
    pub(super) fn orphan(&mut self, slot: u64, proposer: u64) {
        let mut block = self.block_shell(slot, proposer, self.root_at(slot));
        if let SignedBeaconBlock::Deneb(b) = &mut block {
            b.message.body.graffiti = Hash256::repeat_byte(0x0f);
            b.message.body.execution_payload.fee_recipient = self.story.vault;
        }
        if let SignedBeaconBlock::Electra(b) = &mut block {
            b.message.body.graffiti = Hash256::repeat_byte(0x0f);
            b.message.body.execution_payload.fee_recipient = self.story.vault;
        }
        let root = self.finish_block(block, true);
        self.record_el_value(slot, root, proposer);
    }

    pub(super) fn record_el_value(&mut self, slot: u64, root: Hash256, proposer: u64) {
        let key = self.vals[proposer as usize].key;
        if !self.pool_keys.contains(&key) || self.story.el_missing.contains(&slot) {
            return;
        }
        let value = self.story.el_value.iter().find(|(s, _)| *s == slot).map_or(
            5_000_000_000_000 * u128::from(1 + slot % 3) + 123,
            |(_, v)| *v,
        );
        self.el_values.push(json!({
            "slot": slot.to_string(),
            "block_root": root,
            "proposer_index": proposer.to_string(),
            "value_wei": value.to_string(),
        }));
    }

    /// The canonical block at `slot`: applies and writes everything it carries.
    pub(super) fn block(&mut self, slot: u64, proposer: u64) {
        let story = self.story;
        let epoch = Slot(slot).epoch(SPE);
        let mut block = self.block_shell(slot, proposer, self.root_at(slot));
        let fee_recipient = if story.foreign_recipient.contains(&slot) {
            Address::repeat_byte(0xcc)
        } else {
            story.vault
        };
        // Withdrawals.
        let mut withdrawals = Vec::new();
        for (_, v, amount) in story.withdrawals.iter().filter(|w| w.0 == slot) {
            let val = &mut self.vals[*v as usize];
            let amount = amount.unwrap_or(val.balance).min(val.balance);
            val.credit(-(amount as i64));
            withdrawals.push(Withdrawal {
                index: self.withdrawal_index,
                validator_index: *v,
                address: Address::from_slice(&val.credentials[12..]),
                amount,
            });
            self.withdrawal_index += 1;
        }
        // Slashings (the proposer is the whistleblower) and exits.
        let mut slashings = Vec::new();
        let mut whistleblower = 0;
        for (_, v) in story.slashings.iter().filter(|s| s.0 == slot) {
            let val = &mut self.vals[*v as usize];
            val.slashed = true;
            val.exit = epoch + 2;
            val.withdrawable = epoch + 6;
            let penalty = val.effective / 32;
            val.credit(-(penalty as i64));
            whistleblower += val.effective / 512;
            let header = |body: u8| SignedBeaconBlockHeader {
                message: BeaconBlockHeader {
                    slot: Slot(slot - 1),
                    proposer_index: *v,
                    parent_root: Hash256::repeat_byte(0x51),
                    state_root: Hash256::repeat_byte(0x52),
                    body_root: Hash256::repeat_byte(body),
                },
                signature: Default::default(),
            };
            slashings.push(ProposerSlashing {
                signed_header_1: header(1),
                signed_header_2: header(2),
            });
        }
        let mut exits = Vec::new();
        for (_, v) in story.exits.iter().filter(|x| x.0 == slot) {
            let val = &mut self.vals[*v as usize];
            val.exit = epoch + 1;
            val.withdrawable = epoch + 2;
            exits.push(SignedVoluntaryExit {
                message: VoluntaryExit {
                    epoch,
                    validator_index: *v,
                },
                signature: Default::default(),
            });
        }
        // Deposits: credited now before Electra, queued from Electra.
        let mut deposits = Vec::new();
        let mut requests = Vec::new();
        let electra = self.electra_at(epoch);
        for (_, k, amount) in story.deposits.iter().filter(|d| d.0 == slot) {
            if electra {
                requests.push(DepositRequest {
                    pubkey: pubkey(*k),
                    withdrawal_credentials: credentials(story.pool_address),
                    amount: *amount,
                    signature: Default::default(),
                    index: self.deposit_index,
                });
                self.pending.push(json!({
                    "pubkey": pubkey(*k),
                    "withdrawal_credentials": credentials(story.pool_address),
                    "amount": amount.to_string(),
                    "signature": format!("0x{}", "00".repeat(96)),
                    "slot": slot.to_string(),
                }));
            } else {
                deposits.push(Deposit {
                    proof: FixedVector::from(vec![Hash256::ZERO; 33]),
                    data: DepositData {
                        pubkey: pubkey(*k),
                        withdrawal_credentials: credentials(story.pool_address),
                        amount: *amount,
                        signature: Default::default(),
                    },
                });
                self.credit_deposit(pubkey(*k), *amount);
            }
            self.deposit_index += 1;
        }
        // Sync aggregate of the epoch's committee.
        let members = self.sync_members();
        let mut sync_bits = BitVector::new();
        let mut sync: BTreeMap<u64, i64> = BTreeMap::new();
        for (position, v) in members.iter().enumerate() {
            let val = &self.vals[*v as usize];
            let signed =
                val.active(epoch) && !val.slashed && !story.absent.contains(&(*v, epoch.as_u64()));
            sync_bits.set(position, signed).expect("sync bit");
            *sync.entry(*v).or_default() += if signed { SYNC } else { -SYNC };
        }
        for (v, amount) in &sync {
            self.vals[*v as usize].credit(*amount);
        }
        self.sync_rewards.insert(slot, sync.into_iter().collect());
        self.vals[proposer as usize].credit((PROPOSER + whistleblower) as i64);
        self.block_rewards.insert(
            slot,
            json!({
                "proposer_index": proposer.to_string(),
                "total": (PROPOSER + whistleblower).to_string(),
                "attestations": (PROPOSER - PROPOSER_SYNC).to_string(),
                "sync_aggregate": PROPOSER_SYNC.to_string(),
                "proposer_slashings": whistleblower.to_string(),
                "attester_slashings": "0",
            }),
        );
        // Attestations due at or before this slot.
        let due: Vec<u64> = self.queued.range(..=slot).map(|(s, _)| *s).collect();
        let mut aggregates = Vec::new();
        for s in due {
            aggregates.extend(self.queued.remove(&s).unwrap_or_default());
        }
        for a in &aggregates {
            let delay = slot - a.slot;
            let a_epoch = Slot(a.slot).epoch(SPE);
            let target_ok = a.target == self.root_at(a_epoch.start_slot(SPE).as_u64());
            let head_ok = a.head == self.root_at(a.slot);
            let earned = (delay <= 2, target_ok, target_ok && head_ok && delay == 1);
            for (v, bit) in a.members.iter().zip(&a.bits) {
                if *bit {
                    let f = self.flags.entry((*v, a_epoch.as_u64())).or_default();
                    *f = (f.0 || earned.0, f.1 || earned.1, f.2 || earned.2);
                }
            }
        }
        let data = |a: &Aggregate| AttestationData {
            slot: Slot(a.slot),
            index: 0,
            beacon_block_root: a.head,
            source: Checkpoint {
                epoch: Epoch(Slot(a.slot).epoch(SPE).as_u64().saturating_sub(1)),
                root: Hash256::repeat_byte(0x11),
            },
            target: Checkpoint {
                epoch: Slot(a.slot).epoch(SPE),
                root: a.target,
            },
        };
        match &mut block {
            SignedBeaconBlock::Deneb(b) => {
                let body = &mut b.message.body;
                body.graffiti = Hash256::repeat_byte(0x67);
                body.execution_payload.fee_recipient = fee_recipient;
                body.execution_payload.withdrawals = VariableList::from(withdrawals);
                body.proposer_slashings = VariableList::from(slashings);
                body.voluntary_exits = VariableList::from(exits);
                body.deposits = VariableList::from(deposits);
                body.sync_aggregate.sync_committee_bits = sync_bits;
                for a in &aggregates {
                    body.attestations
                        .push(AttestationPhase0 {
                            aggregation_bits: bits(&a.bits),
                            data: data(a),
                            signature: Default::default(),
                        })
                        .expect("room for attestations");
                }
            }
            SignedBeaconBlock::Electra(b) => {
                let body = &mut b.message.body;
                body.graffiti = Hash256::repeat_byte(0x67);
                body.execution_payload.fee_recipient = fee_recipient;
                body.execution_payload.withdrawals = VariableList::from(withdrawals);
                body.proposer_slashings = VariableList::from(slashings);
                body.voluntary_exits = VariableList::from(exits);
                body.deposits = VariableList::from(deposits);
                body.execution_requests.deposits = VariableList::from(requests);
                body.sync_aggregate.sync_committee_bits = sync_bits;
                for a in &aggregates {
                    let mut committee_bits = BitVector::new();
                    committee_bits.set(0, true).expect("committee bit");
                    body.attestations
                        .push(AttestationElectra {
                            aggregation_bits: bits(&a.bits),
                            data: data(a),
                            signature: Default::default(),
                            committee_bits,
                        })
                        .expect("room for attestations");
                }
            }
            _ => unreachable!("cases are Deneb or Electra"),
        }
        let root = self.finish_block(block, false);
        self.record_el_value(slot, root, proposer);
    }
}
