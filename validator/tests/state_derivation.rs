//! The answers accounting derives from a whole state (`validator::accounting::StateView`) equal
//! the standard endpoints' answers for the same state, on responses recorded from Lodestar
//! 1.5.1 (`tests/fixtures/lodestar-state`, see its README).

use std::path::PathBuf;

use pool_registry::ledger::{Committee, ProposerDuty, ValidatorEntry};
use serde_json::Value;
use types::{Epoch, ForkName, MinimalEthSpec as E, PublicKeyBytes};
use validator::accounting::StateView;
use validator::services::chain::normalize_committees;

const EPOCH: Epoch = Epoch(13);

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/lodestar-state")
        .join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn state() -> StateView {
    serde_json::from_value(fixture("debug_state.json")["data"].clone()).expect("debug state")
}

#[test]
fn validators_match_the_state_endpoint() {
    let state = state();
    let standard: Vec<ValidatorEntry> =
        serde_json::from_value(fixture("validators.json")["data"].clone()).expect("validators");
    assert_eq!(standard.len(), 64);
    let keys: Vec<PublicKeyBytes> = standard.iter().map(|v| v.validator.pubkey).collect();
    assert_eq!(state.validators::<E>(&keys).expect("derived"), standard);
    // A subset is answered in index order, as the endpoint does for `?id=`.
    let some = [keys[40], keys[3]];
    let derived = state.validators::<E>(&some).expect("derived");
    assert_eq!(derived, vec![standard[3].clone(), standard[40].clone()]);
}

#[test]
fn committees_match_the_committees_endpoint() {
    let state = state();
    let standard: Vec<types::api::Committee> =
        serde_json::from_value(fixture("committees.json")["data"].clone()).expect("committees");
    let mut standard: Vec<Committee> = normalize_committees(EPOCH, 8, standard)
        .into_iter()
        .map(|c| Committee {
            index: c.index,
            slot: c.slot,
            validators: c.validators,
        })
        .collect();
    standard.sort_by_key(|c| (c.slot, c.index));
    let derived = state.committees::<E>(EPOCH).expect("derived");
    assert_eq!(derived.len(), 8 * 2, "64 validators: 2 committees per slot");
    assert_eq!(derived, standard);
}

#[test]
fn sync_committee_matches_the_sync_committees_endpoint() {
    let state = state();
    let standard: Vec<u64> = fixture("sync_committees.json")["data"]["validators"]
        .as_array()
        .expect("members")
        .iter()
        .map(|v| v.as_str().expect("quoted").parse().expect("index"))
        .collect();
    let derived = state.sync_committee::<E>().expect("derived");
    assert_eq!(derived.validators, standard);
    assert_eq!(derived.validator_aggregates.len(), 4);
}

#[test]
fn proposers_match_the_duties_endpoint() {
    let state = state();
    let standard: Vec<ProposerDuty> =
        serde_json::from_value(fixture("proposer_duties.json")["data"].clone()).expect("duties");
    assert_eq!(standard.len(), 8);
    let derived = state
        .proposer_duties::<E>(EPOCH, ForkName::Capella)
        .expect("derived");
    assert_eq!(derived, standard);
}
