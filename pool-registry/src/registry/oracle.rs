//! The registry's optional `[oracle]` section: committee members and the quorum.
//!
//! Peer ids and multiaddrs are checked here for shape only (this crate does not depend on
//! libp2p); the `oracle` crate parses them again with libp2p's own types.

use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use serde::Deserialize;
use toml::Spanned;
use types::PublicKeyBytes;

use super::file::{Ctx, parse_hex};
use crate::error::Result;
use crate::oracle::{
    DEFAULT_AGREEMENT_DEADLINE_SECONDS, DEFAULT_LISTEN_ADDRESS, DEFAULT_SETTLE_WINDOW_MS,
    MAX_ORACLE_MEMBERS, OracleConfig, OracleMember,
};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOracle {
    quorum: Spanned<u64>,
    #[serde(default)]
    settle_window_ms: Option<Spanned<u64>>,
    #[serde(default)]
    agreement_deadline_seconds: Option<Spanned<u64>>,
    #[serde(default)]
    listen_address: Option<Spanned<String>>,
    #[serde(default)]
    members: Vec<Spanned<RawMember>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMember {
    index: Spanned<u64>,
    pubkey: Spanned<String>,
    peer_id: Spanned<String>,
    #[serde(default)]
    addresses: Vec<Spanned<String>>,
}

/// Validates the section; `section` is the span of the `[oracle]` table (for errors about
/// the whole section).
pub(super) fn validate(
    ctx: &Ctx<'_>,
    section: std::ops::Range<usize>,
    raw: RawOracle,
) -> Result<OracleConfig> {
    let n = raw.members.len();
    if n == 0 {
        return Err(ctx.err(section, "oracle.members", "at least one member is required"));
    }
    if n > MAX_ORACLE_MEMBERS {
        return Err(ctx.err(
            section,
            "oracle.members",
            format!("{n} members listed; at most {MAX_ORACLE_MEMBERS} are allowed"),
        ));
    }
    let mut members: Vec<OracleMember> = Vec::with_capacity(n);
    let mut by_index: HashMap<u64, usize> = HashMap::new();
    let mut by_key: HashMap<PublicKeyBytes, u64> = HashMap::new();
    let mut by_peer: HashMap<String, u64> = HashMap::new();
    for (i, raw_member) in raw.members.into_iter().enumerate() {
        let m = raw_member.into_inner();
        let field = |name: &str| format!("oracle.members[{i}].{name}");
        let index = *m.index.get_ref();
        if index >= MAX_ORACLE_MEMBERS as u64 {
            return Err(ctx.err(
                m.index.span(),
                field("index"),
                format!("index {index} is out of range: member indices are 0..=255"),
            ));
        }
        if by_index.insert(index, i).is_some() {
            return Err(ctx.err(
                m.index.span(),
                field("index"),
                format!("duplicate member index {index}"),
            ));
        }
        let pubkey = PublicKeyBytes::from(
            parse_hex::<48>(m.pubkey.get_ref())
                .map_err(|e| ctx.err(m.pubkey.span(), field("pubkey"), e))?,
        );
        signer::bls::PublicKey::from_bytes(pubkey.as_slice()).map_err(|e| {
            ctx.err(
                m.pubkey.span(),
                field("pubkey"),
                format!("{pubkey} is not a valid BLS public key: {e}"),
            )
        })?;
        if let Some(other) = by_key.insert(pubkey, index) {
            return Err(ctx.err(
                m.pubkey.span(),
                field("pubkey"),
                format!("public key {pubkey} is already member {other}'s"),
            ));
        }
        let peer_id = m.peer_id.get_ref().trim().to_owned();
        check_peer_id(&peer_id).map_err(|e| ctx.err(m.peer_id.span(), field("peer_id"), e))?;
        if let Some(other) = by_peer.insert(peer_id.clone(), index) {
            return Err(ctx.err(
                m.peer_id.span(),
                field("peer_id"),
                format!("peer id {peer_id} is already member {other}'s"),
            ));
        }
        let mut addresses = Vec::with_capacity(m.addresses.len());
        for (k, addr) in m.addresses.iter().enumerate() {
            check_multiaddr(addr.get_ref(), AddrUse::Dial, Some(&peer_id))
                .map_err(|e| ctx.err(addr.span(), field(&format!("addresses[{k}]")), e))?;
            addresses.push(addr.get_ref().clone());
        }
        members.push(OracleMember {
            index: index as u8,
            pubkey,
            peer_id,
            addresses,
        });
    }
    members.sort_by_key(|m| m.index);
    let quorum = *raw.quorum.get_ref();
    if quorum * 2 <= n as u64 || quorum > n as u64 {
        return Err(ctx.err(
            raw.quorum.span(),
            "oracle.quorum",
            format!(
                "quorum {quorum} with {n} members is not allowed: it must satisfy N/2 < quorum ≤ N ({} ≤ quorum ≤ {n})",
                n / 2 + 1
            ),
        ));
    }
    let settle_window_ms = raw
        .settle_window_ms
        .map_or(DEFAULT_SETTLE_WINDOW_MS, |v| v.into_inner());
    let agreement_deadline_seconds = match raw.agreement_deadline_seconds {
        None => DEFAULT_AGREEMENT_DEADLINE_SECONDS,
        Some(v) if *v.get_ref() == 0 => {
            return Err(ctx.err(
                v.span(),
                "oracle.agreement_deadline_seconds",
                "must be at least 1",
            ));
        }
        Some(v) => v.into_inner(),
    };
    let listen_address = match raw.listen_address {
        None => DEFAULT_LISTEN_ADDRESS.to_owned(),
        Some(addr) => {
            check_multiaddr(addr.get_ref(), AddrUse::Listen, None)
                .map_err(|e| ctx.err(addr.span(), "oracle.listen_address", e))?;
            addr.into_inner()
        }
    };
    Ok(OracleConfig {
        members,
        quorum: quorum as u16,
        settle_window_ms,
        agreement_deadline_seconds,
        listen_address,
    })
}

const BASE58: &[u8; 58] = b"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/// Decodes base58btc (Bitcoin alphabet).
fn base58_decode(text: &str) -> std::result::Result<Vec<u8>, String> {
    let mut out: Vec<u8> = Vec::new(); // little-endian base-256 digits
    for c in text.bytes() {
        let value = BASE58
            .iter()
            .position(|&b| b == c)
            .ok_or_else(|| format!("{:?} is not a base58 character", c as char))?;
        let mut carry = value;
        for byte in out.iter_mut() {
            carry += usize::from(*byte) * 58;
            *byte = (carry & 0xff) as u8;
            carry >>= 8;
        }
        while carry > 0 {
            out.push((carry & 0xff) as u8);
            carry >>= 8;
        }
    }
    let zeros = text.bytes().take_while(|&b| b == b'1').count();
    out.extend(std::iter::repeat_n(0, zeros));
    out.reverse();
    Ok(out)
}

/// Base58btc encoding (the inverse of [`base58_decode`]); builds peer ids in tests.
#[cfg(test)]
pub(crate) fn base58_encode(bytes: &[u8]) -> String {
    let mut digits: Vec<u8> = Vec::new(); // little-endian base-58 digits
    for &b in bytes {
        let mut carry = usize::from(b);
        for d in digits.iter_mut() {
            carry += usize::from(*d) << 8;
            *d = (carry % 58) as u8;
            carry /= 58;
        }
        while carry > 0 {
            digits.push((carry % 58) as u8);
            carry /= 58;
        }
    }
    let zeros = bytes.iter().take_while(|&&b| b == 0).count();
    let mut out = "1".repeat(zeros);
    out.extend(digits.iter().rev().map(|&d| BASE58[usize::from(d)] as char));
    out
}

/// A libp2p peer id: base58btc of a multihash, either identity (code 0, at most 42 bytes:
/// inlined public keys such as ed25519) or sha2-256 (code 0x12, 32 bytes).
fn check_peer_id(text: &str) -> std::result::Result<(), String> {
    let bytes = base58_decode(text).map_err(|e| format!("peer id {text:?}: {e}"))?;
    let ok = match bytes.as_slice() {
        [0x00, len, digest @ ..] => usize::from(*len) == digest.len() && digest.len() <= 42,
        [0x12, 0x20, digest @ ..] => digest.len() == 32,
        _ => false,
    };
    if ok && !bytes.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{text:?} is not a libp2p peer id (base58btc of an identity or sha2-256 multihash)"
        ))
    }
}

/// What a multiaddr is for.
#[derive(Clone, Copy, PartialEq, Eq)]
enum AddrUse {
    /// Dialled: `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<peer_id>]`.
    Dial,
    /// Listened on: `/ip4|ip6/<address>/tcp/<port>`.
    Listen,
}

fn check_multiaddr(
    text: &str,
    usage: AddrUse,
    peer_id: Option<&str>,
) -> std::result::Result<(), String> {
    let shape = match usage {
        AddrUse::Dial => "/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/p2p/<peer id>]",
        AddrUse::Listen => "/ip4|ip6/<address>/tcp/<port>",
    };
    let bad = |why: &str| format!("{text:?} is not a usable multiaddr ({why}; expected {shape})");
    let parts: Vec<&str> = text
        .strip_prefix('/')
        .ok_or_else(|| bad("it must start with /"))?
        .split('/')
        .collect();
    let [proto, host, "tcp", port, rest @ ..] = parts.as_slice() else {
        return Err(bad("host and tcp port required"));
    };
    match *proto {
        "ip4" => {
            host.parse::<Ipv4Addr>()
                .map_err(|_| bad("invalid IPv4 address"))?;
        }
        "ip6" => {
            host.parse::<Ipv6Addr>()
                .map_err(|_| bad("invalid IPv6 address"))?;
        }
        "dns" | "dns4" | "dns6" if usage == AddrUse::Dial => {
            if host.is_empty()
                || !host
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(bad("invalid host name"));
            }
        }
        _ => return Err(bad("unsupported protocol")),
    }
    let port: u16 = port.parse().map_err(|_| bad("invalid tcp port"))?;
    if port == 0 && usage == AddrUse::Dial {
        return Err(bad("port 0 cannot be dialled"));
    }
    match (rest, usage, peer_id) {
        ([], _, _) => Ok(()),
        (["p2p", id], AddrUse::Dial, Some(expected)) if id == &expected => Ok(()),
        (["p2p", id], AddrUse::Dial, Some(expected)) => Err(bad(&format!(
            "its /p2p/{id} is not the member's peer id {expected}"
        ))),
        _ => Err(bad("unexpected trailing components")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base58_round_trip() {
        for bytes in [
            vec![],
            vec![0, 0, 1],
            vec![0xff; 38],
            vec![0, 0x24, 8, 1, 0x12, 0x20],
        ] {
            assert_eq!(base58_decode(&base58_encode(&bytes)).unwrap(), bytes);
        }
        assert_eq!(base58_encode(b"hello world"), "StV1DL6CwTryKyV");
    }

    #[test]
    fn peer_id_shapes() {
        let mut ed = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
        ed.extend([7u8; 32]);
        let id = base58_encode(&ed);
        assert!(id.starts_with("12D3KooW"), "{id}");
        check_peer_id(&id).unwrap();
        let mut sha = vec![0x12, 0x20];
        sha.extend([9u8; 32]);
        check_peer_id(&base58_encode(&sha)).unwrap();
        assert!(
            check_peer_id("12D3KooW0OIl").is_err(),
            "0, O, I, l are not base58"
        );
        assert!(check_peer_id(&base58_encode(&[0x12, 0x20, 1, 2])).is_err());
        assert!(check_peer_id("").is_err());
    }

    #[test]
    fn multiaddr_shapes() {
        let id = base58_encode(
            &[0x12, 0x20]
                .into_iter()
                .chain([1u8; 32])
                .collect::<Vec<_>>(),
        );
        for ok in [
            "/ip4/127.0.0.1/tcp/9400".to_owned(),
            "/ip6/::1/tcp/9400".to_owned(),
            "/dns4/oracle.example.org/tcp/9400".to_owned(),
            format!("/ip4/10.0.0.1/tcp/1/p2p/{id}"),
        ] {
            check_multiaddr(&ok, AddrUse::Dial, Some(&id)).unwrap();
        }
        for bad in [
            "ip4/127.0.0.1/tcp/1",
            "/ip4/300.0.0.1/tcp/1",
            "/ip4/127.0.0.1/udp/1",
            "/ip4/127.0.0.1/tcp/0",
            "/ip4/127.0.0.1/tcp/70000",
            "/ip4/127.0.0.1/tcp/1/p2p/12D3KooWother",
            "/unix/x/tcp/1",
        ] {
            assert!(
                check_multiaddr(bad, AddrUse::Dial, Some(&id)).is_err(),
                "{bad}"
            );
        }
        check_multiaddr("/ip4/0.0.0.0/tcp/0", AddrUse::Listen, None).unwrap();
        assert!(check_multiaddr("/dns4/x/tcp/1", AddrUse::Listen, None).is_err());
    }
}
