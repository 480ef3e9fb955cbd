//! Signing one message with N keys (a slot's attestations for N validators): plain per-key
//! blst signing (the baseline: hash-to-curve + scalar multiplication for every key) against
//! the batch signer (one hash-to-curve, then scalar multiplications).
//!
//! - `sign_slot_cpu/one_core`: both on one core (a 1-thread rayon pool for the batch signer),
//!   measured in *process CPU time*: the machine's 2 cores are shared with other work, and CPU
//!   time is what a one-core comparison is about, unaffected by time spent runnable but
//!   descheduled.
//! - `sign_slot/all_cores`: both spread over all cores (rayon), measured in wall time.
//!
//! Throughput is in signatures per second; time per signature is iteration time / N.

use std::hint::black_box;
use std::time::Duration;

use criterion::measurement::{Measurement, ValueFormatter};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_main};
use rayon::prelude::*;
use signer::batch::sign_batch;
use signer::bls::{DST, SecretKey};
use types::Hash256;

const SIZES: [usize; 4] = [1, 32, 313, 3125];

/// CPU time consumed by the whole process (all threads), in nanoseconds.
pub struct ProcessCpuTime;

fn process_cpu_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid out-pointer; CLOCK_PROCESS_CPUTIME_ID exists on Linux.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime(CLOCK_PROCESS_CPUTIME_ID) failed");
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

impl Measurement for ProcessCpuTime {
    type Intermediate = u64;
    type Value = u64;
    fn start(&self) -> u64 {
        process_cpu_ns()
    }
    fn end(&self, start: u64) -> u64 {
        process_cpu_ns().saturating_sub(start)
    }
    fn add(&self, a: &u64, b: &u64) -> u64 {
        a + b
    }
    fn zero(&self) -> u64 {
        0
    }
    fn to_f64(&self, value: &u64) -> f64 {
        *value as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        &CpuFormatter
    }
}

struct CpuFormatter;

impl ValueFormatter for CpuFormatter {
    fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
        let (factor, unit) = if typical < 1e3 {
            (1.0, "ns (cpu)")
        } else if typical < 1e6 {
            (1e-3, "µs (cpu)")
        } else if typical < 1e9 {
            (1e-6, "ms (cpu)")
        } else {
            (1e-9, "s (cpu)")
        };
        values.iter_mut().for_each(|v| *v *= factor);
        unit
    }
    fn scale_throughputs(
        &self,
        _: f64,
        throughput: &Throughput,
        values: &mut [f64],
    ) -> &'static str {
        let per_iter = match *throughput {
            Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => n,
        } as f64;
        values.iter_mut().for_each(|v| *v = per_iter * 1e9 / *v);
        "elem/s (cpu)"
    }
    fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
        "ns"
    }
}

struct Fixture {
    ours: Vec<SecretKey>,
    theirs: Vec<blst::min_pk::SecretKey>,
    root: Hash256,
}

impl Fixture {
    fn new() -> Self {
        let ours: Vec<SecretKey> = (0..SIZES[3]).map(|_| SecretKey::random()).collect();
        let theirs: Vec<blst::min_pk::SecretKey> = ours
            .iter()
            .map(|k| blst::min_pk::SecretKey::from_bytes(k.to_bytes().as_ref()).expect("valid key"))
            .collect();
        let root = Hash256::repeat_byte(0x5a);
        // Sanity: the two paths agree byte for byte before anything is timed.
        let refs: Vec<&SecretKey> = ours.iter().take(8).collect();
        for (b, n) in sign_batch(&root, &refs)
            .iter()
            .zip(naive(&theirs[..8], &root))
        {
            assert_eq!(b.as_slice(), &n[..], "batch and naive signatures differ");
        }
        Self { ours, theirs, root }
    }
}

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

fn one_core(c: &mut Criterion<ProcessCpuTime>) {
    let f = Fixture::new();
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("1-thread pool");
    let mut group = c.benchmark_group("sign_slot_cpu/one_core");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        let keys: Vec<&SecretKey> = f.ours.iter().take(n).collect();
        let blst_keys = &f.theirs[..n];
        group.bench_with_input(BenchmarkId::new("naive", n), &n, |b, _| {
            b.iter(|| black_box(naive(blst_keys, &f.root)));
        });
        group.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
            b.iter(|| pool.install(|| black_box(sign_batch(&f.root, &keys))));
        });
    }
    group.finish();
}

fn all_cores(c: &mut Criterion) {
    let f = Fixture::new();
    let mut group = c.benchmark_group("sign_slot/all_cores");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    for n in SIZES {
        group.throughput(Throughput::Elements(n as u64));
        let keys: Vec<&SecretKey> = f.ours.iter().take(n).collect();
        let blst_keys = &f.theirs[..n];
        group.bench_with_input(BenchmarkId::new("naive", n), &n, |b, _| {
            b.iter(|| black_box(naive_parallel(blst_keys, &f.root)));
        });
        group.bench_with_input(BenchmarkId::new("batch", n), &n, |b, _| {
            b.iter(|| black_box(sign_batch(&f.root, &keys)));
        });
    }
    group.finish();
}

/// The criterion entry points.
pub mod harness {
    #![expect(
        missing_docs,
        reason = "criterion_group! expands to an undocumented pub fn"
    )]
    criterion::criterion_group! {
        name = cpu;
        config = criterion::Criterion::default().with_measurement(super::ProcessCpuTime);
        targets = super::one_core
    }
    criterion::criterion_group!(wall, super::all_cores);
}
criterion_main!(harness::cpu, harness::wall);
