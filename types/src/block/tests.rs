//! Unit tests of the block enums: round trips per fork, blinded/full root equality, wrong-fork
//! and malformed input errors, block contents limits.

use serde_json::json;
use ssz_types::VariableList;

use super::*;
use crate::containers::{ExecutionPayloadDeneb, Withdrawal};
use crate::error::Error;
use crate::eth_spec::MinimalEthSpec;
use crate::primitives::{Address, KzgProof, U256};

type E = MinimalEthSpec;

fn default_block(fork: ForkName) -> BeaconBlock<E> {
    let mut block = match fork {
        ForkName::Phase0 => BeaconBlock::Phase0(Default::default()),
        ForkName::Altair => BeaconBlock::Altair(Default::default()),
        ForkName::Bellatrix => BeaconBlock::Bellatrix(Default::default()),
        ForkName::Capella => BeaconBlock::Capella(Default::default()),
        ForkName::Deneb => BeaconBlock::Deneb(Default::default()),
        ForkName::Electra => BeaconBlock::Electra(Default::default()),
        ForkName::Fulu => BeaconBlock::Fulu(Default::default()),
    };
    map_fork!(BeaconBlock, &mut block, b => {
        b.slot = Slot(17);
        b.proposer_index = 3;
        b.parent_root = Hash256::repeat_byte(1);
    });
    block
}

fn sample_payload() -> ExecutionPayloadDeneb<E> {
    ExecutionPayloadDeneb {
        fee_recipient: Address::repeat_byte(0xfe),
        gas_limit: 36_000_000,
        base_fee_per_gas: U256::from(7u64),
        extra_data: VariableList::new(b"poolvc".to_vec()).unwrap(),
        transactions: VariableList::new(vec![
            VariableList::new(vec![0x02, 0xf8, 0x01]).unwrap(),
            VariableList::new(vec![0xaa; 40]).unwrap(),
        ])
        .unwrap(),
        withdrawals: VariableList::new(vec![Withdrawal {
            index: 9,
            validator_index: 4,
            address: Address::repeat_byte(0x11),
            amount: 1_000,
        }])
        .unwrap(),
        blob_gas_used: 131_072,
        ..Default::default()
    }
}

#[test]
fn every_fork_round_trips_through_ssz_and_json() {
    for fork in ForkName::ALL {
        let block = default_block(fork);
        assert_eq!(block.fork_name(), fork);
        let bytes = block.as_ssz_bytes();
        let decoded = BeaconBlock::<E>::from_ssz_bytes(&bytes, fork).unwrap();
        assert_eq!(decoded, block, "{fork}");
        let json = serde_json::to_value(&block).unwrap();
        assert_eq!(json["slot"], json!("17"), "{fork}: integers are quoted");
        let decoded = BeaconBlock::<E>::from_json_value(fork, json).unwrap();
        assert_eq!(decoded, block, "{fork}");
        assert_eq!(
            decoded.tree_hash_root(),
            block.block_header().tree_hash_root()
        );
    }
}

#[test]
fn blinded_block_has_the_full_block_root() {
    let mut full = BeaconBlockDeneb::<E>::default();
    full.body.execution_payload = sample_payload();
    let mut blinded = BlindedBeaconBlockDeneb::<E>::default();
    blinded.body.execution_payload_header = full.body.execution_payload.to_header();
    let full = BeaconBlock::Deneb(full);
    let blinded = BlindedBeaconBlock::Deneb(blinded);
    assert_eq!(full.tree_hash_root(), blinded.tree_hash_root());
    assert_eq!(full.body_root(), blinded.body_root());
    assert_eq!(full.fee_recipient(), Some(Address::repeat_byte(0xfe)));
    assert_eq!(blinded.fee_recipient(), Some(Address::repeat_byte(0xfe)));
    assert_eq!(blinded.execution_gas_limit(), Some(36_000_000));
    assert_ne!(
        full.tree_hash_root(),
        BeaconBlock::<E>::Deneb(Default::default()).tree_hash_root()
    );
    assert_eq!(default_block(ForkName::Altair).fee_recipient(), None);
}

#[test]
fn signing_keeps_roots_and_fork() {
    let signature = SignatureBytes::repeat_byte(0x99);
    for fork in ForkName::ALL {
        let block = default_block(fork);
        let root = block.tree_hash_root();
        let signed = block.clone().into_signed(signature);
        assert_eq!(signed.fork_name(), fork);
        assert_eq!(signed.block_root(), root);
        assert_eq!(signed.signature(), signature);
        assert_eq!(signed.signed_block_header().message.tree_hash_root(), root);
        assert_eq!(signed.slot(), Slot(17));
        assert_eq!(signed.message(), block);
        let bytes = signed.as_ssz_bytes();
        assert_eq!(
            SignedBeaconBlock::<E>::from_ssz_bytes(&bytes, fork).unwrap(),
            signed
        );
        assert_eq!(signed.into_parts(), (block, signature));
    }
}

#[test]
fn wrong_fork_json_is_rejected_with_the_offending_field() {
    let mut block = BeaconBlockDeneb::<E>::default();
    block.body.execution_payload = sample_payload();
    let json = serde_json::to_value(&block).unwrap();
    let err = BeaconBlock::<E>::from_json_value(ForkName::Capella, json.clone()).unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(
            err,
            Error::Json {
                fork: Some(ForkName::Capella),
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("blob_kzg_commitments") || text.contains("blob_gas_used"),
        "{text}"
    );
    let err = BeaconBlock::<E>::from_json_value(ForkName::Electra, json).unwrap_err();
    assert!(err.to_string().contains("execution_requests"), "{err}");
}

#[test]
fn malformed_json_names_path_and_value() {
    let mut json = serde_json::to_value(default_block(ForkName::Deneb)).unwrap();
    json["body"]["execution_payload"]["gas_limit"] = json!("12x");
    let err = BeaconBlock::<E>::from_json_value(ForkName::Deneb, json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("body.execution_payload.gas_limit"), "{err}");
    assert!(err.contains("12x"), "{err}");

    let mut json = serde_json::to_value(default_block(ForkName::Phase0)).unwrap();
    json["parent_root"] = json!("0x1234");
    let err = BeaconBlock::<E>::from_json_value(ForkName::Phase0, json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("parent_root"), "{err}");
}

#[test]
fn wrong_fork_ssz_is_rejected() {
    let mut block = BeaconBlockDeneb::<E>::default();
    block.body.execution_payload = sample_payload();
    let bytes = BeaconBlock::Deneb(block).as_ssz_bytes();
    let err = BeaconBlock::<E>::from_ssz_bytes(&bytes, ForkName::Capella).unwrap_err();
    assert!(
        matches!(
            err,
            Error::SszDecode {
                fork: ForkName::Capella,
                ..
            }
        ),
        "{err}"
    );
    assert!(BeaconBlock::<E>::from_ssz_bytes(&bytes[..bytes.len() - 1], ForkName::Deneb).is_err());
}

fn blob(byte: u8) -> Blob<E> {
    Blob::new(vec![byte; 131_072]).unwrap()
}

#[test]
fn block_contents_round_trip_and_limits() {
    let contents = BlockContents {
        block: default_block(ForkName::Deneb),
        kzg_proofs: vec![KzgProof::repeat_byte(3)],
        blobs: vec![blob(7)],
    };
    let bytes = contents.as_ssz_bytes();
    assert_eq!(
        BlockContents::<E>::from_ssz_bytes(&bytes, ForkName::Deneb).unwrap(),
        contents
    );
    let json = serde_json::to_value(&contents).unwrap();
    assert!(json["blobs"][0].as_str().unwrap().starts_with("0x0707"));
    assert_eq!(
        BlockContents::<E>::from_json_value(ForkName::Deneb, json.clone()).unwrap(),
        contents
    );
    let err = BlockContents::<E>::from_json_value(ForkName::Capella, json).unwrap_err();
    assert!(matches!(err, Error::UnsupportedFork { .. }), "{err}");

    let signed = contents.clone().into_signed(SignatureBytes::repeat_byte(1));
    let bytes = signed.as_ssz_bytes();
    assert_eq!(
        SignedBlockContents::<E>::from_ssz_bytes(&bytes, ForkName::Deneb).unwrap(),
        signed
    );
    let json = serde_json::to_value(&signed).unwrap();
    assert_eq!(
        SignedBlockContents::<E>::from_json_value(ForkName::Deneb, json).unwrap(),
        signed
    );

    // Fulu carries cell proofs: 128 per blob is fine there, too many before Fulu.
    let fulu = BlockContents {
        block: default_block(ForkName::Fulu),
        kzg_proofs: vec![KzgProof::repeat_byte(3); 128],
        blobs: vec![blob(1)],
    };
    let bytes = fulu.as_ssz_bytes();
    let decoded = BlockContents::<E>::from_ssz_bytes(&bytes, ForkName::Fulu).unwrap();
    assert_eq!(decoded.fork_name(), ForkName::Fulu);
    assert_eq!(decoded, fulu);
    let too_many = json!({
        "block": serde_json::to_value(default_block(ForkName::Electra)).unwrap(),
        "kzg_proofs": vec![KzgProof::repeat_byte(3); 4097],
        "blobs": [],
    });
    let err = BlockContents::<E>::from_json_value(ForkName::Electra, too_many).unwrap_err();
    assert!(
        matches!(
            err,
            Error::TooManyItems {
                what: "kzg_proofs",
                ..
            }
        ),
        "{err}"
    );
}

#[test]
fn block_contents_errors_name_the_field() {
    let mut json = serde_json::to_value(BlockContents {
        block: default_block(ForkName::Electra),
        kzg_proofs: vec![],
        blobs: vec![blob(2)],
    })
    .unwrap();
    json["blobs"][0] = json!("0x00");
    let err = BlockContents::<E>::from_json_value(ForkName::Electra, json.clone())
        .unwrap_err()
        .to_string();
    assert!(err.contains("blobs"), "{err}");
    json["block"]["slot"] = json!("x");
    let err = BlockContents::<E>::from_json_value(ForkName::Electra, json)
        .unwrap_err()
        .to_string();
    assert!(err.contains("block.slot"), "{err}");
    let err = BlockContents::<E>::from_json_value(ForkName::Electra, json!({"block": {}}))
        .unwrap_err()
        .to_string();
    assert!(err.contains("block"), "{err}");
    let blob_debug = format!("{:?}", blob(0xab));
    assert!(blob_debug.len() < 40, "{blob_debug}");
    assert!(Blob::<E>::new(vec![0; 10]).is_err());
}

#[test]
fn produced_block_shapes_follow_fork_and_payload_kind() {
    let capella = serde_json::to_value(default_block(ForkName::Capella)).unwrap();
    let produced =
        ProducedBlock::<E>::from_json_value(ForkName::Capella, PayloadKind::Full, capella.clone())
            .unwrap();
    assert!(matches!(produced, ProducedBlock::Full(_)));
    assert_eq!(produced.payload_kind(), PayloadKind::Full);
    let blinded = ProducedBlock::<E>::from_json_value(
        ForkName::Capella,
        PayloadKind::Blinded,
        capella.clone(),
    )
    .unwrap_err()
    .to_string();
    assert!(blinded.contains("execution_payload"), "{blinded}");

    let contents = BlockContents {
        block: default_block(ForkName::Electra),
        kzg_proofs: vec![],
        blobs: vec![],
    };
    let json = serde_json::to_value(&contents).unwrap();
    let produced =
        ProducedBlock::<E>::from_json_value(ForkName::Electra, PayloadKind::Full, json).unwrap();
    assert_eq!(produced, ProducedBlock::Contents(contents.clone()));
    assert_eq!(produced.block_root(), contents.block.tree_hash_root());
    assert_eq!(produced.slot(), Slot(17));
    let bytes = produced.as_ssz_bytes();
    assert_eq!(
        ProducedBlock::<E>::from_ssz_bytes(&bytes, ForkName::Electra, PayloadKind::Full).unwrap(),
        produced
    );
    let signed = produced.into_signed(SignatureBytes::repeat_byte(5));
    assert_eq!(signed.fork_name(), ForkName::Electra);
    assert_eq!(signed.payload_kind(), PayloadKind::Full);
    assert_eq!(PayloadKind::from_blinded_flag(true), PayloadKind::Blinded);

    let blinded = BlindedBeaconBlock::<E>::Fulu(Default::default());
    let json = serde_json::to_value(&blinded).unwrap();
    let produced =
        ProducedBlock::<E>::from_json_value(ForkName::Fulu, PayloadKind::Blinded, json).unwrap();
    assert_eq!(produced.fork_name(), ForkName::Fulu);
    assert_eq!(produced.fee_recipient(), Some(Address::ZERO));
}
