//! Keystore unit tests: round trips, wrong password, hostile files. The official vectors run
//! in `tests/keystore_vectors.rs`.

use std::os::unix::fs::PermissionsExt;

use super::*;

fn light_keystore(password: &str) -> (SecretKey, Keystore) {
    let sk = SecretKey::random();
    let ks = Keystore::encrypt(&sk, password, Kdf::scrypt(4), "m/12381/3600/0/0/0").unwrap();
    (sk, ks)
}

fn mutate(ks: &Keystore, f: impl FnOnce(&mut serde_json::Value)) -> String {
    let mut json = serde_json::to_value(ks).unwrap();
    f(&mut json);
    json.to_string()
}

#[test]
fn encrypt_decrypt_roundtrip_scrypt_and_pbkdf2() {
    for kdf in [Kdf::scrypt(4), Kdf::pbkdf2(16)] {
        let sk = SecretKey::random();
        let ks = Keystore::encrypt(&sk, "pässword 1", kdf, "").unwrap();
        let back = ks.decrypt("pässword 1").unwrap();
        assert_eq!(back.to_bytes(), sk.to_bytes());
        let reparsed = Keystore::from_json_str(&ks.to_json_string()).unwrap();
        assert_eq!(reparsed, ks);
    }
}

#[test]
fn wrong_password_is_clear() {
    let (_, ks) = light_keystore("right");
    let err = ks.decrypt("wrong").unwrap_err();
    assert!(matches!(err, Error::WrongPassword), "{err:?}");
    assert!(err.to_string().contains("wrong password"));
}

#[test]
fn new_file_is_0600_and_not_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let (_, ks) = light_keystore("pw");
    let path = dir.path().join("k.json");
    ks.write_new_file(&path).unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    assert!(matches!(ks.write_new_file(&path), Err(Error::Io { .. })));
    assert_eq!(Keystore::from_file(&path).unwrap(), ks);
}

#[test]
fn version_and_functions_are_checked() {
    let (_, ks) = light_keystore("pw");
    let v3 = mutate(&ks, |j| j["version"] = 3.into());
    assert!(matches!(
        Keystore::from_json_str(&v3),
        Err(Error::UnsupportedKeystoreVersion(3))
    ));
    let cipher = mutate(&ks, |j| {
        j["crypto"]["cipher"]["function"] = "aes-256-gcm".into()
    });
    let err = Keystore::from_json_str(&cipher).unwrap_err();
    assert!(err.to_string().contains("aes-256-gcm"), "{err}");
    let checksum = mutate(&ks, |j| {
        j["crypto"]["checksum"]["function"] = "keccak256".into()
    });
    assert!(Keystore::from_json_str(&checksum).is_err());
}

#[test]
fn hostile_parameters_refused_before_work() {
    let (_, ks) = light_keystore("pw");
    type Mutation = Box<dyn Fn(&mut serde_json::Value)>;
    let cases: Vec<(&str, Mutation)> = vec![
        (
            "n",
            Box::new(|j| j["crypto"]["kdf"]["params"]["n"] = 1_000.into()),
        ),
        (
            "n",
            Box::new(|j| j["crypto"]["kdf"]["params"]["n"] = (1u64 << 40).into()),
        ),
        (
            "p",
            Box::new(|j| j["crypto"]["kdf"]["params"]["p"] = 1_000_000.into()),
        ),
        (
            "dklen",
            Box::new(|j| j["crypto"]["kdf"]["params"]["dklen"] = 64.into()),
        ),
        (
            "salt",
            Box::new(|j| j["crypto"]["kdf"]["params"]["salt"] = "".into()),
        ),
        (
            "iv",
            Box::new(|j| j["crypto"]["cipher"]["params"]["iv"] = "0011".into()),
        ),
        (
            "message",
            Box::new(|j| j["crypto"]["cipher"]["message"] = "00".repeat(48).into()),
        ),
        (
            "message",
            Box::new(|j| j["crypto"]["checksum"]["message"] = "00".into()),
        ),
    ];
    for (param, f) in cases {
        let json = mutate(&ks, f);
        match Keystore::from_json_str(&json) {
            Err(Error::InvalidParameter { param: p, .. }) => assert_eq!(p, param),
            other => panic!("expected refusal of {param}, got {other:?}"),
        }
    }
    let bad_hex = mutate(&ks, |j| j["crypto"]["kdf"]["params"]["salt"] = "zz".into());
    let err = Keystore::from_json_str(&bad_hex).unwrap_err();
    assert!(err.to_string().contains("invalid hex"), "{err}");
}

#[test]
fn pubkey_mismatch_is_detected() {
    let (_, ks) = light_keystore("pw");
    let other = hex::encode(SecretKey::random().public_key().to_bytes());
    let json = mutate(&ks, |j| j["pubkey"] = other.clone().into());
    let ks = Keystore::from_json_str(&json).unwrap();
    let err = ks.decrypt("pw").unwrap_err();
    assert!(matches!(err, Error::PubkeyMismatch { .. }), "{err:?}");
    assert!(err.to_string().contains(&other));
}

#[test]
fn truncated_json_is_a_json_error() {
    let (_, ks) = light_keystore("pw");
    let json = ks.to_json_string();
    let err = Keystore::from_json_str(&json[..json.len() / 2]).unwrap_err();
    assert!(
        matches!(
            err,
            Error::Json {
                what: "keystore",
                ..
            }
        ),
        "{err:?}"
    );
}
