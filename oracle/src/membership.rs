//! A frame's committee with its keys decoded once: BLS public keys (KeyValidate passed) and
//! libp2p peer ids, built from the stored [`OracleMembership`] snapshot.

use std::collections::BTreeMap;
use std::str::FromStr;

use libp2p::PeerId;
use pool_registry::oracle::{MemberIndex, OracleMembership};
use signer::bls::PublicKey;

use crate::error::{Error, Result};

/// One member of a frame's committee.
#[derive(Debug, Clone)]
pub struct Member {
    /// Index (bit of the signer set).
    pub index: MemberIndex,
    /// The oracle BLS key.
    pub pubkey: PublicKey,
    /// The libp2p identity.
    pub peer_id: PeerId,
}

/// The committee of one frame.
#[derive(Debug, Clone)]
pub struct Membership {
    frame: u64,
    quorum: usize,
    members: BTreeMap<MemberIndex, Member>,
}

impl Membership {
    /// Decodes a stored snapshot; a bad key, peer id or quorum is an error naming it.
    pub fn from_snapshot(snapshot: &OracleMembership) -> Result<Self> {
        let frame = snapshot.frame;
        let err = |message: String| Error::Membership { frame, message };
        let mut members = BTreeMap::new();
        for (&index, m) in &snapshot.members {
            let pubkey = PublicKey::from_bytes(m.pubkey.as_slice())
                .map_err(|e| err(format!("member {index}: public key {}: {e}", m.pubkey)))?;
            let peer_id = PeerId::from_str(&m.peer_id)
                .map_err(|e| err(format!("member {index}: peer id {:?}: {e}", m.peer_id)))?;
            members.insert(
                index,
                Member {
                    index,
                    pubkey,
                    peer_id,
                },
            );
        }
        let n = members.len();
        let quorum = usize::from(snapshot.quorum);
        if quorum * 2 <= n || quorum > n {
            return Err(err(format!(
                "quorum {quorum} with {n} members: N/2 < quorum ≤ N is required"
            )));
        }
        Ok(Self {
            frame,
            quorum,
            members,
        })
    }

    /// The frame.
    pub fn frame(&self) -> u64 {
        self.frame
    }

    /// Agreeing votes needed.
    pub fn quorum(&self) -> usize {
        self.quorum
    }

    /// Number of members.
    pub fn size(&self) -> usize {
        self.members.len()
    }

    /// A member by its vote's index (any `u64`; out of range is `None`).
    pub fn member(&self, index: u64) -> Option<&Member> {
        MemberIndex::try_from(index)
            .ok()
            .and_then(|i| self.members.get(&i))
    }

    /// Members in index order.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    /// The member running `peer`.
    pub fn member_of_peer(&self, peer: &PeerId) -> Option<&Member> {
        self.members.values().find(|m| m.peer_id == *peer)
    }

    /// The index of the member whose oracle key is `pubkey`.
    pub fn index_of_pubkey(&self, pubkey: &types::PublicKeyBytes) -> Option<MemberIndex> {
        self.members
            .values()
            .find(|m| m.pubkey.to_bytes() == *pubkey)
            .map(|m| m.index)
    }
}
