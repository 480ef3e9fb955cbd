//! Unit tests of fork schedule, digests, domains and config parsing.
//!
//! Known-answer values were computed independently from the spec formulas with Python's hashlib
//! (`sha256(version ++ 28 zero bytes ++ genesis_validators_root)` etc.); the mainnet deposit
//! domain and the Capella/Deneb/Electra digests are also the values published for mainnet.

use std::str::FromStr;

use serde_json::{Value, json};

use super::*;
use crate::error::Error;

const MAINNET_GVR: &str = "0x4b363db94e286120d76eb905340fdd4e54bfe9f06bf33ff6cf5ad27f511bfe95";

fn gvr() -> Hash256 {
    Hash256::from_str(MAINNET_GVR).unwrap()
}

fn digest(hex: &str) -> ForkDigest {
    ForkDigest::from_str(hex).unwrap()
}

fn domain(hex: &str) -> Domain {
    Domain::from_str(hex).unwrap()
}

#[test]
fn mainnet_fork_digests() {
    let spec = ChainSpec::mainnet();
    let capella = spec.fork_epoch(ForkName::Capella).unwrap();
    let deneb = spec.fork_epoch(ForkName::Deneb).unwrap();
    let electra = spec.fork_epoch(ForkName::Electra).unwrap();
    let fulu = spec.fork_epoch(ForkName::Fulu).unwrap();
    assert_eq!(
        spec.compute_fork_digest(capella, gvr()),
        digest("0xbba4da96")
    );
    assert_eq!(spec.compute_fork_digest(deneb, gvr()), digest("0x6a95a1a9"));
    assert_eq!(
        spec.compute_fork_digest(electra, gvr()),
        digest("0xad532ceb")
    );
    // Fulu: base digest 0x82fae541 XOR hash(uint64(364032) ++ uint64(9)) (Electra fallback).
    assert_eq!(spec.compute_fork_digest(fulu, gvr()), digest("0xcc2c5cdb"));
    // The two blob-parameter-only forks of the mainnet schedule.
    assert_eq!(
        spec.compute_fork_digest(Epoch(412_672), gvr()),
        digest("0xcb0d1acc")
    );
    assert_eq!(
        spec.compute_fork_digest(Epoch(419_072), gvr()),
        digest("0x8c9f62fe")
    );
    assert_eq!(
        spec.compute_fork_digest(Epoch(500_000), gvr()),
        digest("0x8c9f62fe")
    );
    // The last epoch before a fork keeps the old digest.
    assert_eq!(
        spec.compute_fork_digest(fulu - 1, gvr()),
        digest("0xad532ceb")
    );
}

#[test]
fn mainnet_fork_schedule() {
    let spec = ChainSpec::mainnet();
    assert_eq!(spec.fork_name_at_epoch(Epoch(0)), ForkName::Phase0);
    assert_eq!(spec.fork_name_at_epoch(Epoch(74_239)), ForkName::Phase0);
    assert_eq!(spec.fork_name_at_epoch(Epoch(74_240)), ForkName::Altair);
    assert_eq!(spec.fork_name_at_epoch(Epoch(269_568)), ForkName::Deneb);
    assert_eq!(spec.fork_name_at_epoch(Epoch(411_391)), ForkName::Electra);
    assert_eq!(spec.fork_name_at_epoch(FAR_FUTURE_EPOCH), ForkName::Fulu);
    assert_eq!(
        spec.fork_name_at_slot(Slot(269_568 * 32 - 1)),
        ForkName::Capella
    );
    assert_eq!(spec.fork_name_at_slot(Slot(269_568 * 32)), ForkName::Deneb);
    assert_eq!(
        spec.fork_at_epoch(Epoch(300_000)),
        Fork {
            previous_version: Version::from([3, 0, 0, 0]),
            current_version: Version::from([4, 0, 0, 0]),
            epoch: Epoch(269_568),
        }
    );
    assert_eq!(
        spec.fork_at_epoch(Epoch(5)),
        Fork {
            previous_version: Version::ZERO,
            current_version: Version::ZERO,
            epoch: Epoch(0),
        }
    );
    let schedule = spec.fork_schedule();
    assert_eq!(schedule.len(), 7);
    assert_eq!(schedule[6].current_version, Version::from([6, 0, 0, 0]));
    assert_eq!(schedule[6].previous_version, Version::from([5, 0, 0, 0]));
}

#[test]
fn minimal_has_only_phase0_scheduled() {
    let spec = ChainSpec::minimal();
    assert_eq!(spec.preset_base, Preset::Minimal);
    assert_eq!(spec.slots_per_epoch, 8);
    assert_eq!(spec.seconds_per_slot(), 6);
    assert_eq!(spec.fork_name_at_epoch(Epoch(1_000_000)), ForkName::Phase0);
    assert!(!spec.is_fork_scheduled(ForkName::Altair));
    assert_eq!(
        spec.fork_version(ForkName::Fulu),
        Some(Version::from([6, 0, 0, 1]))
    );
    assert_eq!(spec.fork_schedule().len(), 1);
}

#[test]
fn domains_and_their_special_cases() {
    let spec = ChainSpec::mainnet();
    let g = gvr();
    // Deposits and builder registrations: genesis version, zero root, any epoch, any chain.
    let deposit = domain("0x03000000f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9");
    assert_eq!(
        spec.get_domain(DomainKind::Deposit, Epoch(400_000), g),
        deposit
    );
    assert_eq!(
        spec.get_domain(DomainKind::Deposit, Epoch(0), Hash256::ZERO),
        deposit
    );
    assert_eq!(
        spec.get_domain(DomainKind::ApplicationBuilder, Epoch(400_000), g),
        domain("0x00000001f5a5fd42d16a20302798ef6ed309979b43003d2320d9f0e8ea9831a9")
    );
    // BLS-to-execution changes: genesis version but the real genesis root.
    assert_eq!(
        spec.get_domain(DomainKind::BlsToExecutionChange, Epoch(400_000), g),
        domain("0x0a000000b5303f2ad2010d699a76c8e62350947421a3e4a979779642cfdb0f66")
    );
    // Voluntary exits from Deneb on: Capella version (EIP-7044).
    let exit_capella = domain("0x04000000bba4da96354c9f25476cf1bc69bf583a7f9e0af049305b62de676640");
    assert_eq!(
        spec.get_domain(DomainKind::VoluntaryExit, Epoch(400_000), g),
        exit_capella
    );
    assert_eq!(
        spec.get_domain(DomainKind::VoluntaryExit, Epoch(200_000), g),
        exit_capella
    );
    assert_eq!(
        spec.voluntary_exit_domain(Epoch(80_000), Epoch(400_000), g),
        exit_capella,
        "an old exit epoch signed on a Deneb+ chain still uses Capella"
    );
    assert_eq!(
        spec.voluntary_exit_domain(Epoch(80_000), Epoch(150_000), g),
        compute_domain(
            DomainType::from([4, 0, 0, 0]),
            Version::from([1, 0, 0, 0]),
            g
        ),
        "before Deneb the exit epoch's fork applies"
    );
    // Ordinary domains follow the fork at the epoch.
    assert_eq!(
        spec.get_domain(DomainKind::BeaconAttester, Epoch(400_000), g),
        domain("0x01000000ad532ceb9ec5d246daad29da8aa157bfdab35e5f069f9db81f1da754")
    );
}

#[test]
fn blob_parameters_follow_the_schedule() {
    let spec = ChainSpec::mainnet();
    let electra = BlobParameters {
        epoch: Epoch(364_032),
        max_blobs_per_block: 9,
    };
    assert_eq!(spec.blob_parameters(Epoch(411_392)), electra);
    assert_eq!(spec.blob_parameters(Epoch(412_672)).max_blobs_per_block, 15);
    assert_eq!(spec.blob_parameters(Epoch(419_071)).max_blobs_per_block, 15);
    assert_eq!(spec.blob_parameters(Epoch(419_072)).max_blobs_per_block, 21);
    assert_eq!(spec.max_blobs_per_block_at(Epoch(300_000)), 6);
    assert_eq!(spec.max_blobs_per_block_at(Epoch(400_000)), 9);
    assert_eq!(spec.max_blobs_per_block_at(Epoch(413_000)), 15);
    assert_eq!(spec.max_blobs_per_block_at(Epoch(100)), 0);
}

#[test]
fn slot_timing() {
    let spec = ChainSpec::mainnet();
    assert_eq!(spec.slot_duration(), Duration::from_secs(12));
    assert_eq!(
        spec.slot_component_duration(spec.duty_timings.attestation_due_bps),
        Duration::from_millis(3999)
    );
    assert_eq!(spec.compute_start_slot_at_epoch(Epoch(3)), Slot(96));
    assert_eq!(spec.sync_committee_period(Epoch(511)), 1);
    assert_eq!(spec.sync_committee_period_start_epoch(2), Epoch(512));
}

fn mainnet_map() -> Map<String, Value> {
    ChainSpec::mainnet().raw_config().clone()
}

fn parse_with(edit: impl FnOnce(&mut Map<String, Value>)) -> Result<ChainSpec, Error> {
    let mut map = mainnet_map();
    edit(&mut map);
    ChainSpec::from_config_map(&map)
}

#[test]
fn missing_required_key_is_named() {
    for key in [
        "GENESIS_FORK_VERSION",
        "SLOTS_PER_EPOCH",
        "PRESET_BASE",
        "ATTESTATION_SUBNET_COUNT",
    ] {
        let err = parse_with(|m| {
            m.remove(key);
        })
        .unwrap_err();
        assert!(
            matches!(&err, Error::MissingConfigKey { key: k } if k == key),
            "{key}: {err}"
        );
        assert!(err.to_string().contains(key));
    }
    let err = parse_with(|m| {
        m.remove("SECONDS_PER_SLOT");
        m.remove("SLOT_DURATION_MS");
    })
    .unwrap_err();
    assert!(err.to_string().contains("SECONDS_PER_SLOT"), "{err}");
    // Required once the fork is scheduled.
    let err = parse_with(|m| {
        m.remove("MAX_BLOBS_PER_BLOCK_ELECTRA");
    })
    .unwrap_err();
    assert!(
        err.to_string().contains("MAX_BLOBS_PER_BLOCK_ELECTRA"),
        "{err}"
    );
}

#[test]
fn malformed_values_name_key_and_value() {
    let cases: &[(&str, Value)] = &[
        ("SLOTS_PER_EPOCH", json!("3x2")),
        ("SLOTS_PER_EPOCH", json!("0")),
        ("SLOTS_PER_EPOCH", json!(["32"])),
        ("GENESIS_FORK_VERSION", json!("0x0000")),
        ("GENESIS_FORK_VERSION", json!("00000000")),
        ("ALTAIR_FORK_EPOCH", json!("-1")),
        ("DOMAIN_RANDAO", json!("0x02000001")),
        ("DEPOSIT_CONTRACT_ADDRESS", json!("0x1234")),
        ("BLOB_SCHEDULE", json!({"EPOCH": "1"})),
        ("ATTESTATION_DUE_BPS", json!("10001")),
        ("PRESET_BASE", json!("gnosis")),
    ];
    for (key, value) in cases {
        let err = parse_with(|m| {
            m.insert((*key).to_owned(), value.clone());
        })
        .unwrap_err()
        .to_string();
        assert!(err.contains(key), "{key}: {err}");
        if let Value::String(s) = value {
            assert!(err.contains(s.as_str()), "{key}: {err}");
        }
    }
}

#[test]
fn blob_schedule_entries_are_checked() {
    let err = parse_with(|m| {
        m.insert(
            "BLOB_SCHEDULE".into(),
            json!([{"EPOCH": "5", "MAX_BLOBS_PER_BLOCK": "x"}]),
        );
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("BLOB_SCHEDULE[0].MAX_BLOBS_PER_BLOCK"),
        "{err}"
    );
    let err = parse_with(|m| {
        m.insert(
            "BLOB_SCHEDULE".into(),
            json!([{"EPOCH": "5", "MAX_BLOBS_PER_BLOCK": "1"}, {"EPOCH": "5", "MAX_BLOBS_PER_BLOCK": "2"}]),
        );
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("epoch 5"), "{err}");
    // Unsorted input is sorted; bare numbers are accepted.
    let spec = parse_with(|m| {
        m.insert(
            "BLOB_SCHEDULE".into(),
            json!([{"EPOCH": 500000, "MAX_BLOBS_PER_BLOCK": 30}, {"EPOCH": "412672", "MAX_BLOBS_PER_BLOCK": "15"}]),
        );
    })
    .unwrap();
    assert_eq!(spec.blob_schedule[0].epoch, Epoch(412_672));
    assert_eq!(spec.blob_parameters(Epoch(600_000)).max_blobs_per_block, 30);
}

#[test]
fn inconsistent_schedules_are_rejected() {
    let err = parse_with(|m| {
        m.insert("CAPELLA_FORK_EPOCH".into(), json!("100"));
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("capella") && err.contains("bellatrix"),
        "{err}"
    );
    let err = parse_with(|m| {
        m.insert("ALTAIR_FORK_EPOCH".into(), json!(u64::MAX.to_string()));
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("bellatrix"), "{err}");
    let err = parse_with(|m| {
        m.remove("DENEB_FORK_EPOCH");
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("DENEB_FORK_EPOCH"), "{err}");
    let err = parse_with(|m| {
        m.insert("SLOT_DURATION_MS".into(), json!("11000"));
    })
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("SLOT_DURATION_MS") && err.contains("11000"),
        "{err}"
    );
}

#[test]
fn unknown_keys_are_kept_and_forks_unknown_to_the_node_are_unscheduled() {
    let spec = parse_with(|m| {
        m.insert("SOME_FUTURE_KEY".into(), json!("0x1234"));
        for fork in ["ELECTRA", "FULU"] {
            m.remove(&format!("{fork}_FORK_VERSION"));
            m.remove(&format!("{fork}_FORK_EPOCH"));
        }
    })
    .unwrap();
    assert_eq!(spec.raw_value("SOME_FUTURE_KEY"), Some(&json!("0x1234")));
    assert_eq!(spec.fork_version(ForkName::Electra), None);
    assert_eq!(spec.fork_name_at_epoch(FAR_FUTURE_EPOCH), ForkName::Deneb);
}

#[test]
fn spec_response_envelope() {
    let spec = ChainSpec::mainnet();
    let response = json!({ "data": spec.raw_config() });
    assert_eq!(ChainSpec::from_spec_response(&response).unwrap(), spec);
    let err = ChainSpec::from_spec_response(&json!({"dat": {}})).unwrap_err();
    assert!(err.to_string().contains("data"), "{err}");
}
