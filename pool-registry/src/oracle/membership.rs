//! Who is on the committee: the registry's `[oracle]` section ([`OracleConfig`]) and the
//! per-frame snapshot of it ([`OracleMembership`]) that votes and certificates of that frame
//! are checked against. Like operator assignments, a registry change applies from the next
//! frame: the snapshot is captured once, when the frame starts, and stored.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use types::{Hash256, PublicKeyBytes};

use crate::canonical;
use crate::error::Result;

/// A member's index in the committee (0..=255): bit `index` of a signer set.
pub type MemberIndex = u8;

/// Default settle window: how long a node waits for more votes once a quorum agrees.
pub const DEFAULT_SETTLE_WINDOW_MS: u64 = 10_000;

/// Default agreement deadline, from the submission of a node's own vote.
pub const DEFAULT_AGREEMENT_DEADLINE_SECONDS: u64 = 3_600;

/// Default listen address of the committee network: loopback only.
pub const DEFAULT_LISTEN_ADDRESS: &str = "/ip4/127.0.0.1/tcp/9400";

/// One committee member as the registry lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleMember {
    /// Index in the committee (bit of the signer set).
    pub index: MemberIndex,
    /// The member's oracle BLS public key (passed KeyValidate).
    pub pubkey: PublicKeyBytes,
    /// The member's libp2p peer id (base58btc multihash, checked for shape; the network
    /// crate parses it).
    pub peer_id: String,
    /// Where the member can be dialled (multiaddr strings: `/ip4|ip6|dns|dns4|dns6/…/tcp/…`,
    /// optionally ending in `/p2p/<peer_id>`).
    pub addresses: Vec<String>,
}

/// The validated `[oracle]` section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleConfig {
    /// Members, ascending by index.
    pub members: Vec<OracleMember>,
    /// Agreeing votes needed for a certificate (`N/2 < quorum ≤ N`).
    pub quorum: u16,
    /// How long to wait for more votes once a quorum agrees, in milliseconds.
    pub settle_window_ms: u64,
    /// How long after a node's own vote a frame without agreement is reported unagreed.
    pub agreement_deadline_seconds: u64,
    /// The committee network's listen multiaddr.
    pub listen_address: String,
}

impl OracleConfig {
    /// The member with `index`.
    pub fn member(&self, index: MemberIndex) -> Option<&OracleMember> {
        self.members.iter().find(|m| m.index == index)
    }

    /// The member whose oracle key is `pubkey`.
    pub fn member_by_pubkey(&self, pubkey: &PublicKeyBytes) -> Option<&OracleMember> {
        self.members.iter().find(|m| m.pubkey == *pubkey)
    }

    /// The membership a frame starting now would use.
    pub fn snapshot(&self, frame: u64) -> OracleMembership {
        OracleMembership {
            frame,
            quorum: self.quorum,
            members: self
                .members
                .iter()
                .map(|m| {
                    (
                        m.index,
                        SnapshotMember {
                            pubkey: m.pubkey,
                            peer_id: m.peer_id.clone(),
                        },
                    )
                })
                .collect(),
        }
    }
}

/// A member as a frame's membership records it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SnapshotMember {
    /// The member's oracle BLS public key.
    pub pubkey: PublicKeyBytes,
    /// The member's libp2p peer id.
    pub peer_id: String,
}

/// The committee of one frame: fixed when the frame starts, stored, and used for every vote
/// and certificate of that frame.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OracleMembership {
    /// The frame.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame: u64,
    /// Agreeing votes needed for a certificate.
    pub quorum: u16,
    /// Members by index.
    pub members: BTreeMap<MemberIndex, SnapshotMember>,
}

impl OracleMembership {
    /// The member with `index`.
    pub fn member(&self, index: u64) -> Option<&SnapshotMember> {
        MemberIndex::try_from(index)
            .ok()
            .and_then(|i| self.members.get(&i))
    }

    /// The member index of a libp2p peer id.
    pub fn index_of_peer(&self, peer_id: &str) -> Option<MemberIndex> {
        self.members
            .iter()
            .find(|(_, m)| m.peer_id == peer_id)
            .map(|(i, _)| *i)
    }

    /// Number of members.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// `keccak256` of the membership's canonical JSON
    /// (`{"frame","members":{index:{"peer_id","pubkey"}},"quorum"}`).
    pub fn root(&self) -> Result<Hash256> {
        Ok(alloy_primitives::keccak256(
            canonical::to_canonical_json(self)?.as_bytes(),
        ))
    }
}
