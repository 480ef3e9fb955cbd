//! EIP-2334 derivation paths: `m / purpose / coin_type / account / use [/ ...]`, plain decimal
//! indices (no hardened `'` markers: EIP-2333 derivation is always hardened), purpose 12381,
//! at least four levels below the master node.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// The EIP-2334 purpose (the curve's name).
pub const PURPOSE: u32 = 12381;
/// The coin type of Ethereum's consensus layer.
pub const ETH2_COIN_TYPE: u32 = 3600;

/// A parsed EIP-2334 path: the indices below the master node.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DerivationPath(Vec<u32>);

impl DerivationPath {
    /// `m/12381/3600/{index}/0/0`: validator `index`'s signing key.
    pub fn signing(index: u32) -> Self {
        Self(vec![PURPOSE, ETH2_COIN_TYPE, index, 0, 0])
    }

    /// `m/12381/3600/{index}/0`: validator `index`'s withdrawal key.
    pub fn withdrawal(index: u32) -> Self {
        Self(vec![PURPOSE, ETH2_COIN_TYPE, index, 0])
    }

    /// The indices below `m`.
    pub fn indices(&self) -> &[u32] {
        &self.0
    }
}

impl FromStr for DerivationPath {
    type Err = Error;
    fn from_str(path: &str) -> Result<Self> {
        let err = |reason| Error::InvalidPath {
            path: path.to_owned(),
            reason,
        };
        let mut parts = path.split('/');
        if parts.next() != Some("m") {
            return Err(err("a path starts with the master node \"m\""));
        }
        let indices = parts
            .map(|part| {
                if part.ends_with('\'') {
                    return Err(err("hardened markers are not used by EIP-2334"));
                }
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(err("each level is a decimal index"));
                }
                part.parse::<u32>()
                    .map_err(|_| err("index does not fit in 32 bits"))
            })
            .collect::<Result<Vec<u32>>>()?;
        if indices.len() < 4 {
            return Err(err("EIP-2334 requires at least 4 levels below m"));
        }
        if indices[0] != PURPOSE {
            return Err(err("purpose must be 12381"));
        }
        Ok(Self(indices))
    }
}

impl fmt::Display for DerivationPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("m")?;
        for index in &self.0 {
            write!(f, "/{index}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_display() {
        let p: DerivationPath = "m/12381/3600/7/0/0".parse().unwrap();
        assert_eq!(p, DerivationPath::signing(7));
        assert_eq!(
            DerivationPath::withdrawal(7).to_string(),
            "m/12381/3600/7/0"
        );
        for bad in [
            "",
            "12381/3600/0/0",
            "m/12381/3600/0",
            "m/12381'/3600/0/0",
            "m/44/60/0/0",
            "m/12381/3600//0",
            "m/12381/3600/4294967296/0",
            "m/12381/3600/+1/0",
        ] {
            assert!(
                matches!(
                    bad.parse::<DerivationPath>(),
                    Err(Error::InvalidPath { .. })
                ),
                "{bad}"
            );
        }
    }
}
