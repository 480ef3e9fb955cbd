//! The BLS withdrawal keys a credential change is signed with, from a mnemonic (EIP-2334
//! withdrawal path `m/12381/3600/i/0`), EIP-2335 keystores, or the interop keys of dev chains.
//!
//! Invariants: keys are indexed by the `0x00` withdrawal credentials they stand for
//! (`0x00 ‖ sha256(pubkey)[1..]`), so a validator is only ever matched with the one key its
//! credentials commit to; secret keys are zeroized on drop and never printed (`Debug` shows
//! public keys only).

use std::collections::HashMap;
use std::path::Path;

use rayon::prelude::*;
use signer::bls::SecretKey;
use signer::derivation::{ETH2_COIN_TYPE, PURPOSE, eip2333, interop_secret_key, mnemonic_to_seed};
use signer::loader::{LoadOptions, PasswordSource, load_keys};
use types::{Hash256, PublicKeyBytes, bls_withdrawal_credentials};

use crate::error::{Error, Result};

/// One withdrawal key.
#[derive(Debug)]
pub struct WithdrawalKey {
    secret: SecretKey,
    /// Its public key (`from_bls_pubkey` of the change).
    pub pubkey: PublicKeyBytes,
    /// The `0x00` credentials it stands for.
    pub credentials: Hash256,
}

impl WithdrawalKey {
    /// Wraps a secret key.
    pub fn new(secret: SecretKey) -> Self {
        let pubkey = secret.public_key().to_bytes();
        Self {
            credentials: bls_withdrawal_credentials(&pubkey),
            pubkey,
            secret,
        }
    }

    /// The secret key (for signing).
    pub(crate) fn secret(&self) -> &SecretKey {
        &self.secret
    }
}

/// Withdrawal keys by credentials, and the signing keys of the validators they belong to when
/// the source knows them (mnemonic, interop).
#[derive(Debug, Default)]
pub struct WithdrawalKeys {
    by_credentials: HashMap<Hash256, WithdrawalKey>,
    signing_pubkeys: Vec<PublicKeyBytes>,
}

impl WithdrawalKeys {
    /// Keys from pairs of (withdrawal key, the validator's signing key if known).
    pub fn from_keys(keys: impl IntoIterator<Item = (SecretKey, Option<PublicKeyBytes>)>) -> Self {
        let mut set = Self::default();
        for (secret, signing) in keys {
            let key = WithdrawalKey::new(secret);
            set.by_credentials.insert(key.credentials, key);
            set.signing_pubkeys.extend(signing);
        }
        set
    }

    /// The interop keys `0..count` of dev chains, each both the signing and the withdrawal key
    /// of its validator (Lodestar's dev genesis: credentials `0x00 ‖ sha256(pubkey)[1..]`).
    /// These keys are public knowledge: development and test networks only.
    pub fn interop(count: u64) -> Result<Self> {
        if count == 0 {
            return Err(Error::Config("--interop-count must be at least 1".into()));
        }
        let keys = (0..count)
            .into_par_iter()
            .map(|index| -> Result<(SecretKey, Option<PublicKeyBytes>)> {
                let secret = interop_secret_key(index)?;
                let pubkey = secret.public_key().to_bytes();
                Ok((secret, Some(pubkey)))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self::from_keys(keys))
    }

    /// The withdrawal keys `m/12381/3600/i/0` of `indices` from a BIP-39 mnemonic (and its
    /// optional passphrase, "" for none), with the signing keys `m/12381/3600/i/0/0`.
    pub fn from_mnemonic(mnemonic: &str, passphrase: &str, indices: &[u32]) -> Result<Self> {
        if indices.is_empty() {
            return Err(Error::Config("no mnemonic key index given".into()));
        }
        let seed = mnemonic_to_seed(mnemonic.trim(), passphrase)
            .map_err(|e| Error::Config(format!("the mnemonic: {e}")))?;
        let master = eip2333::derive_master_sk(seed.as_ref())?;
        // m/12381/3600 is shared by every validator: derive it once.
        let coin =
            eip2333::derive_child_sk(&eip2333::derive_child_sk(&master, PURPOSE), ETH2_COIN_TYPE);
        let keys = indices
            .par_iter()
            .map(|&index| {
                let withdrawal =
                    eip2333::derive_child_sk(&eip2333::derive_child_sk(&coin, index), 0);
                let signing = eip2333::derive_child_sk(&withdrawal, 0)
                    .public_key()
                    .to_bytes();
                (withdrawal, Some(signing))
            })
            .collect::<Vec<_>>();
        Ok(Self::from_keys(keys))
    }

    /// Every keystore in `dir` (flat `*.json` or one directory per key), decrypted with
    /// `passwords`. One keystore that cannot be loaded fails the whole set, naming each file.
    pub fn from_keystores(dir: &Path, passwords: PasswordSource) -> Result<Self> {
        let report = load_keys(&LoadOptions::new(dir, passwords))?;
        if !report.errors.is_empty() {
            let failures: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
            return Err(Error::Config(format!(
                "{} withdrawal keystore(s) could not be loaded: {}",
                failures.len(),
                failures.join("; ")
            )));
        }
        if report.keys.is_empty() {
            return Err(Error::Config(format!(
                "no withdrawal keystore found in {}",
                dir.display()
            )));
        }
        Ok(Self::from_keys(
            report.keys.into_iter().map(|key| (key.secret, None)),
        ))
    }

    /// The key whose `0x00` credentials are `credentials`.
    pub fn get(&self, credentials: &Hash256) -> Option<&WithdrawalKey> {
        self.by_credentials.get(credentials)
    }

    /// Number of withdrawal keys.
    pub fn len(&self) -> usize {
        self.by_credentials.len()
    }

    /// Whether there is no key.
    pub fn is_empty(&self) -> bool {
        self.by_credentials.is_empty()
    }

    /// The signing keys of the validators these withdrawal keys belong to (empty when the
    /// source does not know them: keystores).
    pub fn signing_pubkeys(&self) -> &[PublicKeyBytes] {
        &self.signing_pubkeys
    }
}

#[cfg(test)]
mod tests {
    use signer::derivation::{DerivationPath, derive_from_seed, validator_keys_from_mnemonic};

    use super::*;

    const MNEMONIC: &str = "abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about";

    #[test]
    fn mnemonic_keys_follow_eip2334() {
        let keys = WithdrawalKeys::from_mnemonic(MNEMONIC, "", &[0, 3]).unwrap();
        assert_eq!(keys.len(), 2);
        let seed = mnemonic_to_seed(MNEMONIC, "").unwrap();
        for index in [0, 3] {
            let withdrawal = derive_from_seed(seed.as_ref(), &DerivationPath::withdrawal(index))
                .unwrap()
                .public_key()
                .to_bytes();
            let key = keys.get(&bls_withdrawal_credentials(&withdrawal)).unwrap();
            assert_eq!(key.pubkey, withdrawal);
            let pair = validator_keys_from_mnemonic(MNEMONIC, "", index).unwrap();
            assert!(
                keys.signing_pubkeys()
                    .contains(&pair.signing.public_key().to_bytes())
            );
        }
        let err = WithdrawalKeys::from_mnemonic("abandon abandon", "", &[0]).unwrap_err();
        assert!(err.to_string().contains("mnemonic"), "{err}");
    }

    #[test]
    fn interop_keys_are_their_own_withdrawal_keys() {
        let keys = WithdrawalKeys::interop(3).unwrap();
        for index in 0..3 {
            let pubkey = interop_secret_key(index).unwrap().public_key().to_bytes();
            assert_eq!(
                keys.get(&bls_withdrawal_credentials(&pubkey))
                    .unwrap()
                    .pubkey,
                pubkey
            );
            assert_eq!(keys.signing_pubkeys()[index as usize], pubkey);
        }
        assert!(WithdrawalKeys::interop(0).is_err());
    }

    #[test]
    fn debug_shows_no_secret() {
        let keys = WithdrawalKeys::interop(1).unwrap();
        let secret = hex::encode(*interop_secret_key(0).unwrap().to_bytes());
        let shown = format!("{keys:?}");
        assert!(!shown.contains(&secret), "{shown}");
        assert!(shown.contains("redacted"), "{shown}");
    }
}
