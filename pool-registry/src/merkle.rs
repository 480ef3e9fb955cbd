//! OpenZeppelin `StandardMerkleTree` over `(uint256 operatorId, uint256 cumulativeWei)`.
//!
//! Construction (identical to `@openzeppelin/merkle-tree` 1.0.8 with default options):
//! - leaf = `keccak256(keccak256(abi.encode(id, cumulative)))`, `abi.encode` of two uint256
//!   being their two 32-byte big-endian words;
//! - leaves sorted ascending by their bytes;
//! - the tree is an array of `2n − 1` nodes: sorted leaf `i` at index `2n − 2 − i`, internal node
//!   `i` = `hash_pair(tree[2i+1], tree[2i+2])` for `i` from `n − 2` down to 0; root = `tree[0]`;
//! - `hash_pair(a, b) = keccak256(min(a, b) ‖ max(a, b))` (sorted pair, as `MerkleProof.sol`);
//! - the proof of the leaf at index `j` lists the sibling of `j`, then of its parent, … up to
//!   the root (excluded).
//!
//! Solidity verifies with `MerkleProof.verify(proof, root, leaf)`.

use alloy_primitives::keccak256;
use types::{Hash256, U256};

use crate::error::{Error, Result};

/// `keccak256(keccak256(abi.encode(id, cumulative)))`.
pub fn leaf_hash(id: U256, cumulative: U256) -> Hash256 {
    let mut encoded = [0u8; 64];
    encoded[..32].copy_from_slice(&id.to_be_bytes::<32>());
    encoded[32..].copy_from_slice(&cumulative.to_be_bytes::<32>());
    keccak256(keccak256(encoded))
}

/// The sorted-pair node hash.
pub fn hash_pair(a: &Hash256, b: &Hash256) -> Hash256 {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(lo.as_slice());
    buf[32..].copy_from_slice(hi.as_slice());
    keccak256(buf)
}

/// A built tree with the position of every value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MerkleTree {
    tree: Vec<Hash256>,
    /// `(id, cumulative, tree index)` in input order.
    values: Vec<(U256, U256, usize)>,
}

impl MerkleTree {
    /// Builds the tree of `values` (`(id, cumulative)`); at least one value, ids unique.
    pub fn build(values: &[(U256, U256)]) -> Result<Self> {
        if values.is_empty() {
            return Err(Error::Merkle("a tree needs at least one leaf".to_owned()));
        }
        let mut ids: Vec<U256> = values.iter().map(|v| v.0).collect();
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[0] == w[1]) {
            return Err(Error::Merkle(format!("operator id {} appears twice", w[0])));
        }
        let mut leaves: Vec<(Hash256, usize)> = values
            .iter()
            .enumerate()
            .map(|(i, (id, cum))| (leaf_hash(*id, *cum), i))
            .collect();
        leaves.sort_unstable();
        let n = leaves.len();
        let mut tree = vec![Hash256::ZERO; 2 * n - 1];
        let mut positions = vec![0usize; n];
        for (sorted_index, (hash, value_index)) in leaves.iter().enumerate() {
            let at = tree.len() - 1 - sorted_index;
            tree[at] = *hash;
            positions[*value_index] = at;
        }
        for i in (0..n - 1).rev() {
            tree[i] = hash_pair(&tree[2 * i + 1], &tree[2 * i + 2]);
        }
        Ok(Self {
            tree,
            values: values
                .iter()
                .zip(positions)
                .map(|((id, cum), at)| (*id, *cum, at))
                .collect(),
        })
    }

    /// The root.
    pub fn root(&self) -> Hash256 {
        self.tree[0]
    }

    /// Every node, root first (OpenZeppelin's `dump().tree`).
    pub fn nodes(&self) -> &[Hash256] {
        &self.tree
    }

    /// The proof for the value with operator id `id`.
    pub fn proof(&self, id: U256) -> Result<Vec<Hash256>> {
        let (_, _, mut at) = self
            .values
            .iter()
            .find(|v| v.0 == id)
            .copied()
            .ok_or_else(|| Error::Merkle(format!("no leaf for operator id {id}")))?;
        let mut proof = Vec::new();
        while at > 0 {
            let sibling = if at % 2 == 1 { at + 1 } else { at - 1 };
            proof.push(self.tree[sibling]);
            at = (at - 1) / 2;
        }
        Ok(proof)
    }
}

/// Whether `proof` proves `(id, cumulative)` under `root` (`MerkleProof.verify`).
pub fn verify_proof(root: Hash256, id: U256, cumulative: U256, proof: &[Hash256]) -> bool {
    proof
        .iter()
        .fold(leaf_hash(id, cumulative), |acc, sibling| {
            hash_pair(&acc, sibling)
        })
        == root
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_leaf_tree_is_its_leaf() {
        let tree = MerkleTree::build(&[(U256::from(1), U256::ZERO)]).unwrap();
        assert_eq!(tree.root(), leaf_hash(U256::from(1), U256::ZERO));
        assert!(tree.proof(U256::from(1)).unwrap().is_empty());
    }

    #[test]
    fn every_proof_verifies_and_tampering_fails() {
        let values: Vec<(U256, U256)> = (0..9u64)
            .map(|i| (U256::from(i + 1), U256::from(i * 1_000_000_007)))
            .collect();
        let tree = MerkleTree::build(&values).unwrap();
        for (id, cum) in &values {
            let proof = tree.proof(*id).unwrap();
            assert!(verify_proof(tree.root(), *id, *cum, &proof));
            assert!(!verify_proof(
                tree.root(),
                *id,
                *cum + U256::from(1),
                &proof
            ));
        }
    }

    #[test]
    fn rejects_empty_and_duplicate_ids() {
        assert!(MerkleTree::build(&[]).is_err());
        assert!(
            MerkleTree::build(&[(U256::from(1), U256::ZERO), (U256::from(1), U256::from(2))])
                .is_err()
        );
    }
}
