//! Consensus forks, in activation order.
//!
//! The lowercase names are exactly those of the Beacon API's `version` field and
//! `Eth-Consensus-Version` header. The derived ordering is activation order, so
//! `fork >= ForkName::Deneb` reads as "Deneb or later".

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::Error;

/// A consensus-layer fork.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ForkName {
    /// Genesis fork.
    Phase0,
    /// Sync committees.
    Altair,
    /// The Merge: execution payloads.
    Bellatrix,
    /// Withdrawals, BLS-to-execution changes.
    Capella,
    /// Blobs (EIP-4844).
    Deneb,
    /// EIP-7251/7549/7002/6110: consolidations, committee bits, execution requests.
    Electra,
    /// PeerDAS, blob-parameter-only forks.
    Fulu,
}

impl ForkName {
    /// Every fork, in activation order.
    pub const ALL: [ForkName; 7] = [
        ForkName::Phase0,
        ForkName::Altair,
        ForkName::Bellatrix,
        ForkName::Capella,
        ForkName::Deneb,
        ForkName::Electra,
        ForkName::Fulu,
    ];

    /// The lowercase API name (`"deneb"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ForkName::Phase0 => "phase0",
            ForkName::Altair => "altair",
            ForkName::Bellatrix => "bellatrix",
            ForkName::Capella => "capella",
            ForkName::Deneb => "deneb",
            ForkName::Electra => "electra",
            ForkName::Fulu => "fulu",
        }
    }

    /// The prefix of this fork's config keys (`DENEB` in `DENEB_FORK_EPOCH`); `None` for phase0,
    /// whose version is `GENESIS_FORK_VERSION`.
    pub const fn config_prefix(self) -> Option<&'static str> {
        match self {
            ForkName::Phase0 => None,
            ForkName::Altair => Some("ALTAIR"),
            ForkName::Bellatrix => Some("BELLATRIX"),
            ForkName::Capella => Some("CAPELLA"),
            ForkName::Deneb => Some("DENEB"),
            ForkName::Electra => Some("ELECTRA"),
            ForkName::Fulu => Some("FULU"),
        }
    }

    /// Position in [`ForkName::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// The fork before this one, `None` for phase0.
    pub const fn previous(self) -> Option<ForkName> {
        match self {
            ForkName::Phase0 => None,
            ForkName::Altair => Some(ForkName::Phase0),
            ForkName::Bellatrix => Some(ForkName::Altair),
            ForkName::Capella => Some(ForkName::Bellatrix),
            ForkName::Deneb => Some(ForkName::Capella),
            ForkName::Electra => Some(ForkName::Deneb),
            ForkName::Fulu => Some(ForkName::Electra),
        }
    }

    /// The newest fork this crate knows.
    pub const fn latest() -> ForkName {
        ForkName::Fulu
    }

    /// Whether blocks of this fork carry an execution payload (Bellatrix and later).
    pub fn has_execution_payload(self) -> bool {
        self >= ForkName::Bellatrix
    }

    /// Whether block production returns `BlockContents` with blobs (Deneb and later).
    pub fn has_blobs(self) -> bool {
        self >= ForkName::Deneb
    }

    /// Whether attestations carry `committee_bits` (Electra and later).
    pub fn is_electra_or_later(self) -> bool {
        self >= ForkName::Electra
    }
}

impl fmt::Display for ForkName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ForkName {
    type Err = Error;

    /// Parses the API name; case-insensitive because HTTP header values are sometimes
    /// capitalised by proxies.
    fn from_str(s: &str) -> Result<Self, Error> {
        ForkName::ALL
            .into_iter()
            .find(|fork| fork.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| Error::UnknownForkName(s.to_owned()))
    }
}

impl Serialize for ForkName {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ForkName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_order() {
        for (i, fork) in ForkName::ALL.into_iter().enumerate() {
            assert_eq!(fork.index(), i);
            assert_eq!(fork.as_str().parse::<ForkName>().unwrap(), fork);
            assert_eq!(fork.to_string(), fork.as_str());
            if i > 0 {
                assert!(ForkName::ALL[i - 1] < fork);
                assert_eq!(fork.previous(), Some(ForkName::ALL[i - 1]));
            }
        }
        assert_eq!("Deneb".parse::<ForkName>().unwrap(), ForkName::Deneb);
        assert_eq!(
            serde_json::to_string(&ForkName::Electra).unwrap(),
            "\"electra\""
        );
    }

    #[test]
    fn unknown_name_is_named_in_error() {
        let err = "gloas".parse::<ForkName>().unwrap_err().to_string();
        assert!(err.contains("gloas"), "{err}");
        let err = serde_json::from_str::<ForkName>("\"eip4844\"")
            .unwrap_err()
            .to_string();
        assert!(err.contains("eip4844"), "{err}");
    }
}
