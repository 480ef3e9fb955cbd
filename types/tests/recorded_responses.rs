//! Real Beacon API responses recorded from a Lodestar dev chain (Capella, minimal and mainnet
//! presets): the chain spec parses and names its preset, the head block decodes with that preset
//! and reproduces the node's block and body roots, the fork schedule and state fork agree with
//! our spec, and the block's proposer signature and RANDAO reveal verify with BLS against the
//! proposer's public key — which checks domain, signing root and block root end to end.
//!
//! One trial per recorded file used, per folder.

#[path = "../src/test_vectors.rs"]
#[expect(
    unreachable_pub,
    reason = "shared with the library, where these are public"
)]
mod test_vectors;

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use types::{
    AttestationData, ChainSpec, DomainKind, Epoch, EthSpec, FAR_FUTURE_EPOCH, Fork, ForkName,
    ForkVersioned, Hash256, MainnetEthSpec, MinimalEthSpec, Preset, PublicKeyBytes, SignatureBytes,
    SignedBeaconBlock, SignedBeaconBlockHeader, SignedRoot, Slot, Version, verify_preset,
};

/// Folders of `beacon-node-responses/` and their presets.
const FOLDERS: [(&str, Preset); 2] = [
    ("capella-minimal", Preset::Minimal),
    ("capella-mainnet", Preset::Mainnet),
];

fn read_json(dir: &Path, file: &str) -> Result<Value, Failed> {
    let path = dir.join(file);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()).into())
}

fn data(dir: &Path, file: &str) -> Result<Value, Failed> {
    read_json(dir, file)?
        .get("data")
        .cloned()
        .ok_or_else(|| format!("{file} has no data").into())
}

fn spec(dir: &Path) -> Result<ChainSpec, Failed> {
    Ok(ChainSpec::from_spec_response(&read_json(
        dir,
        "config_spec.json",
    )?)?)
}

fn genesis_validators_root(dir: &Path) -> Result<Hash256, Failed> {
    let genesis = data(dir, "beacon_genesis.json")?;
    Ok(serde_json::from_value(
        genesis["genesis_validators_root"].clone(),
    )?)
}

fn ensure(condition: bool, message: impl FnOnce() -> String) -> Result<(), Failed> {
    if condition {
        Ok(())
    } else {
        Err(message().into())
    }
}

fn check_config_spec<E: EthSpec, Other: EthSpec>(dir: &Path, preset: Preset) -> Result<(), Failed> {
    let spec = spec(dir)?;
    ensure(spec.preset_base == preset, || {
        format!("preset {} != {preset}", spec.preset_base)
    })?;
    verify_preset::<E>(&spec)?;
    let err = verify_preset::<Other>(&spec)
        .err()
        .ok_or("wrong preset accepted")?;
    ensure(err.to_string().contains("preset"), || {
        format!("unclear error: {err}")
    })?;
    // A node claiming the other preset but reporting these values fails on the first differing
    // preset key.
    let mut map = spec.raw_config().clone();
    map.insert("PRESET_BASE".into(), Other::PRESET.as_str().into());
    let claimed = ChainSpec::from_config_map(&map)?;
    let err = verify_preset::<Other>(&claimed)
        .err()
        .ok_or("mismatching values accepted")?;
    ensure(err.to_string().contains("MAX_COMMITTEES_PER_SLOT"), || {
        format!("error does not name the first differing key: {err}")
    })?;
    ensure(spec.slots_per_epoch == E::SLOTS_PER_EPOCH, || {
        "SLOTS_PER_EPOCH".into()
    })?;
    // Lodestar 1.5.1 predates the Deneb name (it reports EIP4844_*): Deneb is unknown to it.
    ensure(spec.fork_version(ForkName::Deneb).is_none(), || {
        "Deneb should be unknown".into()
    })?;
    ensure(spec.raw_value("EIP4844_FORK_VERSION").is_some(), || {
        "unknown keys must be kept".into()
    })?;
    ensure(
        spec.fork_name_at_epoch(Epoch(0)) == ForkName::Capella,
        || "not Capella at genesis".into(),
    )
}

fn check_block<E: EthSpec, Other: EthSpec>(dir: &Path) -> Result<(), Failed> {
    let response = read_json(dir, "block_head_v2.json")?;
    let block = ForkVersioned::<SignedBeaconBlock<E>>::decode_json(response.clone())?;
    ensure(block.version == ForkName::Capella, || {
        format!("version {}", block.version)
    })?;
    ensure(block.execution_optimistic == Some(false), || {
        "execution_optimistic".into()
    })?;
    let block = block.data;
    ensure(block.fork_name() == ForkName::Capella, || "variant".into())?;

    let header = data(dir, "headers_head.json")?;
    let root: Hash256 = serde_json::from_value(header["root"].clone())?;
    let signed_header: SignedBeaconBlockHeader = serde_json::from_value(header["header"].clone())?;
    ensure(block.block_root() == root, || {
        format!("block root {} != {root}", block.block_root())
    })?;
    ensure(block.body_root() == signed_header.message.body_root, || {
        format!(
            "body root {} != {}",
            block.body_root(),
            signed_header.message.body_root
        )
    })?;
    ensure(block.signed_block_header() == signed_header, || {
        "signed header differs".into()
    })?;
    ensure(block.fee_recipient().is_some(), || {
        "Capella block without fee recipient".into()
    })?;

    // Exact JSON round trip of a real block (quoted integers, lowercase hex).
    let encoded = serde_json::to_value(&block)?;
    ensure(encoded == response["data"], || {
        "JSON re-encoding differs from the node's".into()
    })?;
    // SSZ round trip.
    let bytes = block.as_ssz_bytes();
    let decoded = SignedBeaconBlock::<E>::from_ssz_bytes(&bytes, ForkName::Capella)?;
    ensure(decoded == block, || {
        "SSZ round trip changed the block".into()
    })?;
    // The other preset's limits (sync committee size) reject this block.
    let wrong =
        SignedBeaconBlock::<Other>::from_json_value(ForkName::Capella, response["data"].clone());
    ensure(wrong.is_err(), || {
        "block decoded with the wrong preset".into()
    })?;
    // As a Deneb block it lacks fields.
    let err = SignedBeaconBlock::<E>::from_json_value(ForkName::Deneb, response["data"].clone())
        .err()
        .ok_or("Capella block accepted as Deneb")?;
    ensure(err.to_string().contains("message.body"), || {
        format!("no path in: {err}")
    })
}

fn proposer_pubkey(dir: &Path, slot: Slot, proposer_index: u64) -> Result<PublicKeyBytes, Failed> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("duties_proposer"))
        })
        .collect();
    files.sort();
    for file in files {
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let duties = data(dir, &name)?;
        for duty in duties.as_array().into_iter().flatten() {
            let duty_slot: Slot = serde_json::from_value(duty["slot"].clone())?;
            if duty_slot == slot {
                let index = duty["validator_index"]
                    .as_str()
                    .and_then(|s| s.parse::<u64>().ok());
                ensure(index == Some(proposer_index), || {
                    "proposer index differs from duty".into()
                })?;
                return Ok(serde_json::from_value(duty["pubkey"].clone())?);
            }
        }
    }
    Err(format!("no proposer duty for slot {slot}").into())
}

fn bls_verify(
    pubkey: &PublicKeyBytes,
    message: Hash256,
    signature: &SignatureBytes,
) -> Result<(), Failed> {
    const DST: &[u8] = b"BLS_SIG_BLS12381G2_XMD:SHA-256_SSWU_RO_POP_";
    let pk = blst::min_pk::PublicKey::from_bytes(pubkey.as_slice())
        .map_err(|e| format!("pubkey: {e:?}"))?;
    let sig = blst::min_pk::Signature::from_bytes(signature.as_slice())
        .map_err(|e| format!("signature: {e:?}"))?;
    let result = sig.verify(true, message.as_slice(), DST, &[], &pk, true);
    ensure(result == blst::BLST_ERROR::BLST_SUCCESS, || {
        format!("BLS verification failed: {result:?}")
    })
}

fn check_signatures<E: EthSpec>(dir: &Path) -> Result<(), Failed> {
    let spec = spec(dir)?;
    let gvr = genesis_validators_root(dir)?;
    let response = read_json(dir, "block_head_v2.json")?;
    let block = ForkVersioned::<SignedBeaconBlock<E>>::decode_json(response)?.data;
    let epoch = spec.compute_epoch_at_slot(block.slot());
    let pubkey = proposer_pubkey(dir, block.slot(), block.proposer_index())?;

    let proposer_domain = spec.get_domain(DomainKind::BeaconProposer, epoch, gvr);
    let signing_root = types::compute_signing_root(block.block_root(), proposer_domain);
    bls_verify(&pubkey, signing_root, &block.signature())
        .map_err(|e| format!("block signature: {}", e.message().unwrap_or_default()))?;

    let randao_domain = spec.get_domain(DomainKind::Randao, epoch, gvr);
    bls_verify(
        &pubkey,
        epoch.signing_root(randao_domain),
        &block.message().randao_reveal(),
    )
    .map_err(|e| format!("RANDAO reveal: {}", e.message().unwrap_or_default()))?;

    // A wrong domain must not verify (the check above can fail).
    let wrong = spec.get_domain(DomainKind::BeaconAttester, epoch, gvr);
    let result = bls_verify(
        &pubkey,
        types::compute_signing_root(block.block_root(), wrong),
        &block.signature(),
    );
    ensure(result.is_err(), || {
        "signature verified under the wrong domain".into()
    })
}

fn check_fork_schedule(dir: &Path) -> Result<(), Failed> {
    let spec = spec(dir)?;
    let node: Vec<Fork> = serde_json::from_value(data(dir, "config_fork_schedule.json")?)?;
    let scheduled: Vec<Fork> = node
        .iter()
        .copied()
        .filter(|f| f.epoch != FAR_FUTURE_EPOCH)
        .collect();
    ensure(scheduled == spec.fork_schedule(), || {
        format!(
            "node schedule {scheduled:?} != ours {:?}",
            spec.fork_schedule()
        )
    })?;
    // The unscheduled entry is the node's EIP4844 draft, unknown to us.
    let unscheduled: Vec<Version> = node
        .iter()
        .filter(|f| f.epoch == FAR_FUTURE_EPOCH)
        .map(|f| f.current_version)
        .collect();
    ensure(unscheduled.len() == 1, || {
        format!("unscheduled: {unscheduled:?}")
    })
}

fn check_genesis_and_state_fork(dir: &Path) -> Result<(), Failed> {
    let spec = spec(dir)?;
    let genesis = data(dir, "beacon_genesis.json")?;
    let genesis_fork_version: Version =
        serde_json::from_value(genesis["genesis_fork_version"].clone())?;
    // This dev chain starts directly at Capella: its genesis state's fork is Capella's.
    ensure(
        genesis_fork_version == spec.fork_at_epoch(Epoch(0)).current_version,
        || format!("genesis fork version {genesis_fork_version}"),
    )?;
    let state_fork: Fork = serde_json::from_value(data(dir, "state_fork.json")?)?;
    let attestation: AttestationData = serde_json::from_value(data(dir, "attestation_data.json")?)?;
    let epoch = spec.compute_epoch_at_slot(attestation.slot);
    ensure(state_fork == spec.fork_at_epoch(epoch), || {
        format!(
            "state fork {state_fork:?} != {:?}",
            spec.fork_at_epoch(epoch)
        )
    })
}

fn check_attestation_data(dir: &Path) -> Result<(), Failed> {
    let spec = spec(dir)?;
    let gvr = genesis_validators_root(dir)?;
    let value = data(dir, "attestation_data.json")?;
    let attestation: AttestationData = serde_json::from_value(value.clone())?;
    ensure(serde_json::to_value(attestation)? == value, || {
        "JSON round trip".into()
    })?;
    let epoch = spec.compute_epoch_at_slot(attestation.slot);
    ensure(attestation.target.epoch == epoch, || {
        "target epoch is not the slot's epoch".into()
    })?;
    let head: Hash256 = serde_json::from_value(data(dir, "headers_head.json")?["root"].clone())?;
    ensure(attestation.beacon_block_root == head, || {
        "attestation head differs from recorded head".into()
    })?;
    let domain = spec.get_domain(DomainKind::BeaconAttester, epoch, gvr);
    let fork_version = spec.fork_version_at_epoch(epoch);
    ensure(
        domain == types::compute_domain(spec.domain_types.beacon_attester, fork_version, gvr),
        || "domain".into(),
    )?;
    let digest = spec.compute_fork_digest(epoch, gvr);
    ensure(
        digest.as_slice() == &types::signing::compute_fork_data_root(fork_version, gvr)[..4],
        || "fork digest".into(),
    )
}

fn trials_for<E: EthSpec, Other: EthSpec>(
    name: &'static str,
    dir: PathBuf,
    preset: Preset,
) -> Vec<Trial> {
    let d = dir.clone();
    let mut trials = vec![Trial::test(format!("{name}/config_spec.json"), move || {
        check_config_spec::<E, Other>(&d, preset)
    })];
    let d = dir.clone();
    trials.push(Trial::test(
        format!("{name}/block_head_v2.json"),
        move || check_block::<E, Other>(&d),
    ));
    let d = dir.clone();
    trials.push(Trial::test(
        format!("{name}/duties_proposer+block signatures"),
        move || check_signatures::<E>(&d),
    ));
    let d = dir.clone();
    trials.push(Trial::test(
        format!("{name}/config_fork_schedule.json"),
        move || check_fork_schedule(&d),
    ));
    let d = dir.clone();
    trials.push(Trial::test(
        format!("{name}/beacon_genesis.json+state_fork.json"),
        move || check_genesis_and_state_fork(&d),
    ));
    trials.push(Trial::test(
        format!("{name}/attestation_data.json"),
        move || check_attestation_data(&dir),
    ));
    trials
}

fn main() {
    let args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("beacon-node-responses") else {
        let skipped =
            Trial::test("recorded responses (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let mut trials = Vec::new();
    for (name, preset) in FOLDERS {
        let dir = root.join(name);
        if !dir.is_dir() {
            trials.push(Trial::test(format!("{name} present"), move || {
                Err(format!("{name} is missing").into())
            }));
            continue;
        }
        trials.extend(match preset {
            Preset::Minimal => trials_for::<MinimalEthSpec, MainnetEthSpec>(name, dir, preset),
            Preset::Mainnet => trials_for::<MainnetEthSpec, MinimalEthSpec>(name, dir, preset),
        });
    }
    libtest_mimic::run(&args, trials).exit();
}
