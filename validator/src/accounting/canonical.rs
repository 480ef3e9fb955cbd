//! The canonical blocks of finalized epochs, found by walking parent roots back from the
//! finalized checkpoint block (`docs/accounting.md` §2.2), never by asking a node for "the
//! block at slot s": a node once answered a wrong root for a finalized slot, and a wrong block
//! at the edge of a range would have been accounted silently.
//!
//! Invariants:
//! - every block returned is the finalized checkpoint block or one of its ancestors, and its
//!   root is computed from its content and equals the root its child names;
//! - the links kept form one contiguous piece of the chain (each one's parent is the link
//!   before it), so every canonical block between the lowest and highest kept slot is known;
//! - a finalized checkpoint that does not descend from the blocks read before is an error,
//!   never a silent switch.
//!
//! Only roots and parent roots are kept for the whole walk (a catch-up after downtime may walk
//! thousands of slots); decoded blocks are kept for the range asked and the epoch after it.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;

use pool_registry::ledger::BlockFacts;
use types::{Checkpoint, Epoch, Hash256, Slot};

use super::{AccountingError, Result};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Link {
    root: Hash256,
    parent: Hash256,
}

/// The known piece of the canonical chain and the decoded blocks of the range being
/// accounted.
#[derive(Debug)]
pub struct CanonicalChain {
    slots_per_epoch: u64,
    links: BTreeMap<Slot, Link>,
    slot_of: HashMap<Hash256, Slot>,
    facts: BTreeMap<Slot, BlockFacts>,
}

fn error(slot: Slot, slots_per_epoch: u64, detail: String) -> AccountingError {
    AccountingError::Input {
        epoch: Epoch(slot.as_u64() / slots_per_epoch.max(1)),
        detail,
    }
}

impl CanonicalChain {
    /// An empty chain.
    pub fn new(slots_per_epoch: u64) -> Self {
        Self {
            slots_per_epoch,
            links: BTreeMap::new(),
            slot_of: HashMap::new(),
            facts: BTreeMap::new(),
        }
    }

    /// The canonical blocks with slots in `[first, last]`, ascending. `finalized` must be at
    /// or after `last`'s epoch + 1 (so that every slot asked is before its block).
    /// `fetch(root)` reads the block with that root (`None` when the node does not have it).
    pub async fn blocks<F, Fut>(
        &mut self,
        first: Slot,
        last: Slot,
        finalized: Checkpoint,
        mut fetch: F,
    ) -> Result<Vec<BlockFacts>>
    where
        F: FnMut(Hash256) -> Fut,
        Fut: Future<Output = Result<Option<BlockFacts>>>,
    {
        let spe = self.slots_per_epoch;
        let checkpoint_slot = finalized.epoch.start_slot(spe);
        if last >= checkpoint_slot {
            return Err(error(
                last,
                spe,
                format!(
                    "slot {last} is not before the finalized checkpoint (epoch {}, slot {checkpoint_slot})",
                    finalized.epoch
                ),
            ));
        }
        let keep_until = last + spe;
        self.extend_to(finalized, checkpoint_slot, first, keep_until, &mut fetch)
            .await?;
        self.extend_below(first, keep_until, &mut fetch).await?;
        let wanted: Vec<(Slot, Link)> = self
            .links
            .range(first..=last)
            .map(|(s, l)| (*s, *l))
            .collect();
        let mut out = Vec::with_capacity(wanted.len());
        for (slot, link) in wanted {
            let facts = match self.facts.get(&slot).filter(|f| f.root == link.root) {
                Some(facts) => facts.clone(),
                None => {
                    let facts = self.fetch_checked(link.root, &mut fetch).await?;
                    if facts.slot != slot || facts.parent_root != link.parent {
                        return Err(error(
                            slot,
                            spe,
                            format!("block {} changed between two reads", link.root),
                        ));
                    }
                    self.facts.insert(slot, facts.clone());
                    facts
                }
            };
            out.push(facts);
        }
        self.prune(first, keep_until);
        Ok(out)
    }

    async fn fetch_checked<F, Fut>(&self, root: Hash256, fetch: &mut F) -> Result<BlockFacts>
    where
        F: FnMut(Hash256) -> Fut,
        Fut: Future<Output = Result<Option<BlockFacts>>>,
    {
        let facts = fetch(root).await?.ok_or_else(|| AccountingError::Input {
            epoch: Epoch(0),
            detail: format!("no beacon node has the finalized block {root}"),
        })?;
        if facts.root != root {
            return Err(error(
                facts.slot,
                self.slots_per_epoch,
                format!(
                    "asked for block {root}, the beacon node answered block {} (slot {})",
                    facts.root, facts.slot
                ),
            ));
        }
        Ok(facts)
    }

    fn insert(&mut self, facts: &BlockFacts, keep_from: Slot, keep_until: Slot) {
        self.links.insert(
            facts.slot,
            Link {
                root: facts.root,
                parent: facts.parent_root,
            },
        );
        self.slot_of.insert(facts.root, facts.slot);
        if facts.slot >= keep_from && facts.slot <= keep_until {
            self.facts.insert(facts.slot, facts.clone());
        }
    }

    /// Walks down from the checkpoint block until it meets the known chain's newest block, or
    /// passes below `first` (or reaches genesis).
    async fn extend_to<F, Fut>(
        &mut self,
        finalized: Checkpoint,
        checkpoint_slot: Slot,
        first: Slot,
        keep_until: Slot,
        fetch: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Hash256) -> Fut,
        Fut: Future<Output = Result<Option<BlockFacts>>>,
    {
        let spe = self.slots_per_epoch;
        let top = self.links.last_key_value().map(|(s, l)| (*s, l.root));
        if top.map(|(_, root)| root) == Some(finalized.root) {
            return Ok(());
        }
        let mut fresh: Vec<BlockFacts> = Vec::new();
        let mut root = finalized.root;
        let mut joined = false;
        loop {
            if let Some(&slot) = self.slot_of.get(&root) {
                if Some(slot) != top.map(|(s, _)| s) {
                    return Err(error(
                        slot,
                        spe,
                        format!(
                            "the finalized checkpoint block {} does not descend from the newest finalized block read before (it meets the chain read before at slot {slot})",
                            finalized.root
                        ),
                    ));
                }
                joined = true;
                break;
            }
            let facts = self.fetch_checked(root, fetch).await?;
            let bound = fresh.last().map_or(checkpoint_slot + 1, |child| child.slot);
            if facts.slot >= bound {
                return Err(error(
                    facts.slot,
                    spe,
                    format!(
                        "block {root} at slot {} is not older than its child (slot {bound})",
                        facts.slot
                    ),
                ));
            }
            let stop = facts.slot < first || facts.parent_root == Hash256::ZERO;
            root = facts.parent_root;
            fresh.push(facts);
            if stop {
                break;
            }
        }
        if !joined {
            let lowest = fresh.last().map_or(checkpoint_slot, |f| f.slot);
            if let Some((slot, _)) = self.links.range(lowest..).next() {
                return Err(error(
                    *slot,
                    spe,
                    format!(
                        "the finalized checkpoint block {} does not descend from the finalized block read before at slot {slot}",
                        finalized.root
                    ),
                ));
            }
            // Everything known is older than the walk: not needed for later epochs.
            self.links.clear();
            self.slot_of.clear();
            self.facts.clear();
        }
        for facts in &fresh {
            self.insert(facts, first, keep_until);
        }
        Ok(())
    }

    /// Walks down from the oldest known block until a block before `first` (or genesis).
    async fn extend_below<F, Fut>(
        &mut self,
        first: Slot,
        keep_until: Slot,
        fetch: &mut F,
    ) -> Result<()>
    where
        F: FnMut(Hash256) -> Fut,
        Fut: Future<Output = Result<Option<BlockFacts>>>,
    {
        loop {
            let Some((&slot, link)) = self.links.first_key_value() else {
                return Ok(());
            };
            if slot < first || link.parent == Hash256::ZERO {
                return Ok(());
            }
            let facts = self.fetch_checked(link.parent, fetch).await?;
            if facts.slot >= slot {
                return Err(error(
                    facts.slot,
                    self.slots_per_epoch,
                    format!(
                        "block {} at slot {} is not older than its child (slot {slot})",
                        facts.root, facts.slot
                    ),
                ));
            }
            self.insert(&facts, first, keep_until);
        }
    }

    /// Keeps the links from the newest block before `first` on, and the decoded blocks of
    /// `[first, keep_until]`.
    fn prune(&mut self, first: Slot, keep_until: Slot) {
        if let Some(&below) = self.links.range(..first).next_back().map(|(s, _)| s) {
            let kept = self.links.split_off(&below);
            for link in self.links.values() {
                self.slot_of.remove(&link.root);
            }
            self.links = kept;
        }
        self.facts = self.facts.split_off(&first);
        self.facts.retain(|slot, _| *slot <= keep_until);
    }
}

#[cfg(test)]
mod tests;
