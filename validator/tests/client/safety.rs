//! Pool safety and slashing protection refusals: nothing refused is ever published.

use std::time::Duration;

use slashing_protection::{
    INTERCHANGE_FORMAT_VERSION, Interchange, InterchangeAttestation, InterchangeBlock,
    InterchangeData, InterchangeMetadata, SlashingProtection, SqliteConfig, SqliteStore,
};
use types::{Epoch, ExecutionAddress, ForkName, Slot};
use validator::metrics::{Duty, Outcome};

use crate::harness::{self, SLOT_SECONDS};

#[tokio::test]
async fn blocks_paying_another_fee_recipient_are_never_signed() {
    let node = harness::mock(ForkName::Capella, 64, 12).await;
    let thief = ExecutionAddress::repeat_byte(0x66);
    node.mock.set_fee_recipient_override(Some(thief));
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let metrics = client.metrics().clone();
    harness::run_for(client, Duration::from_secs(4 * SLOT_SECONDS)).await;

    let published = node.mock.published();
    assert!(
        published.blocks.is_empty(),
        "a block paying {thief} was published"
    );
    assert_eq!(node.mock.request_count("POST", "/eth/v2/beacon/blocks"), 0);
    assert_eq!(node.mock.request_count("POST", "/eth/v1/beacon/blocks"), 0);
    let produced = node
        .mock
        .request_count("GET", "/eth/v3/validator/blocks/{slot}");
    assert!(produced >= 2, "blocks were produced ({produced})");
    assert_eq!(
        metrics.pool_safety_refusals.get(),
        produced as u64,
        "every produced block refused and counted"
    );
    assert_eq!(
        metrics.duty_count(Duty::Block, Outcome::Refused),
        produced as u64
    );
    assert!(!published.attestations.is_empty(), "other duties go on");
}

#[tokio::test]
async fn slashing_protection_refusals_are_not_published() {
    let node = harness::mock(ForkName::Altair, 64, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let config = harness::config(dir.path(), &[node.mock.url()], 0);
    // Another instance signed far ahead: every attestation and block now is slashable.
    {
        let store = SqliteStore::open(
            dir.path().join("slashing_protection.sqlite"),
            node.genesis_validators_root,
            SqliteConfig::default(),
        )
        .await
        .unwrap();
        let interchange = Interchange {
            metadata: InterchangeMetadata {
                interchange_format_version: INTERCHANGE_FORMAT_VERSION,
                genesis_validators_root: node.genesis_validators_root,
            },
            data: node
                .keys
                .iter()
                .map(|k| InterchangeData {
                    pubkey: k.pubkey,
                    signed_blocks: vec![InterchangeBlock {
                        slot: Slot(1_000_000),
                        signing_root: None,
                    }],
                    signed_attestations: vec![InterchangeAttestation {
                        source_epoch: Epoch(100_000),
                        target_epoch: Epoch(100_001),
                        signing_root: None,
                    }],
                })
                .collect(),
        };
        store.import_interchange(&interchange).await.unwrap();
    }
    let client = harness::start(&config, harness::interop_signer(64)).await;
    let metrics = client.metrics().clone();
    harness::run_for(client, Duration::from_secs(4 * SLOT_SECONDS)).await;

    let published = node.mock.published();
    assert!(
        published.attestations.is_empty(),
        "slashable attestations published"
    );
    assert!(published.blocks.is_empty(), "slashable blocks published");
    assert_eq!(
        node.mock
            .request_count("POST", "/eth/v2/beacon/pool/attestations"),
        0
    );
    assert!(metrics.duty_count(Duty::Attestation, Outcome::Refused) >= 16);
    assert!(metrics.duty_count(Duty::Block, Outcome::Refused) >= 2);
    assert_eq!(metrics.duty_count(Duty::Attestation, Outcome::Performed), 0);
    let text = metrics.gather();
    assert!(
        text.contains("poolvc_slashing_protection_refusals_total{kind=\"attestation\",reason=\"below_imported_watermark\"}"),
        "{text}"
    );
    assert!(
        !published.sync_messages.is_empty(),
        "non-slashable duties go on"
    );
}
