//! Votes, certificates and evidence with their SSZ containers and JSON forms.
//!
//! ```text
//! OracleVote:        frame uint64, report_root Bytes32, member uint64, signature Bytes96   (144 bytes)
//! QuorumCertificate: frame uint64, report_root Bytes32, signers Bitvector[256],
//!                    aggregate_signature Bytes96                                        (168 bytes)
//! ```
//! JSON: every integer a decimal string, byte strings `0x` hex, `signers` a `uint256` (see
//! [`super::SignerSet`]); the canonical text (sorted keys, no whitespace) is the accounting
//! spec's canonical JSON.

use serde::{Deserialize, Serialize};
use ssz::{Decode, Encode};
use ssz_derive::{Decode, Encode};
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;
use types::{Hash256, SignatureBytes};

use super::SignerSet;
use crate::error::{Error, Result};

/// SSZ length of an [`OracleVote`].
pub const VOTE_SSZ_LEN: usize = 8 + 32 + 8 + 96;

/// SSZ length of a [`QuorumCertificate`].
pub const CERTIFICATE_SSZ_LEN: usize = 8 + 32 + 32 + 96;

/// A member's vote: its BLS signature over `report_signing_root(report_root)` (the report
/// signature of the accounting spec). The frame and member are claims checked by the
/// receiver; only the root is signed.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize)]
pub struct OracleVote {
    /// The frame the vote is for.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame: u64,
    /// The report root the member signs.
    pub report_root: Hash256,
    /// The member's index in the frame's membership.
    #[serde(with = "serde_utils::quoted_u64")]
    pub member: u64,
    /// BLS signature over the report signing root.
    pub signature: SignatureBytes,
}

impl OracleVote {
    /// The SSZ bytes (the gossip payload).
    pub fn to_ssz(&self) -> Vec<u8> {
        self.as_ssz_bytes()
    }

    /// Decodes the SSZ bytes; anything but exactly [`VOTE_SSZ_LEN`] bytes is refused.
    pub fn from_ssz(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != VOTE_SSZ_LEN {
            return Err(Error::Corrupt(format!(
                "an oracle vote is {VOTE_SSZ_LEN} bytes of SSZ, got {}",
                bytes.len()
            )));
        }
        Self::from_ssz_bytes(bytes).map_err(|e| Error::Corrupt(format!("oracle vote SSZ: {e:?}")))
    }
}

/// A quorum certificate: at least `quorum` members of the frame signed `report_root`, and
/// `aggregate_signature` is the sum of their signatures.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Encode, Decode, TreeHash, Serialize, Deserialize)]
pub struct QuorumCertificate {
    /// The frame.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame: u64,
    /// The agreed report root.
    pub report_root: Hash256,
    /// Who signed (bit i ⇔ member i).
    pub signers: SignerSet,
    /// The BLS aggregate of the signers' vote signatures.
    pub aggregate_signature: SignatureBytes,
}

impl QuorumCertificate {
    /// The certificate's identity: `hash_tree_root(QuorumCertificate)`.
    pub fn root(&self) -> Hash256 {
        self.tree_hash_root()
    }

    /// The SSZ bytes.
    pub fn to_ssz(&self) -> Vec<u8> {
        self.as_ssz_bytes()
    }

    /// Decodes the SSZ bytes (exactly [`CERTIFICATE_SSZ_LEN`]).
    pub fn from_ssz(bytes: &[u8]) -> Result<Self> {
        if bytes.len() != CERTIFICATE_SSZ_LEN {
            return Err(Error::Corrupt(format!(
                "a quorum certificate is {CERTIFICATE_SSZ_LEN} bytes of SSZ, got {}",
                bytes.len()
            )));
        }
        Self::from_ssz_bytes(bytes)
            .map_err(|e| Error::Corrupt(format!("quorum certificate SSZ: {e:?}")))
    }

    /// The canonical JSON text.
    pub fn to_canonical_json(&self) -> Result<String> {
        crate::canonical::to_canonical_json(self)
    }

    /// Parses the JSON form (any key order or whitespace).
    pub fn from_json(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|source| Error::Json {
            what: "quorum certificate".to_owned(),
            source,
        })
    }
}

/// Proof that a member signed two different roots in one frame: both votes are valid, so the
/// member counts for neither root. `first.report_root < second.report_root`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EquivocationEvidence {
    /// The vote with the smaller root.
    pub first: OracleVote,
    /// The vote with the larger root.
    pub second: OracleVote,
}

impl EquivocationEvidence {
    /// Evidence from two votes of one member in one frame with different roots (in either
    /// order); `None` when they are not such a pair.
    pub fn new(a: OracleVote, b: OracleVote) -> Option<Self> {
        if a.frame != b.frame || a.member != b.member || a.report_root == b.report_root {
            return None;
        }
        let (first, second) = if a.report_root < b.report_root {
            (a, b)
        } else {
            (b, a)
        };
        Some(Self { first, second })
    }

    /// The frame.
    pub fn frame(&self) -> u64 {
        self.first.frame
    }

    /// The equivocating member.
    pub fn member(&self) -> u64 {
        self.first.member
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vote(root: u8, member: u64) -> OracleVote {
        OracleVote {
            frame: 7,
            report_root: Hash256::repeat_byte(root),
            member,
            signature: SignatureBytes::repeat_byte(0xaa),
        }
    }

    #[test]
    fn vote_ssz_round_trip_and_size_cap() {
        let v = vote(1, 3);
        let bytes = v.to_ssz();
        assert_eq!(bytes.len(), VOTE_SSZ_LEN);
        assert_eq!(OracleVote::from_ssz(&bytes).unwrap(), v);
        let mut long = bytes.clone();
        long.push(0);
        assert!(OracleVote::from_ssz(&long).is_err());
        assert!(OracleVote::from_ssz(&bytes[..100]).is_err());
    }

    #[test]
    fn certificate_encodings() {
        let cert = QuorumCertificate {
            frame: 7,
            report_root: Hash256::repeat_byte(0x11),
            signers: SignerSet::from_indices([0, 2]),
            aggregate_signature: SignatureBytes::repeat_byte(0xbb),
        };
        let ssz = cert.to_ssz();
        assert_eq!(ssz.len(), CERTIFICATE_SSZ_LEN);
        assert_eq!(QuorumCertificate::from_ssz(&ssz).unwrap(), cert);
        let json = cert.to_canonical_json().unwrap();
        assert_eq!(
            json,
            format!(
                "{{\"aggregate_signature\":\"0x{}\",\"frame\":\"7\",\"report_root\":\"0x{}\",\"signers\":\"0x{}05\"}}",
                "bb".repeat(96),
                "11".repeat(32),
                "00".repeat(31)
            )
        );
        assert_eq!(QuorumCertificate::from_json(&json).unwrap(), cert);
        // hash_tree_root of the container: merkleize the four field roots.
        let mut frame_chunk = [0u8; 32];
        frame_chunk[..8].copy_from_slice(&7u64.to_le_bytes());
        let mut leaves = Vec::new();
        leaves.extend_from_slice(&frame_chunk);
        leaves.extend_from_slice(cert.report_root.as_slice());
        leaves.extend_from_slice(cert.signers.as_bytes());
        leaves.extend_from_slice(cert.aggregate_signature.tree_hash_root().as_slice());
        let expected = tree_hash::merkle_root(&leaves, 4);
        assert_eq!(cert.root(), expected);
    }

    #[test]
    fn evidence_is_ordered_and_checked() {
        let a = vote(2, 1);
        let b = vote(1, 1);
        let ev = EquivocationEvidence::new(a.clone(), b.clone()).unwrap();
        assert_eq!(ev, EquivocationEvidence::new(b.clone(), a.clone()).unwrap());
        assert_eq!(ev.first, b);
        assert_eq!((ev.frame(), ev.member()), (7, 1));
        assert!(EquivocationEvidence::new(a.clone(), a.clone()).is_none());
        assert!(EquivocationEvidence::new(a, vote(1, 2)).is_none());
    }
}
