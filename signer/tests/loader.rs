//! Loading keystore directories and the key cache: layouts, per-file errors, duplicates and
//! every way the cache must be invalidated.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use signer::Error;
use signer::bls::SecretKey;
use signer::cache::{CacheParams, CacheStatus};
use signer::keystore::{Kdf, Keystore};
use signer::loader::{
    LoadOptions, LoadReport, LoadSource, NotKeystore, PasswordSource, Progress, load_keys,
};

const LIGHT: u8 = 4;

struct Fixture {
    _tmp: tempfile::TempDir,
    keystores: PathBuf,
    secrets: PathBuf,
    cache: PathBuf,
    keys: Vec<SecretKey>,
}

fn keystore_for(sk: &SecretKey, password: &str) -> Keystore {
    Keystore::encrypt(sk, password, Kdf::scrypt(LIGHT), "").unwrap()
}

fn password_of(i: usize) -> String {
    format!("password number {i}")
}

impl Fixture {
    fn new(n: usize) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let keystores = tmp.path().join("keystores");
        let secrets = tmp.path().join("secrets");
        std::fs::create_dir_all(&keystores).unwrap();
        std::fs::create_dir_all(&secrets).unwrap();
        // Inside the keystores directory and not hidden: the loader must still skip it.
        let cache = keystores.join("key-cache.json");
        let mut fixture = Self {
            _tmp: tmp,
            keystores,
            secrets,
            cache,
            keys: Vec::new(),
        };
        for i in 0..n {
            fixture.add_key(i);
        }
        fixture
    }

    fn add_key(&mut self, i: usize) -> PathBuf {
        let sk = SecretKey::random();
        let pk = sk.public_key().to_bytes();
        let path = self.keystores.join(format!("keystore-{i:03}.json"));
        keystore_for(&sk, &password_of(i))
            .write_new_file(&path)
            .unwrap();
        std::fs::write(
            self.secrets.join(pk.to_string()),
            format!("{}\n", password_of(i)),
        )
        .unwrap();
        self.keys.push(sk);
        path
    }

    fn options(&self) -> LoadOptions {
        let mut options = LoadOptions::new(
            &self.keystores,
            PasswordSource::PerKeyFiles(self.secrets.clone()),
        );
        options.cache_file = Some(self.cache.clone());
        options.cache_params = CacheParams {
            scrypt_log_n: LIGHT,
        };
        options.progress = Progress::Hidden;
        options
    }

    fn load(&self) -> LoadReport {
        load_keys(&self.options()).unwrap()
    }
}

fn assert_keys(report: &LoadReport, keys: &[SecretKey]) {
    let mut got: Vec<[u8; 32]> = report.keys.iter().map(|k| *k.secret.to_bytes()).collect();
    let mut want: Vec<[u8; 32]> = keys.iter().map(|k| *k.to_bytes()).collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for key in &report.keys {
        assert_eq!(key.secret.public_key().to_bytes(), key.pubkey);
    }
}

fn cache_status(report: &LoadReport) -> CacheStatus {
    match &report.source {
        LoadSource::Keystores { cache } => cache.clone(),
        LoadSource::Cache => panic!("expected a cold load, got the cache"),
    }
}

#[test]
fn cold_then_warm_from_cache() {
    let f = Fixture::new(5);
    let cold = f.load();
    assert!(cold.errors.is_empty(), "{:?}", cold.errors);
    assert_eq!(cache_status(&cold), CacheStatus::Missing);
    assert!(cold.cache_written);
    assert_keys(&cold, &f.keys);
    let mode = std::fs::metadata(&f.cache).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "cache file mode");

    let warm = f.load();
    assert_eq!(warm.source, LoadSource::Cache);
    let signer = signer::LocalSigner::from_loaded_keys(f.load().keys);
    assert_eq!(signer.len(), f.keys.len());
    for key in &f.keys {
        assert!(signer::Signer::has_key(
            &signer,
            &key.public_key().to_bytes()
        ));
    }
    assert!(!warm.cache_written);
    assert_keys(&warm, &f.keys);
    let paths: Vec<&Path> = warm
        .keys
        .iter()
        .map(|k| k.keystore_path.as_path())
        .collect();
    let cold_paths: Vec<&Path> = cold
        .keys
        .iter()
        .map(|k| k.keystore_path.as_path())
        .collect();
    assert_eq!(paths, cold_paths);
}

#[test]
fn cache_invalidated_by_added_file() {
    let mut f = Fixture::new(3);
    assert!(f.load().cache_written);
    f.add_key(3);
    let report = f.load();
    assert!(matches!(cache_status(&report), CacheStatus::Stale(r) if r.contains("added")));
    assert_keys(&report, &f.keys);
    assert!(report.cache_written);
    assert_eq!(f.load().source, LoadSource::Cache);
}

#[test]
fn cache_invalidated_by_removed_file() {
    let mut f = Fixture::new(3);
    f.load();
    std::fs::remove_file(f.keystores.join("keystore-001.json")).unwrap();
    f.keys.remove(1);
    let report = f.load();
    assert!(matches!(cache_status(&report), CacheStatus::Stale(r) if r.contains("removed")));
    assert_keys(&report, &f.keys);
}

#[test]
fn cache_invalidated_by_changed_file() {
    let f = Fixture::new(3);
    f.load();
    // Same key re-encrypted (new salt and IV): a different file with the same pubkey.
    let path = f.keystores.join("keystore-002.json");
    std::fs::remove_file(&path).unwrap();
    keystore_for(&f.keys[2], &password_of(2))
        .write_new_file(&path)
        .unwrap();
    let report = f.load();
    assert!(matches!(cache_status(&report), CacheStatus::Stale(r) if r.contains("modified")));
    assert_keys(&report, &f.keys);
}

#[test]
fn cache_refused_when_password_changes() {
    let f = Fixture::new(3);
    f.load();
    let pk = f.keys[0].public_key().to_bytes();
    std::fs::write(f.secrets.join(pk.to_string()), "not the password").unwrap();
    let report = f.load();
    assert_eq!(cache_status(&report), CacheStatus::PasswordMismatch);
    assert_eq!(report.errors.len(), 1);
    assert!(matches!(report.errors[0].error, Error::WrongPassword));
    assert_eq!(report.keys.len(), 2);
    assert!(!report.cache_written, "a partial set is never cached");
}

#[test]
fn corrupt_cache_is_not_fatal() {
    let f = Fixture::new(3);
    f.load();
    std::fs::write(&f.cache, b"{ this is not json").unwrap();
    let report = f.load();
    assert!(matches!(cache_status(&report), CacheStatus::Corrupt(_)));
    assert_keys(&report, &f.keys);
    assert!(report.cache_written);
    assert_eq!(f.load().source, LoadSource::Cache);
}

fn uuid_like() -> String {
    "00000000-0000-4000-8000-000000000000".to_owned()
}

#[test]
fn tampered_cache_is_refused() {
    let f = Fixture::new(3);
    f.load();
    let text = std::fs::read_to_string(&f.cache).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    // Swapping two pubkeys in the clear-text index must fail the authenticated checksum.
    let entries = json["keystores"].as_array_mut().unwrap();
    let (a, b) = (entries[0]["pubkey"].clone(), entries[1]["pubkey"].clone());
    entries[0]["pubkey"] = b;
    entries[1]["pubkey"] = a;
    std::fs::write(&f.cache, json.to_string()).unwrap();
    let report = f.load();
    assert_eq!(cache_status(&report), CacheStatus::PasswordMismatch);
    assert_keys(&report, &f.keys);

    // Editing a field that feeds nothing but the index digest (a UUID) is caught too.
    let text = std::fs::read_to_string(&f.cache).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    json["keystores"][0]["uuid"] = uuid_like().into();
    std::fs::write(&f.cache, json.to_string()).unwrap();
    assert_eq!(cache_status(&f.load()), CacheStatus::PasswordMismatch);

    // A truncated ciphertext is corrupt.
    let text = std::fs::read_to_string(&f.cache).unwrap();
    let mut json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let ct = json["ciphertext"].as_str().unwrap().to_owned();
    json["ciphertext"] = ct[..ct.len() - 64].into();
    std::fs::write(&f.cache, json.to_string()).unwrap();
    assert!(matches!(cache_status(&f.load()), CacheStatus::Corrupt(_)));
}

#[test]
fn shared_password_and_per_validator_directories() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("validators");
    let keys: Vec<SecretKey> = (0..3).map(|_| SecretKey::random()).collect();
    for sk in &keys {
        let sub = dir.join(sk.public_key().to_bytes().to_string());
        std::fs::create_dir_all(&sub).unwrap();
        keystore_for(sk, "shared secret")
            .write_new_file(&sub.join("voting-keystore.json"))
            .unwrap();
    }
    // Not keystores: ignored.
    std::fs::write(dir.join("README.txt"), "hello").unwrap();
    std::fs::write(dir.join(".hidden.json"), "{}").unwrap();
    let password = tmp.path().join("password.txt");
    std::fs::write(&password, "shared secret\r\n").unwrap();
    let mut options = LoadOptions::new(&dir, PasswordSource::SharedFile(password.clone()));
    options.cache_file = Some(tmp.path().join("cache.json"));
    options.cache_params = CacheParams {
        scrypt_log_n: LIGHT,
    };
    options.progress = Progress::Hidden;
    let report = load_keys(&options).unwrap();
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_keys(&report, &keys);
    // The same password without the newline still opens the cache.
    std::fs::write(&password, "shared secret").unwrap();
    assert_eq!(load_keys(&options).unwrap().source, LoadSource::Cache);
}

#[test]
fn per_file_errors_and_duplicates() {
    let mut f = Fixture::new(2);
    // A keystore without a password file.
    let orphan = SecretKey::random();
    keystore_for(&orphan, "x")
        .write_new_file(&f.keystores.join("orphan.json"))
        .unwrap();
    // Malformed JSON.
    std::fs::write(f.keystores.join("broken.json"), "{\"version\": 4").unwrap();
    // A hostile keystore: absurd scrypt n.
    let mut hostile = serde_json::to_value(keystore_for(&f.keys[0], &password_of(0))).unwrap();
    hostile["crypto"]["kdf"]["params"]["n"] = (1u64 << 40).into();
    std::fs::write(f.keystores.join("hostile.json"), hostile.to_string()).unwrap();
    // The same key as keystore-000 in a second file.
    keystore_for(&f.keys[0], &password_of(0))
        .write_new_file(&f.keystores.join("zz-duplicate.json"))
        .unwrap();
    f.add_key(2);

    let report = f.load();
    assert_keys(&report, &f.keys);
    assert!(!report.cache_written);
    let errors: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(errors.len(), 4, "{errors:#?}");
    let find = |name: &str| {
        report
            .errors
            .iter()
            .find(|e| e.path.ends_with(name))
            .unwrap_or_else(|| panic!("no error for {name}: {errors:#?}"))
    };
    assert!(matches!(
        find("orphan.json").error,
        Error::MissingPassword { .. }
    ));
    assert!(matches!(find("broken.json").error, Error::Json { .. }));
    assert!(matches!(
        find("hostile.json").error,
        Error::InvalidParameter { param: "n", .. }
    ));
    let dup = find("zz-duplicate.json");
    assert!(
        matches!(&dup.error, Error::DuplicateKey { first, .. } if first.ends_with("keystore-000.json"))
    );
    assert!(dup.to_string().contains("zz-duplicate.json"));
}

#[test]
fn unreadable_validator_directory_is_a_per_entry_error() {
    let f = Fixture::new(2);
    let locked = f.keystores.join("0xlocked");
    std::fs::create_dir(&locked).unwrap();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o000)).unwrap();
    // Root ignores directory permissions; then the directory is simply empty.
    let readable_anyway = std::fs::read_dir(&locked).is_ok();
    let report = f.load();
    std::fs::set_permissions(&locked, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert_keys(&report, &f.keys);
    if readable_anyway {
        assert!(report.errors.is_empty(), "{:?}", report.errors);
    } else {
        assert_eq!(report.errors.len(), 1, "{:?}", report.errors);
        assert!(report.errors[0].path.ends_with("0xlocked"));
        assert!(!report.cache_written);
    }
}

#[test]
fn missing_directories_are_errors() {
    let tmp = tempfile::tempdir().unwrap();
    let options = LoadOptions::new(
        tmp.path().join("nope"),
        PasswordSource::PerKeyFiles(tmp.path().to_path_buf()),
    );
    let err = load_keys(&options).unwrap_err();
    assert!(err.to_string().contains("nope"), "{err}");
    let options = LoadOptions::new(
        tmp.path(),
        PasswordSource::PerKeyFiles(tmp.path().join("gone")),
    );
    assert!(matches!(load_keys(&options), Err(Error::Io { .. })));
    let options = LoadOptions::new(
        tmp.path(),
        PasswordSource::SharedFile(tmp.path().join("pw")),
    );
    assert!(matches!(load_keys(&options), Err(Error::Io { .. })));
}

/// Keys added and removed while running: the signer rewrites the cache for the new set, and
/// the next load uses it; a set the signer cannot describe removes the cache instead.
#[test]
fn cache_rewritten_after_runtime_changes() {
    use signer::cache::{CacheUpdate, rewrite};

    let mut f = Fixture::new(3);
    let signer = signer::LocalSigner::from_loaded_keys(f.load().keys);
    let params = CacheParams {
        scrypt_log_n: LIGHT,
    };
    let passwords = PasswordSource::PerKeyFiles(f.secrets.clone());

    // A key imported at run time: written to disk and added to the signer.
    f.add_key(3);
    signer.add_keys([f.keys[3].clone()]);
    let update = signer
        .rewrite_key_cache(&f.cache, &f.keystores, &passwords, params)
        .unwrap();
    assert_eq!(update, CacheUpdate::Written(4));
    let report = f.load();
    assert_eq!(
        report.source,
        LoadSource::Cache,
        "the rewritten cache is used"
    );
    assert_keys(&report, &f.keys);

    // A key deleted at run time.
    std::fs::remove_file(f.keystores.join("keystore-000.json")).unwrap();
    assert!(signer.remove_key(&f.keys[0].public_key().to_bytes()));
    f.keys.remove(0);
    let update = signer
        .rewrite_key_cache(&f.cache, &f.keystores, &passwords, params)
        .unwrap();
    assert_eq!(update, CacheUpdate::Written(3));
    let report = f.load();
    assert_eq!(report.source, LoadSource::Cache);
    assert_keys(&report, &f.keys);

    // A keystore whose key the signer does not hold: the cache is removed, never stale.
    let stranger = f.add_key(9);
    let update = rewrite(&f.cache, &f.keystores, &passwords, params, |_| None).unwrap();
    assert!(
        matches!(&update, CacheUpdate::Removed(reason) if reason.contains("not loaded")),
        "{update:?}"
    );
    assert!(!f.cache.exists());
    let report = f.load();
    assert_eq!(cache_status(&report), CacheStatus::Missing);
    assert_keys(&report, &f.keys);
    std::fs::remove_file(stranger).unwrap();
}

/// Log lines written while `f` runs on this thread.
fn logged<T>(f: impl FnOnce() -> T) -> (T, String) {
    #[derive(Clone, Default)]
    struct Buffer(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);
    impl std::io::Write for Buffer {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buffer = Buffer::default();
    let writer = buffer.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_ansi(false)
        .with_max_level(tracing::Level::INFO)
        .with_writer(move || writer.clone())
        .finish();
    let out = tracing::subscriber::with_default(subscriber, f);
    let text = String::from_utf8_lossy(&buffer.0.lock().unwrap()).into_owned();
    (out, text)
}

/// What ethstaker-deposit / staking-deposit-cli writes beside the keystores.
fn deposit_data(keys: &[SecretKey]) -> String {
    let entries: Vec<serde_json::Value> = keys
        .iter()
        .map(|sk| {
            serde_json::json!({
                "pubkey": hex::encode(sk.public_key().to_bytes()),
                "withdrawal_credentials":
                    "010000000000000000000000d6f2a4f4d6a1b1c5f0e6c2b4a3d9e8f7a6b5c4d3",
                "amount": 32_000_000_000u64,
                "signature": "a".repeat(192),
                "deposit_message_root": "b".repeat(64),
                "deposit_data_root": "c".repeat(64),
                "fork_version": "00000000",
                "network_name": "mainnet",
                "deposit_cli_version": "2.7.0",
            })
        })
        .collect();
    serde_json::Value::Array(entries).to_string()
}

#[test]
fn files_that_are_not_keystores_are_skipped_with_a_reason() {
    let f = Fixture::new(3);
    let deposit = f.keystores.join("deposit_data-1700000000.json");
    std::fs::write(&deposit, deposit_data(&f.keys)).unwrap();
    std::fs::write(f.keystores.join("README.md"), "# my validators\n").unwrap();
    std::fs::write(
        f.keystores.join(".DS_Store"),
        [0u8, 0, 0, 1, 0x42, 0x75, 0x64, 0x31],
    )
    .unwrap();
    // An EIP-3076 export kept beside the keystores: an object, but not a keystore.
    std::fs::write(
        f.keystores.join("slashing_protection.json"),
        r#"{"metadata":{"interchange_format_version":"5","genesis_validators_root":"0x00"},"data":[]}"#,
    )
    .unwrap();
    std::fs::create_dir_all(f.keystores.join("backup").join("old")).unwrap();

    let (report, logs) = logged(|| f.load());
    assert!(report.errors.is_empty(), "{:?}", report.errors);
    assert_keys(&report, &f.keys);
    assert!(
        report.cache_written,
        "stray files do not keep the cache from being written"
    );
    let skipped: Vec<(String, NotKeystore)> = report
        .skipped
        .iter()
        .map(|s| {
            let name = s.path.strip_prefix(&f.keystores).unwrap();
            (name.display().to_string(), s.reason.clone())
        })
        .collect();
    assert_eq!(
        skipped,
        vec![
            (".DS_Store".to_owned(), NotKeystore::Hidden),
            ("README.md".to_owned(), NotKeystore::NotJsonFile),
            ("backup/old".to_owned(), NotKeystore::NestedDirectory),
            (
                "deposit_data-1700000000.json".to_owned(),
                NotKeystore::NotAnObject("array")
            ),
            (
                "slashing_protection.json".to_owned(),
                NotKeystore::MissingKeystoreMembers
            ),
        ]
    );
    // One informational line per file, naming it and why; nothing at warning or error level.
    for (name, reason) in &skipped {
        let line = logs
            .lines()
            .find(|l| l.contains(name.as_str()))
            .unwrap_or_else(|| panic!("no line for {name}: {logs}"));
        assert!(line.contains(" INFO "), "{line}");
        assert!(line.contains("not a keystore"), "{line}");
        assert!(line.contains(&reason.to_string()), "{line}");
        assert_eq!(
            logs.matches(name.as_str()).count(),
            1,
            "one line for {name}: {logs}"
        );
    }
    assert!(
        !logs.contains(" WARN ") && !logs.contains(" ERROR "),
        "{logs}"
    );

    // Warm start: the same files, the cache is valid (stray files are not in its set).
    let (warm, logs) = logged(|| f.load());
    assert_eq!(warm.source, LoadSource::Cache);
    assert_eq!(warm.skipped.len(), 5);
    assert!(logs.contains("deposit_data-1700000000.json"), "{logs}");
    // Adding or editing a stray file does not invalidate the cache either.
    std::fs::write(&deposit, deposit_data(&f.keys[..1])).unwrap();
    assert_eq!(f.load().source, LoadSource::Cache);

    // The cache rewrite after a run-time change describes the same set (not removed).
    let signer = signer::LocalSigner::from_loaded_keys(warm.keys);
    let update = signer
        .rewrite_key_cache(
            &f.cache,
            &f.keystores,
            &PasswordSource::PerKeyFiles(f.secrets.clone()),
            CacheParams {
                scrypt_log_n: LIGHT,
            },
        )
        .unwrap();
    assert_eq!(update, signer::cache::CacheUpdate::Written(3));
    assert_eq!(f.load().source, LoadSource::Cache);
}

#[test]
fn a_broken_keystore_stays_an_error() {
    let f = Fixture::new(2);
    // Has the keystore members, so it is a keystore: a wrong version is an error.
    let mut old = serde_json::to_value(keystore_for(&f.keys[0], &password_of(0))).unwrap();
    old["version"] = 3.into();
    std::fs::write(f.keystores.join("old-version.json"), old.to_string()).unwrap();
    // A keystore whose crypto module lost a field.
    let mut damaged = serde_json::to_value(keystore_for(&f.keys[1], &password_of(1))).unwrap();
    damaged["crypto"]
        .as_object_mut()
        .unwrap()
        .remove("checksum");
    std::fs::write(f.keystores.join("damaged.json"), damaged.to_string()).unwrap();
    // Truncated copy: not even JSON, so it cannot be told apart from a keystore.
    let full = keystore_for(&f.keys[1], &password_of(1)).to_json_string();
    std::fs::write(f.keystores.join("truncated.json"), &full[..full.len() / 2]).unwrap();

    let (report, logs) = logged(|| f.load());
    assert_keys(&report, &f.keys);
    assert!(report.skipped.is_empty(), "{:?}", report.skipped);
    let mut failed: Vec<String> = report
        .errors
        .iter()
        .map(|e| e.path.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    failed.sort();
    assert_eq!(
        failed,
        ["damaged.json", "old-version.json", "truncated.json"]
    );
    assert!(matches!(
        report
            .errors
            .iter()
            .find(|e| e.path.ends_with("old-version.json"))
            .unwrap()
            .error,
        Error::UnsupportedKeystoreVersion(3)
    ));
    assert!(!report.cache_written);
    for name in ["damaged.json", "old-version.json", "truncated.json"] {
        assert!(
            logs.lines()
                .any(|l| l.contains(" WARN ") && l.contains(name)),
            "{name}: {logs}"
        );
    }
}

#[test]
fn classification_of_json_files() {
    use signer::loader::classify_json;
    let keystore = keystore_for(&SecretKey::random(), "pw").to_json_string();
    assert_eq!(classify_json(keystore.as_bytes()), None);
    assert_eq!(classify_json(br#"{"crypto": {}, "version": 4}"#), None);
    assert_eq!(
        classify_json(b"{\"crypto\": "),
        None,
        "not JSON: a damaged keystore"
    );
    assert_eq!(
        classify_json(br#"{"crypto": {}}"#),
        Some(NotKeystore::MissingKeystoreMembers)
    );
    assert_eq!(
        classify_json(br#"{"version": 4}"#),
        Some(NotKeystore::MissingKeystoreMembers)
    );
    assert_eq!(
        classify_json(b"[]"),
        Some(NotKeystore::NotAnObject("array"))
    );
    assert_eq!(
        classify_json(b"\"x\""),
        Some(NotKeystore::NotAnObject("string"))
    );
    assert_eq!(
        classify_json(b"null"),
        Some(NotKeystore::NotAnObject("null"))
    );
}
