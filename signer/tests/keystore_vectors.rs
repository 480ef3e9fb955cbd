//! The official EIP-2335 keystores, EIP-2333 derivation cases (and intermediate Lamport
//! values) and EIP-2334 paths: one trial per vector, counts asserted.

use std::path::{Path, PathBuf};

use libtest_mimic::{Arguments, Failed, Trial};
use num_bigint::BigUint;
use serde_json::Value;
use signer::bls::SecretKey;
use signer::derivation::{self, DerivationPath, eip2333};
use signer::keystore::{Keystore, process_password};

const KEYSTORE_CASES: [&str; 2] = [
    "eip2335_scrypt_expected.json",
    "eip2335_pbkdf2_expected.json",
];
const EIP2333_CASES: usize = 4;

fn load(path: &Path) -> Result<Value, Failed> {
    Ok(serde_json::from_str(&std::fs::read_to_string(path)?)?)
}

fn str_field<'a>(v: &'a Value, field: &str) -> Result<&'a str, Failed> {
    v[field]
        .as_str()
        .ok_or_else(|| format!("missing string field {field}").into())
}

fn hex_field(v: &Value, field: &str) -> Result<Vec<u8>, Failed> {
    let text = str_field(v, field)?;
    Ok(hex::decode(text.strip_prefix("0x").unwrap_or(text))?)
}

fn decimal_sk(v: &Value, field: &str) -> Result<SecretKey, Failed> {
    let n = BigUint::parse_bytes(str_field(v, field)?.as_bytes(), 10)
        .ok_or_else(|| format!("{field} is not a decimal integer"))?;
    let digits = n.to_bytes_be();
    let mut bytes = [0u8; 32];
    bytes[32 - digits.len()..].copy_from_slice(&digits);
    Ok(SecretKey::from_bytes(&bytes)?)
}

fn ensure(cond: bool, what: String) -> Result<(), Failed> {
    if cond { Ok(()) } else { Err(what.into()) }
}

fn keystore_case(dir: &Path, expected_file: &str) -> Result<(), Failed> {
    let expected = load(&dir.join(expected_file))?;
    let keystore_path = dir.join(str_field(&expected, "keystore_file")?);
    let text = std::fs::read_to_string(&keystore_path)?;
    let keystore = Keystore::from_json_str(&text)?;

    let password = str_field(&expected, "password")?;
    ensure(
        hex_field(&expected, "password_utf8_hex")? == password.as_bytes(),
        "password_utf8_hex".into(),
    )?;
    let processed = process_password(password);
    let want_processed = hex_field(&expected, "password_after_nfkd_and_control_strip_hex")?;
    ensure(
        processed.as_slice() == want_processed.as_slice(),
        format!(
            "processed password {} != {}",
            hex::encode(processed.as_slice()),
            hex::encode(&want_processed)
        ),
    )?;

    let secret = hex_field(&expected, "secret")?;
    let sk = keystore.decrypt(password)?;
    ensure(
        sk.to_bytes().as_slice() == secret.as_slice(),
        "decrypted secret".into(),
    )?;
    let sk2 = keystore.decrypt_processed(&want_processed)?;
    ensure(sk2.to_bytes() == sk.to_bytes(), "decrypt_processed".into())?;
    ensure(
        hex::encode(sk.public_key().to_bytes()) == str_field(&expected, "pubkey")?,
        "pubkey".into(),
    )?;
    ensure(
        keystore.path == str_field(&expected, "path")?,
        "path".into(),
    )?;
    ensure(
        matches!(
            keystore.decrypt("testpassword"),
            Err(signer::Error::WrongPassword)
        ),
        "a wrong password must fail the checksum".into(),
    )?;

    // The JSON format round-trips: same fields and values after re-serialisation.
    let reparsed = Keystore::from_json_str(&keystore.to_json_string())?;
    ensure(reparsed == keystore, "serde round trip".into())?;
    let original: Value = serde_json::from_str(&text)?;
    let reserialised: Value = serde_json::to_value(&keystore)?;
    ensure(
        original == reserialised,
        format!("JSON differs after round trip: {reserialised}"),
    )
}

fn eip2333_case(case: &Value) -> Result<(), Failed> {
    let seed = hex_field(case, "seed")?;
    let master = eip2333::derive_master_sk(&seed)?;
    ensure(
        master.to_bytes() == decimal_sk(case, "master_SK")?.to_bytes(),
        "master_SK".into(),
    )?;
    let index: u32 = str_field(case, "child_index")?.parse()?;
    let child = eip2333::derive_child_sk(&master, index);
    ensure(
        child.to_bytes() == decimal_sk(case, "child_SK")?.to_bytes(),
        "child_SK".into(),
    )?;
    if let Some(mnemonic) = case["bip39_mnemonic"].as_str() {
        let passphrase = str_field(case, "bip39_passphrase")?;
        let bip39_seed = derivation::mnemonic_to_seed(mnemonic, passphrase)?;
        ensure(
            bip39_seed.as_slice() == seed.as_slice(),
            "BIP-39 seed".into(),
        )?;
    }
    Ok(())
}

fn eip2333_intermediate(path: &Path) -> Result<(), Failed> {
    let v = load(path)?;
    let master = eip2333::derive_master_sk(&hex_field(&v, "seed")?)?;
    ensure(
        master.to_bytes() == decimal_sk(&v, "master_SK")?.to_bytes(),
        "master_SK".into(),
    )?;
    let index: u32 = str_field(&v, "child_index")?.parse()?;
    let (lamport_0, lamport_1) = eip2333::lamport_secret_keys(&master, index);
    for (name, ours) in [("lamport_0", &lamport_0), ("lamport_1", &lamport_1)] {
        let want = v[name]
            .as_array()
            .ok_or_else(|| format!("missing {name}"))?;
        ensure(
            want.len() == eip2333::LAMPORT_CHUNKS,
            format!("{name} has {} chunks", want.len()),
        )?;
        for (i, (w, o)) in want.iter().zip(ours.iter()).enumerate() {
            let w = w.as_str().unwrap_or_default();
            ensure(w == format!("0x{}", hex::encode(o)), format!("{name}[{i}]"))?;
        }
    }
    let compressed = eip2333::parent_sk_to_lamport_pk(&master, index);
    ensure(
        compressed.as_slice() == hex_field(&v, "compressed_lamport_PK")?.as_slice(),
        "compressed_lamport_PK".into(),
    )?;
    let child = eip2333::derive_child_sk(&master, index);
    ensure(
        child.to_bytes() == decimal_sk(&v, "child_SK")?.to_bytes(),
        "child_SK".into(),
    )
}

fn eip2334_paths(path: &Path) -> Result<(), Failed> {
    let v = load(path)?;
    let purpose = v["purpose"].as_u64().ok_or("purpose")?;
    let coin = v["coin_type"].as_u64().ok_or("coin_type")?;
    ensure(purpose == u64::from(derivation::PURPOSE), "purpose".into())?;
    ensure(
        coin == u64::from(derivation::ETH2_COIN_TYPE),
        "coin_type".into(),
    )?;
    for i in [0u32, 1, 12345, u32::MAX] {
        let signing = str_field(&v, "signing_key_path")?.replace('i', &i.to_string());
        let withdrawal = str_field(&v, "withdrawal_key_path")?.replace('i', &i.to_string());
        ensure(
            DerivationPath::signing(i).to_string() == signing,
            format!("signing path {i}"),
        )?;
        ensure(
            DerivationPath::withdrawal(i).to_string() == withdrawal,
            format!("withdrawal path {i}"),
        )?;
        ensure(
            signing.parse::<DerivationPath>()? == DerivationPath::signing(i),
            signing.clone(),
        )?;
    }
    for example in v["examples_from_erc_2335_keystores"]
        .as_array()
        .ok_or("examples")?
    {
        let text = example.as_str().ok_or("example path")?;
        let parsed: DerivationPath = text.parse()?;
        ensure(parsed.to_string() == text, format!("round trip of {text}"))?;
    }
    let hardened_allowed = v["hardened_keys_allowed"]
        .as_bool()
        .ok_or("hardened_keys_allowed")?;
    ensure(
        "m/12381'/3600'/0'/0'/0'".parse::<DerivationPath>().is_ok() == hardened_allowed,
        "hardened markers".into(),
    )
}

fn main() {
    let args = Arguments::from_args();
    let mut trials = Vec::new();
    if let Some(dir) = types::test_vectors::vectors_subdir("keystore") {
        let dir: PathBuf = dir;
        for file in KEYSTORE_CASES {
            let d = dir.clone();
            trials.push(Trial::test(format!("eip2335::{file}"), move || {
                keystore_case(&d, file)
            }));
        }
        let cases = load(&dir.join("eip2333_test_cases.json"))
            .unwrap_or_else(|e| panic!("eip2333_test_cases.json: {e:?}"));
        let cases = cases["cases"].as_array().cloned().unwrap_or_default();
        assert_eq!(cases.len(), EIP2333_CASES, "EIP-2333 case count");
        for (i, case) in cases.into_iter().enumerate() {
            trials.push(Trial::test(format!("eip2333::case_{i}"), move || {
                eip2333_case(&case)
            }));
        }
        let d = dir.clone();
        trials.push(Trial::test("eip2333::intermediate_values", move || {
            eip2333_intermediate(&d.join("eip2333_intermediate_values.json"))
        }));
        let d = dir.clone();
        trials.push(Trial::test("eip2334::paths", move || {
            eip2334_paths(&d.join("eip2334_paths.json"))
        }));
        assert_eq!(trials.len(), 2 + EIP2333_CASES + 1 + 1);
    }
    libtest_mimic::run(&args, trials).exit();
}
