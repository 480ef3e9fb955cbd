//! Shared helpers: committees of interop keys, deterministic libp2p identities, votes.
#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeMap;

use libp2p::identity::{Keypair, ed25519};
use oracle::{Membership, OracleMembership, OracleVote, VoteDomain};
use pool_registry::oracle::{OracleConfig, OracleMember, SnapshotMember};
use signer::bls::SecretKey;
use types::{ChainSpec, Hash256};

pub const GVR: Hash256 = Hash256::repeat_byte(0x5a);

pub fn domain() -> VoteDomain {
    VoteDomain::new(&ChainSpec::mainnet(), GVR)
}

/// The BLS key of member `i` (interop key i).
pub fn bls_key(i: u64) -> SecretKey {
    signer::derivation::interop_secret_key(i).unwrap()
}

/// The libp2p identity of member `i` (deterministic).
pub fn identity(i: u64) -> Keypair {
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&(i + 1).to_le_bytes());
    bytes[31] = 0x42;
    Keypair::from(ed25519::Keypair::from(
        ed25519::SecretKey::try_from_bytes(bytes).unwrap(),
    ))
}

/// A registry `[oracle]` section of `n` members (member i = interop key i, identity i).
pub fn oracle_config(n: u64, quorum: u16) -> OracleConfig {
    OracleConfig {
        members: (0..n)
            .map(|i| OracleMember {
                index: i as u8,
                pubkey: bls_key(i).public_key().to_bytes(),
                peer_id: identity(i).public().to_peer_id().to_string(),
                addresses: Vec::new(),
            })
            .collect(),
        quorum,
        settle_window_ms: 500,
        agreement_deadline_seconds: 3600,
        listen_address: "/ip4/127.0.0.1/tcp/0".to_owned(),
    }
}

pub fn snapshot(frame: u64, n: u64, quorum: u16) -> OracleMembership {
    OracleMembership {
        frame,
        quorum,
        members: (0..n)
            .map(|i| {
                (
                    i as u8,
                    SnapshotMember {
                        pubkey: bls_key(i).public_key().to_bytes(),
                        peer_id: identity(i).public().to_peer_id().to_string(),
                    },
                )
            })
            .collect::<BTreeMap<_, _>>(),
    }
}

pub fn membership(frame: u64, n: u64, quorum: u16) -> Membership {
    Membership::from_snapshot(&snapshot(frame, n, quorum)).unwrap()
}

pub fn root(tag: u8) -> Hash256 {
    Hash256::repeat_byte(tag)
}

/// Member `i`'s valid vote for `report_root` in `frame`.
pub fn vote(frame: u64, i: u64, report_root: Hash256) -> OracleVote {
    let signing_root = domain().signing_root(report_root);
    OracleVote {
        frame,
        report_root,
        member: i,
        signature: bls_key(i).sign(signing_root.as_slice()).to_bytes(),
    }
}
pub mod net;
