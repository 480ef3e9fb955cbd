//! EIP-2335 key-derivation modules (scrypt, PBKDF2-HMAC-SHA256) and the limits that refuse
//! hostile or absurd parameters *before* any work is done.
//!
//! Caps (each at least 4x the EIP-2335 defaults, far beyond anything a real tool writes):
//! scrypt `n` a power of two in `2..=2^20`, `r` in `1..=32`, `p` in `1..=16`, memory
//! `128·n·r` at most 1 GiB; PBKDF2 `c` in `1..=2^20`, PRF `hmac-sha256`; `dklen` exactly 32
//! (16 bytes of AES key + 16 bytes of checksum key); salt `1..=1024` bytes.

use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

use crate::{Error, Result};

/// Largest scrypt `n` accepted.
pub const MAX_SCRYPT_N: u64 = 1 << 20;
/// Largest scrypt `r` accepted.
pub const MAX_SCRYPT_R: u64 = 32;
/// Largest scrypt `p` accepted.
pub const MAX_SCRYPT_P: u64 = 16;
/// Largest scrypt memory (`128·n·r` bytes) accepted.
pub const MAX_SCRYPT_MEMORY: u64 = 1 << 30;
/// Largest PBKDF2 iteration count accepted.
pub const MAX_PBKDF2_C: u64 = 1 << 20;
/// Largest salt accepted, in bytes.
pub const MAX_SALT_LEN: usize = 1024;
/// The only derived-key length EIP-2335 defines.
pub const DKLEN: u64 = 32;

/// scrypt parameters as written in a keystore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScryptParams {
    /// Derived key length; must be 32.
    pub dklen: u64,
    /// CPU/memory cost; a power of two.
    pub n: u64,
    /// Block size.
    pub r: u64,
    /// Parallelism.
    pub p: u64,
    /// Salt (hex in JSON).
    #[serde(with = "crate::hex_serde")]
    pub salt: Vec<u8>,
}

/// PBKDF2 parameters as written in a keystore.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pbkdf2Params {
    /// Derived key length; must be 32.
    pub dklen: u64,
    /// Iteration count.
    pub c: u64,
    /// Pseudo-random function; must be `hmac-sha256`.
    pub prf: String,
    /// Salt (hex in JSON).
    #[serde(with = "crate::hex_serde")]
    pub salt: Vec<u8>,
}

/// A key-derivation function with its parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kdf {
    /// `"function": "scrypt"`.
    Scrypt(ScryptParams),
    /// `"function": "pbkdf2"`.
    Pbkdf2(Pbkdf2Params),
}

/// The `crypto.kdf` module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawKdfModule", into = "RawKdfModule")]
pub struct KdfModule {
    /// The function and its parameters.
    pub kdf: Kdf,
    /// The module message (empty for both functions).
    pub message: String,
}

#[derive(Serialize, Deserialize)]
struct RawKdfModule {
    function: String,
    params: serde_json::Value,
    message: String,
}

impl TryFrom<RawKdfModule> for KdfModule {
    type Error = Error;
    fn try_from(raw: RawKdfModule) -> Result<Self> {
        let json = |e| Error::Json {
            what: "kdf params",
            source: e,
        };
        let kdf = match raw.function.as_str() {
            "scrypt" => Kdf::Scrypt(serde_json::from_value(raw.params).map_err(json)?),
            "pbkdf2" => Kdf::Pbkdf2(serde_json::from_value(raw.params).map_err(json)?),
            _ => {
                return Err(Error::UnsupportedFunction {
                    module: "kdf",
                    function: raw.function,
                    supported: "scrypt, pbkdf2",
                });
            }
        };
        Ok(Self {
            kdf,
            message: raw.message,
        })
    }
}

impl From<KdfModule> for RawKdfModule {
    fn from(module: KdfModule) -> Self {
        let (function, params) = match module.kdf {
            Kdf::Scrypt(p) => ("scrypt", serde_json::to_value(p)),
            Kdf::Pbkdf2(p) => ("pbkdf2", serde_json::to_value(p)),
        };
        Self {
            function: function.to_owned(),
            // Serialising plain integers, strings and hex never fails.
            params: params.unwrap_or(serde_json::Value::Null),
            message: module.message,
        }
    }
}

fn refuse(param: &'static str, value: impl ToString, reason: &'static str) -> Error {
    Error::InvalidParameter {
        module: "kdf",
        param,
        value: value.to_string(),
        reason,
    }
}

fn check_common(dklen: u64, salt: &[u8]) -> Result<()> {
    if dklen != DKLEN {
        return Err(refuse(
            "dklen",
            dklen,
            "EIP-2335 requires a 32-byte derived key",
        ));
    }
    if salt.is_empty() {
        return Err(refuse("salt", "\"\"", "salt must not be empty"));
    }
    if salt.len() > MAX_SALT_LEN {
        return Err(refuse(
            "salt",
            format!("{} bytes", salt.len()),
            "salt longer than 1024 bytes",
        ));
    }
    Ok(())
}

impl Kdf {
    /// Checks the parameters against the caps above; cheap, done before any derivation.
    pub fn validate(&self) -> Result<()> {
        match self {
            Kdf::Scrypt(p) => {
                check_common(p.dklen, &p.salt)?;
                if p.n < 2 || !p.n.is_power_of_two() {
                    return Err(refuse("n", p.n, "scrypt n must be a power of two >= 2"));
                }
                if p.n > MAX_SCRYPT_N {
                    return Err(refuse("n", p.n, "scrypt n above the 2^20 cap"));
                }
                if p.r == 0 || p.r > MAX_SCRYPT_R {
                    return Err(refuse("r", p.r, "scrypt r must be in 1..=32"));
                }
                if p.p == 0 || p.p > MAX_SCRYPT_P {
                    return Err(refuse("p", p.p, "scrypt p must be in 1..=16"));
                }
                if 128 * p.n * p.r > MAX_SCRYPT_MEMORY {
                    return Err(refuse(
                        "n*r",
                        p.n * p.r,
                        "scrypt memory 128*n*r above the 1 GiB cap",
                    ));
                }
            }
            Kdf::Pbkdf2(p) => {
                check_common(p.dklen, &p.salt)?;
                if p.prf != "hmac-sha256" {
                    return Err(refuse("prf", &p.prf, "only hmac-sha256 is supported"));
                }
                if p.c == 0 || p.c > MAX_PBKDF2_C {
                    return Err(refuse("c", p.c, "pbkdf2 c must be in 1..=2^20"));
                }
            }
        }
        Ok(())
    }

    /// Derives the 32-byte decryption key. Validates first, so it never starts absurd work.
    pub fn derive(&self, password: &[u8]) -> Result<Zeroizing<[u8; 32]>> {
        self.validate()?;
        let mut key = Zeroizing::new([0u8; 32]);
        match self {
            Kdf::Scrypt(p) => {
                let log_n = p.n.trailing_zeros() as u8;
                // Validated above: r, p small, n a power of two, length 32.
                let params =
                    scrypt::Params::new(log_n, p.r as u32, p.p as u32, 32).map_err(|_| {
                        refuse(
                            "n/r/p",
                            format!("{}/{}/{}", p.n, p.r, p.p),
                            "rejected by scrypt",
                        )
                    })?;
                scrypt::scrypt(password, &p.salt, &params, key.as_mut())
                    .map_err(|_| refuse("dklen", p.dklen, "rejected by scrypt"))?;
            }
            Kdf::Pbkdf2(p) => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, &p.salt, p.c as u32, key.as_mut());
            }
        }
        Ok(key)
    }
}

impl Kdf {
    /// scrypt with `n = 2^log_n`, `r = 8`, `p = 1` and a fresh random 32-byte salt.
    /// EIP-2335's default is `log_n = 18`.
    pub fn scrypt(log_n: u8) -> Self {
        Kdf::Scrypt(ScryptParams {
            dklen: DKLEN,
            n: 1u64 << log_n,
            r: 8,
            p: 1,
            salt: random_salt(),
        })
    }

    /// PBKDF2-HMAC-SHA256 with `c` iterations and a fresh random 32-byte salt (EIP-2335's
    /// default is `c = 262144`).
    pub fn pbkdf2(c: u64) -> Self {
        Kdf::Pbkdf2(Pbkdf2Params {
            dklen: DKLEN,
            c,
            prf: "hmac-sha256".to_owned(),
            salt: random_salt(),
        })
    }
}

fn random_salt() -> Vec<u8> {
    use rand::RngCore;
    let mut salt = vec![0u8; 32];
    rand::thread_rng().fill_bytes(&mut salt);
    salt
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scrypt(n: u64, r: u64, p: u64, dklen: u64, salt: &[u8]) -> Kdf {
        Kdf::Scrypt(ScryptParams {
            dklen,
            n,
            r,
            p,
            salt: salt.to_vec(),
        })
    }

    #[test]
    fn refuses_hostile_scrypt() {
        let cases = [
            (scrypt(3, 8, 1, 32, b"s"), "n"),
            (scrypt(0, 8, 1, 32, b"s"), "n"),
            (scrypt(1 << 21, 8, 1, 32, b"s"), "n"),
            (scrypt(1 << 40, 8, 1, 32, b"s"), "n"),
            (scrypt(1 << 18, 0, 1, 32, b"s"), "r"),
            (scrypt(1 << 18, 64, 1, 32, b"s"), "r"),
            (scrypt(1 << 18, 8, 1000, 32, b"s"), "p"),
            (scrypt(1 << 20, 16, 1, 32, b"s"), "n*r"),
            (scrypt(1 << 18, 8, 1, 16, b"s"), "dklen"),
            (scrypt(1 << 18, 8, 1, 32, b""), "salt"),
        ];
        for (kdf, param) in cases {
            match kdf.derive(b"pw") {
                Err(Error::InvalidParameter { param: p, .. }) => assert_eq!(p, param, "{kdf:?}"),
                other => panic!("{kdf:?}: expected refusal of {param}, got {other:?}"),
            }
        }
    }

    #[test]
    fn refuses_hostile_pbkdf2() {
        let mk = |c: u64, prf: &str| {
            Kdf::Pbkdf2(Pbkdf2Params {
                dklen: 32,
                c,
                prf: prf.to_owned(),
                salt: vec![1],
            })
        };
        let err = mk(u64::from(u32::MAX) + 1, "hmac-sha256")
            .derive(b"pw")
            .unwrap_err();
        assert!(err.to_string().contains("parameter c"), "{err}");
        let err = mk(0, "hmac-sha256").derive(b"pw").unwrap_err();
        assert!(err.to_string().contains("parameter c"), "{err}");
        let err = mk(2, "hmac-sha512").derive(b"pw").unwrap_err();
        assert!(err.to_string().contains("hmac-sha512"), "{err}");
        assert!(mk(2, "hmac-sha256").derive(b"pw").is_ok());
    }

    #[test]
    fn unknown_function_is_named() {
        let json = r#"{"function":"argon2id","params":{},"message":""}"#;
        let err = serde_json::from_str::<KdfModule>(json)
            .unwrap_err()
            .to_string();
        assert!(err.contains("argon2id"), "{err}");
    }
}
