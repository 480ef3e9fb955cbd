//! Property tests against an independent reference that keeps the full history and applies the
//! slashing rules directly (`process_proposer_slashing`, `is_slashable_attestation_data`):
//! - no false negatives: whatever the store permits is never slashable with respect to anything
//!   permitted or imported before;
//! - no needless refusals: a message strictly above everything seen is always permitted;
//! - safe export: a client importing the store's export with the *complete* strategy (EIP-3076
//!   conditions 1–5 over the exported records) never permits a message that is slashable with
//!   respect to the full history.
//!
//! Random sequences of single and batched checks, imports and prunes for a few validators run on
//! SQLite, and with fewer cases on PostgreSQL.

mod common;

use std::collections::HashMap;

use common::Backend;
use proptest::prelude::*;
use slashing_protection::{
    AttestationRequest, ExportScope, Interchange, InterchangeAttestation, InterchangeBlock,
    InterchangeData, InterchangeMetadata, PruneWindow, Safe, SlashingProtection,
};
use types::{Epoch, Hash256, PublicKeyBytes, Slot};

const VALIDATORS: u64 = 3;
const MAX_EPOCH: u64 = 14;
const MAX_SLOT: u64 = 30;

#[derive(Debug, Clone)]
enum Op {
    Block {
        v: u64,
        slot: u64,
        root: u64,
    },
    Attestations(Vec<(u64, u64, u64, u64)>),
    Import {
        v: u64,
        blocks: Vec<(u64, Option<u64>)>,
        attestations: Vec<(u64, u64, Option<u64>)>,
    },
    Prune {
        epochs: u64,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let v = 0..VALIDATORS;
    let root = 0..3u64;
    prop_oneof![
        4 => (v.clone(), 0..=MAX_SLOT, root.clone()).prop_map(|(v, slot, root)| Op::Block { v, slot, root }),
        8 => prop::collection::vec((0..VALIDATORS, 0..=MAX_EPOCH, 0..=MAX_EPOCH, root.clone()), 1..5)
            .prop_map(Op::Attestations),
        1 => (
            v,
            prop::collection::vec((0..=MAX_SLOT, prop::option::of(root.clone())), 0..3),
            prop::collection::vec((0..=MAX_EPOCH, 0..=MAX_EPOCH, prop::option::of(root)), 0..3),
        )
            .prop_map(|(v, blocks, attestations)| Op::Import { v, blocks, attestations }),
        1 => (0..4u64).prop_map(|epochs| Op::Prune { epochs }),
    ]
}

/// Roots are small ids; 0 is the "unknown" zero root.
fn root_of(id: u64) -> Hash256 {
    if id == 0 {
        Hash256::ZERO
    } else {
        common::root(id)
    }
}

/// Full history per validator: everything permitted or imported. `None` roots are unknown.
#[derive(Default, Clone)]
struct Reference {
    blocks: HashMap<u64, Vec<(u64, Option<Hash256>)>>,
    attestations: HashMap<u64, Vec<(u64, u64, Option<Hash256>)>>,
}

fn known(root: Hash256) -> Option<Hash256> {
    (!root.is_zero()).then_some(root)
}

/// Two blocks conflict when they share a slot and are not provably the same block.
fn blocks_conflict(a: (u64, Option<Hash256>), b: (u64, Option<Hash256>)) -> bool {
    a.0 == b.0 && !(a.1.is_some() && a.1 == b.1)
}

/// `is_slashable_attestation_data`, where identical data (same known root) is not a conflict.
fn attestations_conflict(a: (u64, u64, Option<Hash256>), b: (u64, u64, Option<Hash256>)) -> bool {
    let same = a.0 == b.0 && a.1 == b.1 && a.2.is_some() && a.2 == b.2;
    let double = a.1 == b.1 && !same;
    let surround = (a.0 < b.0 && b.1 < a.1) || (b.0 < a.0 && a.1 < b.1);
    double || surround
}

impl Reference {
    fn block_slashable(&self, v: u64, block: (u64, Option<Hash256>)) -> bool {
        self.blocks
            .get(&v)
            .is_some_and(|seen| seen.iter().any(|&b| blocks_conflict(block, b)))
    }

    fn attestation_slashable(&self, v: u64, att: (u64, u64, Option<Hash256>)) -> bool {
        self.attestations
            .get(&v)
            .is_some_and(|seen| seen.iter().any(|&a| attestations_conflict(att, a)))
    }

    fn block_above_all(&self, v: u64, slot: u64) -> bool {
        self.blocks
            .get(&v)
            .is_none_or(|seen| seen.iter().all(|b| slot > b.0))
    }

    fn attestation_above_all(&self, v: u64, source: u64, target: u64) -> bool {
        source <= target
            && self
                .attestations
                .get(&v)
                .is_none_or(|seen| seen.iter().all(|a| source >= a.0 && target > a.1))
    }
}

/// What a complete-strategy client would permit after importing `data` (EIP-3076 conditions).
fn complete_importer_permits_block(
    data: &InterchangeData,
    slot: u64,
    root: Option<Hash256>,
) -> bool {
    let repeat =
        |b: &InterchangeBlock| b.slot.as_u64() == slot && root.is_some() && b.signing_root == root;
    if data.signed_blocks.iter().any(repeat) {
        return true;
    }
    let min = data.signed_blocks.iter().map(|b| b.slot.as_u64()).min();
    if min.is_some_and(|min| slot <= min) {
        return false;
    }
    !data
        .signed_blocks
        .iter()
        .any(|b| blocks_conflict((slot, root), (b.slot.as_u64(), b.signing_root)))
}

fn complete_importer_permits_attestation(
    data: &InterchangeData,
    source: u64,
    target: u64,
    root: Option<Hash256>,
) -> bool {
    let records: Vec<(u64, u64, Option<Hash256>)> = data
        .signed_attestations
        .iter()
        .map(|a: &InterchangeAttestation| {
            (
                a.source_epoch.as_u64(),
                a.target_epoch.as_u64(),
                a.signing_root,
            )
        })
        .collect();
    if records
        .iter()
        .any(|&(s, t, r)| s == source && t == target && root.is_some() && r == root)
    {
        return true;
    }
    if source > target {
        return false;
    }
    if records
        .iter()
        .map(|a| a.0)
        .min()
        .is_some_and(|min| source < min)
    {
        return false;
    }
    if records
        .iter()
        .map(|a| a.1)
        .min()
        .is_some_and(|min| target <= min)
    {
        return false;
    }
    !records
        .iter()
        .any(|&a| attestations_conflict((source, target, root), a))
}

async fn run_case(store: &dyn SlashingProtection, ops: &[Op]) -> Result<(), TestCaseError> {
    let keys: Vec<PublicKeyBytes> = (0..VALIDATORS).map(common::pubkey).collect();
    // The last validator stays unregistered until an import names it.
    store
        .register_validators(&keys[..2])
        .await
        .expect("register");
    let mut registered = [true, true, false];
    let mut reference = Reference::default();
    for op in ops {
        match op {
            Op::Block { v, slot, root } => {
                let (v, slot, root) = (*v, *slot, root_of(*root));
                let result = store
                    .check_and_insert_block(keys[v as usize], Slot(slot), root)
                    .await
                    .expect("block check");
                if result.is_ok() {
                    prop_assert!(registered[v as usize], "unregistered key signed");
                    prop_assert!(
                        !reference.block_slashable(v, (slot, known(root))),
                        "permitted a slashable block {slot} for {v}: {result:?}"
                    );
                } else {
                    prop_assert!(
                        !(registered[v as usize] && reference.block_above_all(v, slot)),
                        "refused a block above everything: slot {slot} for {v}: {result:?}"
                    );
                }
                if result == Ok(Safe::Valid) {
                    reference
                        .blocks
                        .entry(v)
                        .or_default()
                        .push((slot, known(root)));
                }
            }
            Op::Attestations(batch) => {
                let requests: Vec<AttestationRequest> = batch
                    .iter()
                    .map(|&(v, source, target, root)| AttestationRequest {
                        pubkey: keys[v as usize],
                        source: Epoch(source),
                        target: Epoch(target),
                        signing_root: root_of(root),
                    })
                    .collect();
                let results = store
                    .check_and_insert_attestations(&requests)
                    .await
                    .expect("attestation batch");
                prop_assert_eq!(results.len(), batch.len());
                for (&(v, source, target, root), result) in batch.iter().zip(&results) {
                    let att = (source, target, known(root_of(root)));
                    if result.is_ok() {
                        prop_assert!(registered[v as usize], "unregistered key signed");
                        prop_assert!(
                            !reference.attestation_slashable(v, att),
                            "permitted a slashable attestation {att:?} for {v}: {result:?}"
                        );
                    } else {
                        prop_assert!(
                            !(registered[v as usize]
                                && reference.attestation_above_all(v, source, target)),
                            "refused an attestation above everything: {att:?} for {v}: {result:?}"
                        );
                    }
                    if *result == Ok(Safe::Valid) {
                        reference.attestations.entry(v).or_default().push(att);
                    }
                }
            }
            Op::Import {
                v,
                blocks,
                attestations,
            } => {
                let data = InterchangeData {
                    pubkey: keys[*v as usize],
                    signed_blocks: blocks
                        .iter()
                        .map(|&(slot, root)| InterchangeBlock {
                            slot: Slot(slot),
                            signing_root: root.map(root_of).and_then(known),
                        })
                        .collect(),
                    signed_attestations: attestations
                        .iter()
                        .map(|&(s, t, root)| InterchangeAttestation {
                            source_epoch: Epoch(s),
                            target_epoch: Epoch(t),
                            signing_root: root.map(root_of).and_then(known),
                        })
                        .collect(),
                };
                for b in &data.signed_blocks {
                    reference
                        .blocks
                        .entry(*v)
                        .or_default()
                        .push((b.slot.as_u64(), b.signing_root));
                }
                for a in &data.signed_attestations {
                    reference.attestations.entry(*v).or_default().push((
                        a.source_epoch.as_u64(),
                        a.target_epoch.as_u64(),
                        a.signing_root,
                    ));
                }
                let interchange = Interchange {
                    metadata: InterchangeMetadata {
                        interchange_format_version: 5,
                        genesis_validators_root: store.genesis_validators_root(),
                    },
                    data: vec![data],
                };
                store
                    .import_interchange(&interchange)
                    .await
                    .expect("import");
                registered[*v as usize] = true;
            }
            Op::Prune { epochs } => {
                store
                    .prune(PruneWindow {
                        epochs: *epochs,
                        slots_per_epoch: 2,
                    })
                    .await
                    .expect("prune");
            }
        }
    }

    // Export safety against a complete-strategy importer, on a grid around the history.
    let export = store
        .export_interchange(ExportScope::All)
        .await
        .expect("export");
    for data in &export.data {
        let v = keys
            .iter()
            .position(|k| *k == data.pubkey)
            .expect("known key") as u64;
        let roots: Vec<Option<Hash256>> = (0..3).map(|r| known(root_of(r))).collect();
        for slot in 0..=MAX_SLOT + 2 {
            for &root in &roots {
                if complete_importer_permits_block(data, slot, root) {
                    prop_assert!(
                        !reference.block_slashable(v, (slot, root)),
                        "export lets an importer sign slashable block {slot} for {v}: {data:?}"
                    );
                }
            }
        }
        for source in 0..=MAX_EPOCH + 1 {
            for target in source..=MAX_EPOCH + 2 {
                for &root in &roots {
                    if complete_importer_permits_attestation(data, source, target, root) {
                        prop_assert!(
                            !reference.attestation_slashable(v, (source, target, root)),
                            "export lets an importer sign slashable attestation ({source}, \
                             {target}) for {v}: {data:?}"
                        );
                    }
                }
            }
        }
    }
    Ok(())
}

fn run(backend: Backend, cases: u32) {
    if backend == Backend::Postgres && common::database_url("property test on PostgreSQL").is_none()
    {
        return;
    }
    let runtime = common::runtime();
    let config = ProptestConfig {
        cases,
        ..ProptestConfig::default()
    };
    proptest!(config, |(ops in prop::collection::vec(op(), 1..40))| {
        runtime.block_on(async {
            let fresh = common::fresh(backend, Hash256::repeat_byte(0x42), "properties")
                .await
                .expect("store");
            run_case(fresh.store(), &ops).await
        })?;
    });
}

#[test]
fn sqlite_store_never_permits_slashable_messages() {
    run(Backend::Sqlite, 96);
}

#[test]
fn postgres_store_never_permits_slashable_messages() {
    run(Backend::Postgres, 16);
}

#[test]
fn reference_rules_detect_conflicts() {
    // The reference itself must be able to say "slashable", or the properties prove nothing.
    let r = Some(common::root(1));
    assert!(attestations_conflict((1, 4, r), (2, 3, r)));
    assert!(attestations_conflict((2, 3, r), (1, 4, r)));
    assert!(attestations_conflict((2, 3, r), (1, 3, r)));
    assert!(attestations_conflict((2, 3, None), (2, 3, None)));
    assert!(!attestations_conflict((2, 3, r), (2, 3, r)));
    assert!(!attestations_conflict((2, 3, r), (3, 4, r)));
    assert!(blocks_conflict((5, r), (5, None)));
    assert!(!blocks_conflict((5, r), (5, r)));
    assert!(!blocks_conflict((5, r), (6, r)));
}
