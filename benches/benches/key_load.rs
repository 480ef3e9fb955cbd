//! Key loading at start-up.
//!
//! - `key_load/warm_10000`: a restart of 10,000 keys from the key cache (default cache KDF,
//!   scrypt n = 2^18): listing and digesting 10,000 keystore files, reading 10,000 password
//!   files, one KDF, one decryption, 10,000 pubkey checks. Target <= 3 s. The keystore files
//!   themselves use a light KDF (n = 2^4) because generating 10,000 standard ones would take
//!   hours; a warm start never runs their KDF, so this does not change what is measured.
//! - `key_load/cold_standard`: decrypting 2 x cores standard EIP-2335 keystores (scrypt
//!   n = 2^18, r = 8, p = 1) with the parallel loader, against `key_load/raw_scrypt`: one
//!   scrypt n = 2^18 on one thread, measured in the same run. Target: cold rate >= 0.9 x cores
//!   x raw rate.

use std::path::Path;
use std::time::Duration;

use criterion::{Criterion, Throughput, criterion_main};
use signer::bls::SecretKey;
use signer::keystore::{Kdf, Keystore};
use signer::loader::{LoadOptions, LoadSource, PasswordSource, Progress, load_keys};

const WARM_KEYS: usize = 10_000;

fn write_keystores(dir: &Path, secrets: &Path, n: usize, log_n: u8) {
    std::fs::create_dir_all(dir).expect("keystores dir");
    std::fs::create_dir_all(secrets).expect("secrets dir");
    for i in 0..n {
        let sk = SecretKey::random();
        let password = format!("password-{i}");
        Keystore::encrypt(&sk, &password, Kdf::scrypt(log_n), "")
            .expect("encrypt")
            .write_new_file(&dir.join(format!("keystore-{i:05}.json")))
            .expect("write keystore");
        std::fs::write(
            secrets.join(sk.public_key().to_bytes().to_string()),
            password,
        )
        .expect("write password");
    }
}

fn bench(c: &mut Criterion) {
    let cores = rayon::current_num_threads();
    let tmp = tempfile::tempdir().expect("tempdir");

    // Warm start from the cache.
    let warm_dir = tmp.path().join("warm");
    let warm_secrets = tmp.path().join("warm-secrets");
    write_keystores(&warm_dir, &warm_secrets, WARM_KEYS, 4);
    let mut warm = LoadOptions::new(&warm_dir, PasswordSource::PerKeyFiles(warm_secrets));
    warm.cache_file = Some(tmp.path().join("key-cache.json"));
    warm.progress = Progress::Hidden;
    let first = load_keys(&warm).expect("cold load");
    assert!(first.errors.is_empty() && first.cache_written && first.keys.len() == WARM_KEYS);

    let mut group = c.benchmark_group("key_load");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.throughput(Throughput::Elements(WARM_KEYS as u64));
    group.bench_function("warm_10000", |b| {
        b.iter(|| {
            let report = load_keys(&warm).expect("warm load");
            assert_eq!(report.source, LoadSource::Cache);
            assert_eq!(report.keys.len(), WARM_KEYS);
            report
        })
    });

    // Cold decryption of standard keystores vs the raw KDF cost.
    let cold_n = 2 * cores;
    let cold_dir = tmp.path().join("cold");
    let cold_secrets = tmp.path().join("cold-secrets");
    write_keystores(&cold_dir, &cold_secrets, cold_n, 18);
    let mut cold = LoadOptions::new(&cold_dir, PasswordSource::PerKeyFiles(cold_secrets));
    cold.progress = Progress::Hidden;
    group.measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(cold_n as u64));
    group.bench_function(format!("cold_standard_{cold_n}"), |b| {
        b.iter(|| {
            let report = load_keys(&cold).expect("cold load");
            assert_eq!(report.keys.len(), cold_n);
            report
        })
    });
    group.throughput(Throughput::Elements(1));
    let kdf = Kdf::scrypt(18);
    group.bench_function("raw_scrypt", |b| {
        b.iter(|| kdf.derive(b"password-0").expect("scrypt"))
    });
    group.finish();
}

/// The criterion entry point.
pub mod harness {
    #![expect(
        missing_docs,
        reason = "criterion_group! expands to an undocumented pub fn"
    )]
    criterion::criterion_group!(benches, super::bench);
}
criterion_main!(harness::benches);
