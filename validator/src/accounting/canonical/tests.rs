use std::cell::RefCell;
use std::collections::HashMap;

use pool_registry::ledger::BlockFacts;
use types::{Checkpoint, Epoch, Hash256, Slot};

use super::CanonicalChain;
use crate::accounting::Result;

const SPE: u64 = 8;

fn root(slot: u64, fork: u8) -> Hash256 {
    let mut bytes = [fork; 32];
    bytes[..8].copy_from_slice(&slot.to_le_bytes());
    Hash256::from(bytes)
}

fn facts(slot: u64, root: Hash256, parent: Hash256) -> BlockFacts {
    BlockFacts {
        slot: Slot(slot),
        proposer_index: slot % 16,
        root,
        parent_root: parent,
        fee_recipient: None,
        attestations: Vec::new(),
        deposits: Vec::new(),
        deposit_requests: Vec::new(),
        withdrawals: Vec::new(),
        sync_committee_bits: Vec::new(),
    }
}

/// A node's blocks by root: the canonical chain from genesis to `head` without the `skipped`
/// slots, plus an orphaned block at each skipped slot (built on the canonical block before
/// it, so a node asked "the block at that slot" may well answer it).
struct Node {
    blocks: HashMap<Hash256, BlockFacts>,
    canonical: Vec<u64>,
    fetched: RefCell<Vec<Hash256>>,
}

impl Node {
    fn new(head: u64, skipped: &[u64]) -> Self {
        let mut blocks = HashMap::new();
        let mut canonical = vec![0];
        let mut parent = root(0, 0);
        blocks.insert(parent, facts(0, parent, Hash256::ZERO));
        for slot in 8..=head {
            if skipped.contains(&slot) {
                let orphan = root(slot, 0xee);
                blocks.insert(orphan, facts(slot, orphan, parent));
                continue;
            }
            let r = root(slot, 0);
            blocks.insert(r, facts(slot, r, parent));
            canonical.push(slot);
            parent = r;
        }
        Self {
            blocks,
            canonical,
            fetched: RefCell::new(Vec::new()),
        }
    }

    fn fetch(&self, root: Hash256) -> std::future::Ready<Result<Option<BlockFacts>>> {
        self.fetched.borrow_mut().push(root);
        std::future::ready(Ok(self.blocks.get(&root).cloned()))
    }

    fn fetches(&self) -> usize {
        self.fetched.borrow_mut().drain(..).count()
    }

    /// The checkpoint of `epoch`: the latest canonical block at or before its first slot.
    fn checkpoint(&self, epoch: u64) -> Checkpoint {
        let slot = self
            .canonical
            .iter()
            .copied()
            .filter(|s| *s <= epoch * SPE)
            .max()
            .unwrap();
        Checkpoint {
            epoch: Epoch(epoch),
            root: root(slot, 0),
        }
    }
}

fn slots(blocks: &[BlockFacts]) -> Vec<u64> {
    blocks.iter().map(|b| b.slot.as_u64()).collect()
}

#[tokio::test]
async fn canonical_blocks_come_from_parent_roots_never_from_orphans() {
    let node = Node::new(48, &[19, 31]);
    let mut chain = CanonicalChain::new(SPE);
    // Epoch 2 (slots 16..=31 with epoch 3) once epoch 4 is the finalized checkpoint.
    let blocks = chain
        .blocks(Slot(16), Slot(31), node.checkpoint(4), |r| node.fetch(r))
        .await
        .unwrap();
    let expected: Vec<u64> = (16..=31).filter(|s| ![19, 31].contains(s)).collect();
    assert_eq!(slots(&blocks), expected);
    assert!(blocks.windows(2).all(|w| w[1].parent_root == w[0].root));
    let orphans = [root(19, 0xee), root(31, 0xee)];
    assert!(
        node.fetched.borrow().iter().all(|r| !orphans.contains(r)),
        "orphaned blocks are never read"
    );
}

#[tokio::test]
async fn a_node_answering_another_block_is_refused() {
    let mut node = Node::new(40, &[]);
    // Asked for the block of slot 30, the node answers another block.
    let wanted = root(30, 0);
    let other = root(30, 0x77);
    node.blocks.insert(wanted, facts(30, other, root(29, 0)));
    let mut chain = CanonicalChain::new(SPE);
    let error = chain
        .blocks(Slot(16), Slot(31), node.checkpoint(4), |r| node.fetch(r))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("answered block"), "{error}");
}

#[tokio::test]
async fn later_epochs_read_only_the_newly_finalized_blocks() {
    let node = Node::new(80, &[]);
    let mut chain = CanonicalChain::new(SPE);
    chain
        .blocks(Slot(16), Slot(31), node.checkpoint(4), |r| node.fetch(r))
        .await
        .unwrap();
    // From the checkpoint (slot 32) down to slot 15.
    assert_eq!(node.fetches(), 18);
    let blocks = chain
        .blocks(Slot(24), Slot(39), node.checkpoint(5), |r| node.fetch(r))
        .await
        .unwrap();
    assert_eq!(slots(&blocks), (24..=39).collect::<Vec<_>>());
    // Slots 33..=40 only: everything else was read before.
    assert_eq!(node.fetches(), 8);
    // The same checkpoint again: nothing to read.
    chain
        .blocks(Slot(24), Slot(39), node.checkpoint(5), |r| node.fetch(r))
        .await
        .unwrap();
    assert_eq!(node.fetches(), 0);
}

#[tokio::test]
async fn catching_up_walks_once_and_reads_far_blocks_again_by_root() {
    let node = Node::new(200, &[50]);
    let mut chain = CanonicalChain::new(SPE);
    let mut fetched = 0;
    for epoch in 1..=20u64 {
        let (first, last) = (Slot(epoch * SPE), Slot((epoch + 2) * SPE - 1));
        let blocks = chain
            .blocks(first, last, node.checkpoint(25), |r| node.fetch(r))
            .await
            .unwrap();
        let expected: Vec<u64> = (first.as_u64()..=last.as_u64())
            .filter(|s| *s != 50)
            .collect();
        assert_eq!(slots(&blocks), expected, "epoch {epoch}");
        fetched += node.fetches();
    }
    // One walk over slots 0..=200 (the orphan excluded); blocks beyond the kept range were
    // read a second time when their epochs came.
    assert!(fetched > 200 && fetched < 2 * 200, "{fetched}");
}

#[tokio::test]
async fn a_checkpoint_off_the_chain_read_before_is_an_error() {
    let node = Node::new(48, &[]);
    let mut chain = CanonicalChain::new(SPE);
    chain
        .blocks(Slot(16), Slot(31), node.checkpoint(4), |r| node.fetch(r))
        .await
        .unwrap();
    // Another node's "finalized" chain forks at slot 20.
    let mut other = Node::new(48, &[]);
    let mut parent = root(20, 0);
    for slot in 21..=40 {
        let r = root(slot, 0x55);
        other.blocks.insert(r, facts(slot, r, parent));
        parent = r;
    }
    let checkpoint = Checkpoint {
        epoch: Epoch(5),
        root: parent,
    };
    let error = chain
        .blocks(Slot(24), Slot(39), checkpoint, |r| other.fetch(r))
        .await
        .unwrap_err();
    assert!(error.to_string().contains("does not descend"), "{error}");
}

#[tokio::test]
async fn slots_at_or_after_the_checkpoint_are_refused() {
    let node = Node::new(48, &[]);
    let mut chain = CanonicalChain::new(SPE);
    let error = chain
        .blocks(Slot(16), Slot(32), node.checkpoint(4), |r| node.fetch(r))
        .await
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not before the finalized checkpoint"),
        "{error}"
    );
}
