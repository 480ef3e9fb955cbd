use serde_json::json;
use types::{ForkName, MinimalEthSpec};

use super::*;
use crate::message::BlockBody;

type E = MinimalEthSpec;

fn fork_info() -> Value {
    json!({
        "fork": {"previous_version": "0x00000001", "current_version": "0x00000001", "epoch": "1"},
        "genesis_validators_root": format!("0x{}", "04".repeat(32)),
    })
}

fn parse(value: Value) -> Result<SignRequest<E>, BadRequest> {
    SignRequest::<E>::from_value(value)
}

#[test]
fn camel_case_keys_are_read_as_snake_case() {
    assert_eq!(snake_case("signingRoot").as_deref(), Some("signing_root"));
    assert_eq!(snake_case("eth1Data").as_deref(), Some("eth1_data"));
    assert_eq!(snake_case("fork_info"), None);
    assert_eq!(snake_case("TYPE"), None);
    let request = parse(json!({
        "type": "AGGREGATION_SLOT",
        "signingRoot": format!("0x{}", "11".repeat(32)),
        "fork_info": {
            "fork": {"previousVersion": "0x00000001", "currentVersion": "0x00000001", "epoch": "1"},
            "genesisValidatorsRoot": format!("0x{}", "04".repeat(32)),
        },
        "aggregation_slot": {"slot": "119"},
    }))
    .unwrap();
    assert_eq!(request.signing_root, Some(Hash256::repeat_byte(0x11)));
    assert_eq!(request.message, Message::AggregationSlot(Slot(119)));
    let twice = parse(json!({
        "type": "AGGREGATION_SLOT",
        "signingRoot": format!("0x{}", "11".repeat(32)),
        "signing_root": format!("0x{}", "11".repeat(32)),
        "fork_info": fork_info(),
        "aggregation_slot": {"slot": "119"},
    }))
    .unwrap_err();
    assert!(twice.0.contains("twice"), "{twice}");
}

#[test]
fn refusals_name_what_is_wrong() {
    let cases = [
        (json!([]), "JSON object"),
        (json!({"fork_info": fork_info()}), "`type` is missing"),
        (json!({"type": 3}), "`type` must be a string"),
        (json!({"type": "BLS_TO_EXECUTION_CHANGE"}), "unknown `type`"),
        (
            json!({"type": "ATTESTATION", "attestation": {}}),
            "`fork_info` is required for type ATTESTATION",
        ),
        (
            json!({"type": "ATTESTATION", "fork_info": fork_info()}),
            "`attestation` is required",
        ),
        (
            json!({"type": "RANDAO_REVEAL", "fork_info": fork_info(), "randao_reveal": {"epoch": "x"}}),
            "`randao_reveal.epoch`",
        ),
        (
            json!({"type": "BLOCK_V2", "fork_info": fork_info(), "beacon_block": {"version": "PHASE1", "block_header": {}}}),
            "`beacon_block.version` \"PHASE1\" is not a fork",
        ),
        (
            json!({"type": "BLOCK_V2", "fork_info": fork_info(), "beacon_block": {"version": "DENEB"}}),
            "needs `block`",
        ),
        (
            json!({"type": "DEPOSIT", "deposit": {"pubkey": "0x00"}}),
            "invalid `deposit",
        ),
    ];
    for (value, expected) in cases {
        let error = parse(value.clone()).unwrap_err();
        assert!(error.0.contains(expected), "{value}: {error}");
    }
}

#[test]
fn identifiers() {
    let key = format!("0x{}", "ab".repeat(48));
    assert_eq!(
        parse_identifier(&key).unwrap(),
        PublicKeyBytes::from([0xab; 48])
    );
    assert_eq!(
        parse_identifier(&key.to_uppercase().replacen("0X", "0x", 1)).unwrap(),
        PublicKeyBytes::from([0xab; 48])
    );
    assert!(parse_identifier("0x1234").is_err());
    let long = "z".repeat(500);
    let error = parse_identifier(&long).unwrap_err();
    assert!(error.0.len() < 200, "the echo is shortened: {error}");
}

#[test]
fn header_only_and_whole_blocks() {
    let header = json!({
        "slot": "9",
        "proposer_index": "3",
        "parent_root": format!("0x{}", "01".repeat(32)),
        "state_root": format!("0x{}", "02".repeat(32)),
        "body_root": format!("0x{}", "03".repeat(32)),
    });
    let request = parse(json!({
        "type": "BLOCK_V2",
        "fork_info": fork_info(),
        "beacon_block": {"version": "deneb", "block_header": header},
    }))
    .unwrap();
    let Message::Block(block) = request.message else {
        panic!("a block")
    };
    assert_eq!(block.declared_fork, ForkName::Deneb);
    assert_eq!(block.header.slot, Slot(9));
    assert_eq!(block.body, BlockBody::HeaderOnly);
    assert_eq!(block.fee_recipient(), None);

    let both = parse(json!({
        "type": "BLOCK_V2",
        "fork_info": fork_info(),
        "beacon_block": {"version": "DENEB", "block_header": header, "block": {}},
    }))
    .unwrap_err();
    assert!(both.0.contains("both"), "{both}");
}
