//! The batch signer: many keys signing the same message pay for hash-to-curve once.
//!
//! A BLS signature is `sk · H(m)`. Per key, plain signing costs one hash-to-G2 plus one G2
//! scalar multiplication; when N keys sign the same signing root (every attester of a committee,
//! all sync-committee members of a slot) the hash is shared, so the batch costs one hash plus N
//! multiplications. The projective results are converted to affine in chunks with one shared
//! field inversion (`blst_p2s_to_affine`) before compression.
//!
//! Invariant: the output is byte-identical to `blst::min_pk::SecretKey::sign(root, DST, [])`
//! for every key (checked by a property test). Work runs on the current rayon pool: call from a
//! blocking thread, never from an async worker.

use rayon::prelude::*;
use types::{Hash256, SignatureBytes};

use crate::bls::{DST, SecretKey};

/// Most points per affine-conversion chunk: enough to amortise the one shared inversion.
const MAX_CHUNK: usize = 32;

/// Chunk size for `n` signatures: at most [`MAX_CHUNK`], and small enough that every thread
/// of the pool gets several chunks (a 32-key committee must still use all cores).
fn chunk_size(n: usize) -> usize {
    let per_thread = n.div_ceil(4 * rayon::current_num_threads());
    per_thread.clamp(1, MAX_CHUNK)
}

/// A hashed message: `H(root)` in G2 (projective).
struct HashedRoot(blst::blst_p2);

impl HashedRoot {
    fn new(root: &Hash256) -> Self {
        let mut point = blst::blst_p2::default();
        // SAFETY: `point` is a valid out-pointer; the message and DST slices outlive the call.
        unsafe {
            blst::blst_hash_to_g2(
                &mut point,
                root.as_ptr(),
                root.len(),
                DST.as_ptr(),
                DST.len(),
                std::ptr::null(),
                0,
            );
        }
        Self(point)
    }
}

/// Signs one chunk of (hash, key) pairs into `out`.
fn sign_chunk(pairs: &[(&HashedRoot, &SecretKey)], out: &mut [SignatureBytes]) {
    let mut projective = vec![blst::blst_p2::default(); pairs.len()];
    for ((hash, key), point) in pairs.iter().zip(projective.iter_mut()) {
        // SAFETY: valid out-pointer and inputs that live for the call.
        unsafe { blst::blst_sign_pk_in_g1(point, &hash.0, key.as_blst()) };
    }
    let ptrs: Vec<*const blst::blst_p2> = projective.iter().map(|p| p as *const _).collect();
    let mut affine = vec![blst::blst_p2_affine::default(); pairs.len()];
    // SAFETY: `ptrs` has `pairs.len()` valid pointers and `affine` as many slots.
    unsafe { blst::blst_p2s_to_affine(affine.as_mut_ptr(), ptrs.as_ptr(), ptrs.len()) };
    for (point, sig) in affine.iter().zip(out.iter_mut()) {
        let mut bytes = [0u8; 96];
        // SAFETY: a 96-byte buffer is what the compressed G2 encoding needs.
        unsafe { blst::blst_p2_affine_compress(bytes.as_mut_ptr(), point) };
        *sig = SignatureBytes::from(bytes);
    }
}

/// Signs `root` with every key in `keys`, in parallel; output in key order.
pub fn sign_batch(root: &Hash256, keys: &[&SecretKey]) -> Vec<SignatureBytes> {
    sign_groups(&[(*root, keys.to_vec())])
        .pop()
        .unwrap_or_default()
}

/// Signs several (root, keys) groups in one parallel pass: each root is hashed once, then all
/// (key, hashed root) pairs are spread over the pool. Output: one vector per group, in key order.
pub fn sign_groups(groups: &[(Hash256, Vec<&SecretKey>)]) -> Vec<Vec<SignatureBytes>> {
    // Handing work to the pool costs a thread wake-up; a lone hash or signature is cheaper
    // done right here.
    let hashes: Vec<HashedRoot> = if groups.len() < 2 {
        groups
            .iter()
            .map(|(root, _)| HashedRoot::new(root))
            .collect()
    } else {
        groups
            .par_iter()
            .map(|(root, _)| HashedRoot::new(root))
            .collect()
    };
    let pairs: Vec<(&HashedRoot, &SecretKey)> = groups
        .iter()
        .zip(&hashes)
        .flat_map(|((_, keys), hash)| keys.iter().map(move |key| (hash, *key)))
        .collect();
    let mut flat = vec![SignatureBytes::ZERO; pairs.len()];
    let chunk = chunk_size(pairs.len());
    if pairs.len() < 2 {
        sign_chunk(&pairs, &mut flat);
    } else {
        pairs
            .par_chunks(chunk)
            .zip(flat.par_chunks_mut(chunk))
            .for_each(|(chunk, out)| sign_chunk(chunk, out));
    }
    let mut flat = flat.into_iter();
    groups
        .iter()
        .map(|(_, keys)| flat.by_ref().take(keys.len()).collect())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn plain_sign(key: &SecretKey, root: &Hash256) -> SignatureBytes {
        key.sign(root.as_slice()).to_bytes()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]
        #[test]
        fn batch_is_byte_identical_to_plain_signing(
            seeds in prop::collection::vec(any::<[u8; 32]>(), 0..70),
            roots in prop::collection::vec(any::<[u8; 32]>(), 1..4),
        ) {
            let keys: Vec<SecretKey> = seeds
                .iter()
                .map(|s| {
                    let sk = blst::min_pk::SecretKey::key_gen(s, &[]).unwrap();
                    SecretKey::from_bytes(&sk.to_bytes()).unwrap()
                })
                .collect();
            let key_refs: Vec<&SecretKey> = keys.iter().collect();
            let root = Hash256::from(roots[0]);
            let batch = sign_batch(&root, &key_refs);
            prop_assert_eq!(batch.len(), keys.len());
            for (key, sig) in keys.iter().zip(&batch) {
                let reference = blst::min_pk::SecretKey::from_bytes(key.to_bytes().as_ref())
                    .unwrap()
                    .sign(root.as_slice(), DST, &[])
                    .compress();
                prop_assert_eq!(sig.as_slice(), &reference[..]);
            }
            // Grouped form: split the keys over the roots unevenly.
            let groups: Vec<(Hash256, Vec<&SecretKey>)> = roots
                .iter()
                .enumerate()
                .map(|(g, r)| {
                    let ks = key_refs.iter().skip(g).step_by(g + 1).copied().collect();
                    (Hash256::from(*r), ks)
                })
                .collect();
            let grouped = sign_groups(&groups);
            prop_assert_eq!(grouped.len(), groups.len());
            for ((root, ks), sigs) in groups.iter().zip(&grouped) {
                prop_assert_eq!(sigs.len(), ks.len());
                for (k, s) in ks.iter().zip(sigs) {
                    prop_assert_eq!(*s, plain_sign(k, root));
                }
            }
        }
    }

    #[test]
    fn empty_inputs() {
        assert!(sign_batch(&Hash256::ZERO, &[]).is_empty());
        assert!(sign_groups(&[]).is_empty());
        let grouped = sign_groups(&[(Hash256::ZERO, vec![])]);
        assert_eq!(grouped, vec![Vec::<SignatureBytes>::new()]);
    }
}
