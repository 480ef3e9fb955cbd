//! Compatibility with OpenZeppelin's `StandardMerkleTree` (`@openzeppelin/merkle-tree` 1.0.8):
//! `fixtures/oz_merkle/oz_merkle.json` was produced by the real library with
//! `fixtures/oz_merkle/generate.js`; every root, node, leaf hash and proof must match.

use pool_registry::merkle::{MerkleTree, leaf_hash, verify_proof};
use serde::Deserialize;
use types::{Hash256, U256};

#[derive(Deserialize)]
struct Fixture {
    library: String,
    leaf_encoding: Vec<String>,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    size: usize,
    values: Vec<[String; 2]>,
    root: Hash256,
    tree: Vec<Hash256>,
    leaves: Vec<Leaf>,
}

#[derive(Deserialize)]
struct Leaf {
    value: [String; 2],
    value_index: usize,
    proof: Vec<Hash256>,
    leaf_hash: Hash256,
}

fn u(s: &str) -> U256 {
    U256::from_str_radix(s, 10).unwrap()
}

#[test]
fn matches_openzeppelin_standard_merkle_tree() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/oz_merkle/oz_merkle.json"
    );
    let fixture: Fixture = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(fixture.library, "@openzeppelin/merkle-tree 1.0.8");
    assert_eq!(fixture.leaf_encoding, ["uint256", "uint256"]);
    let sizes: Vec<usize> = fixture.cases.iter().map(|c| c.size).collect();
    assert_eq!(
        sizes,
        [1, 2, 3, 4, 5, 7, 8, 16, 33, 100],
        "the fixture lost cases"
    );
    for case in &fixture.cases {
        let values: Vec<(U256, U256)> = case.values.iter().map(|[a, b]| (u(a), u(b))).collect();
        assert_eq!(values.len(), case.size);
        let tree = MerkleTree::build(&values).unwrap();
        assert_eq!(
            tree.root(),
            case.root,
            "root of the {}-leaf tree",
            case.size
        );
        assert_eq!(
            tree.nodes(),
            case.tree.as_slice(),
            "nodes of the {}-leaf tree",
            case.size
        );
        assert_eq!(case.leaves.len(), case.size);
        for leaf in &case.leaves {
            let (id, cumulative) = (u(&leaf.value[0]), u(&leaf.value[1]));
            assert_eq!(values[leaf.value_index], (id, cumulative));
            assert_eq!(
                leaf_hash(id, cumulative),
                leaf.leaf_hash,
                "leaf hash of id {id}"
            );
            assert_eq!(
                tree.proof(id).unwrap(),
                leaf.proof,
                "proof of id {id} in the {}-leaf tree",
                case.size
            );
            assert!(verify_proof(case.root, id, cumulative, &leaf.proof));
            if case.size > 1 {
                assert!(!verify_proof(
                    case.root,
                    id,
                    cumulative + U256::from(1u64),
                    &leaf.proof
                ));
            }
        }
    }
}
