//! EIP-2335 keystores (version 4): decryption, encryption and the JSON format.
//!
//! Decryption order, each step refusing before the next costs anything: structure and
//! parameter checks ([`Keystore::validate`]) → password processing → KDF → checksum
//! (`sha256(dk[16..32] | ciphertext)`, a mismatch is [`Error::WrongPassword`]) → AES-128-CTR
//! with `dk[0..16]` → the secret must be a valid BLS key whose public key equals the file's
//! `pubkey`.

mod kdf;
mod password;

use std::path::Path;

use aes::Aes128;
use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use types::PublicKeyBytes;
use uuid::Uuid;
use zeroize::Zeroizing;

pub use kdf::{
    DKLEN, Kdf, KdfModule, MAX_PBKDF2_C, MAX_SALT_LEN, MAX_SCRYPT_MEMORY, MAX_SCRYPT_N,
    MAX_SCRYPT_P, MAX_SCRYPT_R, Pbkdf2Params, ScryptParams,
};
pub use password::process_password;
pub(crate) use password::trim_password_file;

use crate::bls::SecretKey;
use crate::{Error, Result};

/// The only keystore version supported.
pub const KEYSTORE_VERSION: u32 = 4;

type Aes128Ctr = ctr::Ctr128BE<Aes128>;

/// An EIP-2335 keystore file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Keystore {
    /// The encrypted secret and how to decrypt it.
    pub crypto: Crypto,
    /// Free-form description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The public key, hex without `0x` (as EIP-2335 writes it).
    pub pubkey: String,
    /// The EIP-2334 derivation path, or empty when unknown.
    pub path: String,
    /// A random UUID identifying the file.
    pub uuid: Uuid,
    /// Always 4.
    pub version: u32,
}

/// The `crypto` object.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Crypto {
    /// Password → decryption key.
    pub kdf: KdfModule,
    /// Password verification.
    pub checksum: ChecksumModule,
    /// Secret encryption.
    pub cipher: CipherModule,
}

/// The `crypto.checksum` module (`sha256`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChecksumModule {
    /// Must be `sha256`.
    pub function: String,
    /// Must be empty.
    pub params: serde_json::Map<String, serde_json::Value>,
    /// The 32-byte checksum (hex in JSON).
    #[serde(with = "crate::hex_serde")]
    pub message: Vec<u8>,
}

/// The `crypto.cipher` module (`aes-128-ctr`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CipherModule {
    /// Must be `aes-128-ctr`.
    pub function: String,
    /// The IV.
    pub params: CipherParams,
    /// The encrypted 32-byte secret (hex in JSON).
    #[serde(with = "crate::hex_serde")]
    pub message: Vec<u8>,
}

/// `crypto.cipher.params`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CipherParams {
    /// The 16-byte AES-CTR initial counter block (hex in JSON).
    #[serde(with = "crate::hex_serde")]
    pub iv: Vec<u8>,
}

fn refuse(module: &'static str, param: &'static str, value: String, reason: &'static str) -> Error {
    Error::InvalidParameter {
        module,
        param,
        value,
        reason,
    }
}

fn checksum(dk: &[u8; 32], ciphertext: &[u8]) -> [u8; 32] {
    let mut hasher = Sha256::new();
    hasher.update(&dk[16..]);
    hasher.update(ciphertext);
    hasher.finalize().into()
}

impl Keystore {
    /// Parses and validates a keystore (no KDF work is done).
    pub fn from_json_str(json: &str) -> Result<Self> {
        Self::from_json_slice(json.as_bytes())
    }

    /// Parses and validates a keystore from raw bytes (which must be UTF-8 JSON).
    pub fn from_json_slice(json: &[u8]) -> Result<Self> {
        let keystore: Self = serde_json::from_slice(json).map_err(|source| Error::Json {
            what: "keystore",
            source,
        })?;
        keystore.validate()?;
        Ok(keystore)
    }

    /// Reads, parses and validates a keystore file.
    pub fn from_file(path: &Path) -> Result<Self> {
        let json = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
        Self::from_json_slice(&json)
    }

    /// The JSON text (pretty-printed).
    pub fn to_json_string(&self) -> String {
        // Serialising these plain types cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Writes the keystore to a new file (mode 0600); fails if `path` exists.
    pub fn write_new_file(&self, path: &Path) -> Result<()> {
        crate::fs::create_secret_file(path, self.to_json_string().as_bytes())
    }

    /// The `pubkey` field decoded (not curve-checked).
    pub fn pubkey(&self) -> Result<PublicKeyBytes> {
        let bytes = crate::hex_serde::decode(&self.pubkey).map_err(|reason| Error::InvalidHex {
            field: "pubkey",
            reason: reason.to_string(),
        })?;
        PublicKeyBytes::try_from(bytes.as_slice()).map_err(|_| Error::InvalidHex {
            field: "pubkey",
            reason: format!("expected 48 bytes, got {}", bytes.len()),
        })
    }

    /// Checks everything that can be checked without the password: version, supported
    /// functions, parameter caps, field lengths, the pubkey's encoding.
    pub fn validate(&self) -> Result<()> {
        if self.version != KEYSTORE_VERSION {
            return Err(Error::UnsupportedKeystoreVersion(self.version));
        }
        self.crypto.kdf.kdf.validate()?;
        let checksum = &self.crypto.checksum;
        if checksum.function != "sha256" {
            return Err(Error::UnsupportedFunction {
                module: "checksum",
                function: checksum.function.clone(),
                supported: "sha256",
            });
        }
        if !checksum.params.is_empty() {
            return Err(refuse(
                "checksum",
                "params",
                serde_json::Value::Object(checksum.params.clone()).to_string(),
                "sha256 takes no parameters",
            ));
        }
        if checksum.message.len() != 32 {
            return Err(refuse(
                "checksum",
                "message",
                format!("{} bytes", checksum.message.len()),
                "a sha256 checksum is 32 bytes",
            ));
        }
        let cipher = &self.crypto.cipher;
        if cipher.function != "aes-128-ctr" {
            return Err(Error::UnsupportedFunction {
                module: "cipher",
                function: cipher.function.clone(),
                supported: "aes-128-ctr",
            });
        }
        if cipher.params.iv.len() != 16 {
            return Err(refuse(
                "cipher",
                "iv",
                format!("{} bytes", cipher.params.iv.len()),
                "aes-128-ctr needs a 16-byte IV",
            ));
        }
        if cipher.message.len() != 32 {
            return Err(refuse(
                "cipher",
                "message",
                format!("{} bytes", cipher.message.len()),
                "a BLS secret key is 32 bytes",
            ));
        }
        self.pubkey()?;
        Ok(())
    }

    /// Decrypts with a password as typed (EIP-2335 processing is applied).
    pub fn decrypt(&self, password: &str) -> Result<SecretKey> {
        self.validate()?;
        self.decrypt_processed(&process_password(password))
    }

    /// Decrypts with an already processed password (NFKD, control codes stripped, UTF-8).
    pub fn decrypt_processed(&self, password: &[u8]) -> Result<SecretKey> {
        self.validate()?;
        let dk = self.crypto.kdf.kdf.derive(password)?;
        let cipher = &self.crypto.cipher;
        if checksum(&dk, &cipher.message)[..] != self.crypto.checksum.message[..] {
            return Err(Error::WrongPassword);
        }
        let mut secret = Zeroizing::new([0u8; 32]);
        secret.copy_from_slice(&cipher.message);
        let mut aes = Aes128Ctr::new(dk[..16].into(), cipher.params.iv.as_slice().into());
        aes.apply_keystream(secret.as_mut());
        let sk = SecretKey::from_bytes(secret.as_ref())?;
        let derived = sk.public_key().to_bytes();
        if derived != self.pubkey()? {
            return Err(Error::PubkeyMismatch {
                in_file: self.pubkey.clone(),
                derived,
            });
        }
        Ok(sk)
    }

    /// Encrypts `secret` under `password` with `kdf` (which carries its salt), a random IV and
    /// a random UUID. `path` is the EIP-2334 path ("" when unknown).
    pub fn encrypt(secret: &SecretKey, password: &str, kdf: Kdf, path: &str) -> Result<Self> {
        kdf.validate()?;
        let dk = kdf.derive(&process_password(password))?;
        let mut iv = vec![0u8; 16];
        rand::thread_rng().fill_bytes(&mut iv);
        let mut ciphertext = secret.to_bytes().to_vec();
        let mut aes = Aes128Ctr::new(dk[..16].into(), iv.as_slice().into());
        aes.apply_keystream(&mut ciphertext);
        Ok(Self {
            crypto: Crypto {
                kdf: KdfModule {
                    kdf,
                    message: String::new(),
                },
                checksum: ChecksumModule {
                    function: "sha256".to_owned(),
                    params: serde_json::Map::new(),
                    message: checksum(&dk, &ciphertext).to_vec(),
                },
                cipher: CipherModule {
                    function: "aes-128-ctr".to_owned(),
                    params: CipherParams { iv },
                    message: ciphertext,
                },
            },
            description: None,
            pubkey: hex::encode(secret.public_key().to_bytes()),
            path: path.to_owned(),
            uuid: Uuid::new_v4(),
            version: KEYSTORE_VERSION,
        })
    }
}

#[cfg(test)]
mod tests;
