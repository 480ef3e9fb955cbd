//! Signing one message with N keys (a slot's attestations for N validators): plain per-key
//! blst signing (the baseline: hash-to-curve + scalar multiplication for every key) against
//! the batch signer (one hash-to-curve, then scalar multiplications), on one core (a 1-thread
//! rayon pool) and on all cores. Throughput is in signatures per second; the time per
//! signature is the iteration time divided by N.

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use rayon::prelude::*;
use signer::batch::sign_batch;
use signer::bls::{DST, SecretKey};
use types::Hash256;

const SIZES: [usize; 4] = [1, 32, 313, 3125];

fn naive(keys: &[blst::min_pk::SecretKey], root: &Hash256) -> Vec<[u8; 96]> {
    keys.iter()
        .map(|k| k.sign(root.as_slice(), DST, &[]).compress())
        .collect()
}

fn naive_parallel(keys: &[blst::min_pk::SecretKey], root: &Hash256) -> Vec<[u8; 96]> {
    keys.par_iter()
        .map(|k| k.sign(root.as_slice(), DST, &[]).compress())
        .collect()
}

fn bench(c: &mut Criterion) {
    let ours: Vec<SecretKey> = (0..SIZES[3]).map(|_| SecretKey::random()).collect();
    let theirs: Vec<blst::min_pk::SecretKey> = ours
        .iter()
        .map(|k| blst::min_pk::SecretKey::from_bytes(k.to_bytes().as_ref()).expect("valid key"))
        .collect();
    let root = Hash256::repeat_byte(0x5a);
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("1-thread pool");

    // Sanity: the two paths agree byte for byte before anything is timed.
    let refs: Vec<&SecretKey> = ours.iter().take(8).collect();
    let batch = sign_batch(&root, &refs);
    for (b, n) in batch.iter().zip(naive(&theirs[..8], &root)) {
        assert_eq!(b.as_slice(), &n[..], "batch and naive signatures differ");
    }

    for (label, all_cores) in [("one_core", false), ("all_cores", true)] {
        let mut group = c.benchmark_group(format!("sign_slot/{label}"));
        group.sample_size(10);
        group.warm_up_time(std::time::Duration::from_secs(1));
        for n in SIZES {
            group.throughput(Throughput::Elements(n as u64));
            let keys: Vec<&SecretKey> = ours.iter().take(n).collect();
            let blst_keys = &theirs[..n];
            group.bench_with_input(BenchmarkId::new("naive", n), &n, |b, _| {
                if all_cores {
                    b.iter(|| black_box(naive_parallel(blst_keys, &root)));
                } else {
                    b.iter(|| black_box(naive(blst_keys, &root)));
                }
            });
            group.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
                if all_cores {
                    b.iter(|| black_box(sign_batch(&root, &keys)));
                } else {
                    b.iter(|| one_core.install(|| black_box(sign_batch(&root, &keys))));
                }
            });
        }
        group.finish();
    }
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
