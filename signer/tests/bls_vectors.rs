//! The official BLS conformance vectors (ethereum/bls12-381-tests v0.1.2): one trial per file,
//! and the number of files per folder asserted so that a shrunken folder cannot pass.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;
use signer::bls::{
    AggregateSignature, PublicKey, Signature, SignatureSet, hash_to_g2, verify_signature_sets,
};
use signer::{Error, bls::SecretKey};

/// Released folders and their file counts, as stated by the vectors README.
const RELEASED: [(&str, usize); 9] = [
    ("sign", 10),
    ("verify", 29),
    ("aggregate", 6),
    ("aggregate_verify", 5),
    ("fast_aggregate_verify", 12),
    ("batch_verify", 4),
    ("deserialization_G1", 13),
    ("deserialization_G2", 15),
    ("hash_to_G2", 4),
];
/// Extra invalid-mask-bit cases from the unreleased master branch.
const UNRELEASED: [(&str, usize); 2] = [("deserialization_G1", 3), ("deserialization_G2", 3)];
const RELEASED_TOTAL: usize = 98;

const QUUX_DST: &[u8] = b"QUUX-V01-CS02-with-BLS12381G2_XMD:SHA-256_SSWU_RO_";

fn bytes(value: &Value) -> Result<Vec<u8>, Failed> {
    let text = value.as_str().ok_or("expected a hex string")?;
    hex::decode(text.strip_prefix("0x").unwrap_or(text)).map_err(|e| format!("bad hex: {e}").into())
}

fn pubkeys(value: &Value) -> Option<Vec<PublicKey>> {
    value
        .as_array()?
        .iter()
        .map(|v| PublicKey::from_bytes(&bytes(v).ok()?).ok())
        .collect()
}

fn messages(value: &Value) -> Result<Vec<Vec<u8>>, Failed> {
    value
        .as_array()
        .ok_or("messages must be a list")?
        .iter()
        .map(bytes)
        .collect()
}

fn signature(value: &Value) -> Option<Signature> {
    Signature::from_bytes(&bytes(value).ok()?).ok()
}

fn expect_bool(got: bool, case: &Value) -> Result<(), Failed> {
    let want = case["output"].as_bool().ok_or("output must be a bool")?;
    if got == want {
        Ok(())
    } else {
        Err(format!("expected {want}, got {got}").into())
    }
}

fn run_case(kind: &str, case: &Value) -> Result<(), Failed> {
    let input = &case["input"];
    match kind {
        "sign" => {
            let got = SecretKey::from_bytes(&bytes(&input["privkey"])?)
                .ok()
                .map(|sk| {
                    sk.sign(&bytes(&input["message"]).unwrap_or_default())
                        .to_bytes()
                        .to_string()
                });
            let want = case["output"].as_str().map(str::to_owned);
            if got != want {
                return Err(format!("expected {want:?}, got {got:?}").into());
            }
            Ok(())
        }
        "verify" => {
            let pk = PublicKey::from_bytes(&bytes(&input["pubkey"])?).ok();
            let sig = signature(&input["signature"]);
            let msg = bytes(&input["message"])?;
            let got = match (pk, sig) {
                (Some(pk), Some(sig)) => pk.verify(&msg, &sig),
                _ => false,
            };
            expect_bool(got, case)
        }
        "aggregate" => {
            let sigs: Option<Vec<Signature>> = input
                .as_array()
                .ok_or("input must be a list")?
                .iter()
                .map(signature)
                .collect();
            let got = sigs.and_then(|sigs| {
                let refs: Vec<&Signature> = sigs.iter().collect();
                match AggregateSignature::aggregate(&refs) {
                    Ok(agg) => Some(agg.to_signature().to_bytes().to_string()),
                    Err(Error::EmptyAggregate(_)) => None,
                    Err(e) => panic!("unexpected aggregation error {e}"),
                }
            });
            let want = case["output"].as_str().map(str::to_owned);
            if got != want {
                return Err(format!("expected {want:?}, got {got:?}").into());
            }
            Ok(())
        }
        "aggregate_verify" | "fast_aggregate_verify" => {
            let pks = pubkeys(&input["pubkeys"]);
            let sig = signature(&input["signature"]);
            let got = match (pks, sig) {
                (Some(pks), Some(sig)) => {
                    let refs: Vec<&PublicKey> = pks.iter().collect();
                    if kind == "fast_aggregate_verify" {
                        sig.fast_aggregate_verify(&bytes(&input["message"])?, &refs)
                    } else {
                        let msgs = messages(&input["messages"])?;
                        let msg_refs: Vec<&[u8]> = msgs.iter().map(Vec::as_slice).collect();
                        sig.aggregate_verify(&msg_refs, &refs)
                    }
                }
                _ => false,
            };
            expect_bool(got, case)
        }
        "batch_verify" => {
            let pks = pubkeys(&input["pubkeys"]);
            let sigs: Option<Vec<Signature>> = input["signatures"]
                .as_array()
                .ok_or("signatures must be a list")?
                .iter()
                .map(signature)
                .collect();
            let msgs = messages(&input["messages"])?;
            let got = match (pks, sigs) {
                (Some(pks), Some(sigs)) if pks.len() == sigs.len() && sigs.len() == msgs.len() => {
                    let sets: Vec<SignatureSet<'_>> = (0..pks.len())
                        .map(|i| SignatureSet {
                            pubkey: &pks[i],
                            message: &msgs[i],
                            signature: &sigs[i],
                        })
                        .collect();
                    verify_signature_sets(&sets)
                }
                _ => false,
            };
            expect_bool(got, case)
        }
        "deserialization_G1" => {
            // A valid G1 encoding; infinity decodes but KeyValidate (a later step) rejects it.
            let got = matches!(
                PublicKey::from_bytes(&bytes(&input["pubkey"])?),
                Ok(_) | Err(Error::PublicKeyIsInfinity)
            );
            expect_bool(got, case)
        }
        "deserialization_G2" => {
            let got = Signature::from_bytes(&bytes(&input["signature"])?).is_ok();
            expect_bool(got, case)
        }
        "hash_to_G2" => {
            let msg = input["msg"].as_str().ok_or("msg must be a string")?;
            let point = hash_to_g2(msg.as_bytes(), QUUX_DST);
            let coord =
                |c1: &[u8], c0: &[u8]| format!("0x{},0x{}", hex::encode(c0), hex::encode(c1));
            let x = coord(&point[0..48], &point[48..96]);
            let y = coord(&point[96..144], &point[144..192]);
            let (want_x, want_y) = (&case["output"]["x"], &case["output"]["y"]);
            if want_x.as_str() != Some(x.as_str()) || want_y.as_str() != Some(y.as_str()) {
                return Err(format!("expected ({want_x}, {want_y}), got ({x}, {y})").into());
            }
            Ok(())
        }
        other => Err(format!("no handler for {other}").into()),
    }
}

fn trials_for(dir: &Path, kind: &'static str, expected: usize, prefix: &str) -> Vec<Trial> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir.join(kind))
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.join(kind).display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .collect();
    files.sort();
    assert_eq!(
        files.len(),
        expected,
        "{}: expected {expected} vector files, found {}",
        dir.join(kind).display(),
        files.len()
    );
    files
        .into_iter()
        .map(|path| {
            let name = format!(
                "{prefix}{kind}::{}",
                path.file_stem().unwrap_or_default().to_string_lossy()
            );
            Trial::test(name, move || {
                let text = std::fs::read_to_string(&path)?;
                let case: Value = serde_json::from_str(&text)?;
                run_case(kind, &case)
            })
        })
        .collect()
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    if let Some(dir) = types::test_vectors::vectors_subdir("bls") {
        for (kind, count) in RELEASED {
            trials.extend(trials_for(&dir, kind, count, ""));
        }
        assert_eq!(trials.len(), RELEASED_TOTAL, "released BLS vector count");
        let extra = dir.join("unreleased-master");
        for (kind, count) in UNRELEASED {
            trials.extend(trials_for(&extra, kind, count, "unreleased-master::"));
        }
    }
    libtest_mimic::run(&args, trials).exit();
}
