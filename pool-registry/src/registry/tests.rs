use std::path::Path;

use super::*;
use crate::Error;

fn key(n: u8) -> String {
    format!("0x{}", format!("{n:02x}").repeat(48))
}

fn registry_text(extra_operator: &str) -> String {
    format!(
        r#"[pool]
name = "Test pool"
withdrawal_credentials = "0x010000000000000000000000{addr}"
el_rewards_vault = "0x{vault}"
frame_epochs = 4

[pool.fees]
protocol_bps = 500
operator_bps = 500

[pool.shares]
initial_total_shares = "1000000000000000000000"

[[operators]]
id = 1
name = "Alpha"
reward_address = "0x{ra}"
keys = ["{k1}", "{k2}"]

[[operators]]
id = 2
name = "Beta"
reward_address = "0x{rb}"
operator_bps = 700
keys = ["{k3}"]
{extra_operator}"#,
        addr = "aa".repeat(20),
        vault = "bb".repeat(20),
        ra = "01".repeat(20),
        rb = "02".repeat(20),
        k1 = key(1),
        k2 = key(2),
        k3 = key(3),
    )
}

fn parse(text: &str) -> Result<Registry> {
    Registry::parse(Path::new("/etc/pool/registry.toml"), text)
}

fn expect_error(text: &str, line: usize, field: &str, needle: &str) {
    match parse(text) {
        Err(Error::Registry {
            file,
            line: l,
            field: f,
            message,
        }) => {
            assert_eq!(file, Path::new("/etc/pool/registry.toml"));
            assert_eq!((l, f.as_str()), (line, field), "message: {message}");
            assert!(message.contains(needle), "{message:?} lacks {needle:?}");
        }
        other => panic!("expected a registry error, got {other:?}"),
    }
}

#[test]
fn valid_registry_with_defaults_and_lookups() {
    let r = parse(&registry_text("")).unwrap();
    assert_eq!(
        r.pool().frame,
        FrameConfig {
            start_epoch: 0,
            epochs: 4
        }
    );
    assert_eq!(r.pool().sanity, SanityLimits::LIDO_MAINNET);
    assert!(!r.pool().allow_other_fee_recipients);
    assert_eq!(
        r.pool().initial_total_shares,
        U256::from(10u64).pow(U256::from(21u64))
    );
    assert_eq!(r.key_count(), 3);
    let k3 = PublicKeyBytes::from([3u8; 48]);
    assert_eq!(r.operator_of(&k3).map(|o| o.id), Some(2));
    assert_eq!(r.operator_bps(1), Some(500));
    assert_eq!(r.operator_bps(2), Some(700));
    assert_eq!(r.operator_bps(9), None);
    assert!(!r.contains_key(&PublicKeyBytes::from([4u8; 48])));
}

#[test]
fn duplicate_operator_id_names_line_and_field() {
    let text = registry_text(
        "\n[[operators]]\nid = 2\nname = \"Gamma\"\nreward_address = \"0x0303030303030303030303030303030303030303\"\n",
    );
    let line = text.lines().position(|l| l == "id = 2").unwrap() + 1;
    let second = text.lines().skip(line).position(|l| l == "id = 2").unwrap() + line + 1;
    expect_error(&text, second, "operators[2].id", "duplicate operator id 2");
}

#[test]
fn key_in_two_operators() {
    let text = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys = [\"{}\"]\n",
        "03".repeat(20),
        key(1)
    ));
    let line = text.lines().count();
    expect_error(
        &text,
        line,
        "operators[2].keys[0]",
        "already belongs to operator 1",
    );
}

#[test]
fn bad_hex_in_key() {
    let text = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys = [\"0x{}zz\"]\n",
        "03".repeat(20),
        "00".repeat(47)
    ));
    expect_error(
        &text,
        text.lines().count(),
        "operators[2].keys[0]",
        "is not hex",
    );
}

#[test]
fn bps_sum_over_10000() {
    let text = registry_text("").replace("operator_bps = 700", "operator_bps = 9501");
    let line = text
        .lines()
        .position(|l| l == "operator_bps = 9501")
        .unwrap()
        + 1;
    expect_error(&text, line, "operators[1].operator_bps", "exceeds 10000");
    let text = registry_text("").replace("operator_bps = 500", "operator_bps = 9600");
    let line = text
        .lines()
        .position(|l| l == "operator_bps = 9600")
        .unwrap()
        + 1;
    expect_error(&text, line, "pool.fees.operator_bps", "exceeds 10000");
}

#[test]
fn missing_keys_file() {
    let text = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys_file = \"keys/gamma.txt\"\n",
        "03".repeat(20)
    ));
    expect_error(
        &text,
        text.lines().count(),
        "operators[2].keys_file",
        "cannot read /etc/pool/keys/gamma.txt",
    );
}

#[test]
fn keys_file_errors_name_the_keys_file_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("gamma.txt"),
        format!(
            "# gamma's keys\n{}\n\n{}  # duplicate of operator 2\n",
            key(7),
            key(3)
        ),
    )
    .unwrap();
    let text = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys_file = \"gamma.txt\"\n",
        "03".repeat(20)
    ));
    let path = dir.path().join("registry.toml");
    match Registry::parse(&path, &text) {
        Err(Error::Registry {
            file,
            line,
            field,
            message,
        }) => {
            assert_eq!(file, dir.path().join("gamma.txt"));
            assert_eq!(line, 4);
            assert_eq!(field, "operators[2].keys_file");
            assert!(
                message.contains("already belongs to operator 2"),
                "{message}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Without the duplicate the file loads, comments and blank lines ignored.
    std::fs::write(
        dir.path().join("gamma.txt"),
        format!("# gamma\n{}\n", key(7)),
    )
    .unwrap();
    let r = Registry::parse(&path, &text).unwrap();
    assert_eq!(
        r.operator(3).unwrap().keys,
        vec![PublicKeyBytes::from([7u8; 48])]
    );
}

#[test]
fn bad_credentials_and_syntax_errors() {
    let text =
        registry_text("").replace("0x010000000000000000000000", "0x030000000000000000000000");
    expect_error(&text, 3, "pool.withdrawal_credentials", "0x01 or 0x02");
    let text = registry_text("").replace("frame_epochs = 4", "frame_epochs = \"four\"");
    expect_error(&text, 5, "pool.frame_epochs", "");
    let text = registry_text("").replace("frame_epochs = 4", "frame_epochs = 4\nframe_epoch = 3");
    expect_error(&text, 6, "pool.frame_epoch", "unknown field");
    let text = registry_text("").replace("frame_epochs = 4", "frame_epochs = 0");
    expect_error(&text, 5, "pool.frame_epochs", "at least 1");
}

#[test]
fn reload_keeps_the_old_registry_on_failure() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("registry.toml");
    std::fs::write(&path, registry_text("")).unwrap();
    let handle = RegistryHandle::load(&path).unwrap();
    assert_eq!(handle.reload().unwrap(), ReloadOutcome::Unchanged);
    let before = handle.current();

    // Invalid: a key in two operators. The old registry stays live.
    let bad = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys = [\"{}\"]\n",
        "03".repeat(20),
        key(3)
    ));
    std::fs::write(&path, bad).unwrap();
    assert!(matches!(handle.reload(), Err(Error::Registry { .. })));
    assert_eq!(*handle.current(), *before);

    // Frame geometry changes are refused.
    std::fs::write(
        &path,
        registry_text("").replace("frame_epochs = 4", "frame_epochs = 5"),
    )
    .unwrap();
    assert!(matches!(handle.reload(), Err(Error::ReloadRefused(_))));
    assert_eq!(*handle.current(), *before);

    // So are changes to the vault and the withdrawal credentials.
    std::fs::write(
        &path,
        registry_text("").replace(
            &format!("0x{}", "bb".repeat(20)),
            &format!("0x{}", "bc".repeat(20)),
        ),
    )
    .unwrap();
    let refused = handle.reload().unwrap_err().to_string();
    assert!(refused.contains("el_rewards_vault"), "{refused}");
    std::fs::write(
        &path,
        registry_text("").replace(
            &format!("000000{}", "aa".repeat(20)),
            &format!("000000{}", "ab".repeat(20)),
        ),
    )
    .unwrap();
    let refused = handle.reload().unwrap_err().to_string();
    assert!(refused.contains("withdrawal_credentials"), "{refused}");
    assert_eq!(*handle.current(), *before);

    // A valid change is applied.
    let good = registry_text(&format!(
        "\n[[operators]]\nid = 3\nname = \"Gamma\"\nreward_address = \"0x{}\"\nkeys = [\"{}\"]\n",
        "03".repeat(20),
        key(9)
    ));
    std::fs::write(&path, good).unwrap();
    assert_eq!(handle.reload().unwrap(), ReloadOutcome::Replaced);
    assert_eq!(handle.current().operators().len(), 3);
}

#[test]
fn snapshot_captures_assignment_and_terms() {
    let r = parse(&registry_text("")).unwrap();
    let s = r.snapshot(5);
    assert_eq!(s.frame, 5);
    assert_eq!(s.protocol_bps, 500);
    assert_eq!(s.operators[&2].operator_bps, 700);
    assert_eq!(s.operator_of(&PublicKeyBytes::from([1u8; 48])), Some(1));
    // Moving a key changes the snapshot root.
    let moved = parse(
        &registry_text("")
            .replace(&format!("keys = [\"{}\"]", key(3)), "keys = []")
            .replace(
                &format!("keys = [\"{}\", \"{}\"]", key(1), key(2)),
                &format!("keys = [\"{}\", \"{}\", \"{}\"]", key(1), key(2), key(3)),
            ),
    )
    .unwrap();
    assert_eq!(
        moved
            .snapshot(5)
            .operator_of(&PublicKeyBytes::from([3u8; 48])),
        Some(1)
    );
    assert_ne!(moved.snapshot(5).root().unwrap(), s.root().unwrap());
    assert_eq!(r.snapshot(5).root().unwrap(), s.root().unwrap());
}

#[test]
fn frame_geometry() {
    let f = FrameConfig {
        start_epoch: 10,
        epochs: 4,
    };
    assert_eq!(f.frame_of(Epoch(9)), None);
    assert_eq!(f.frame_of(Epoch(10)), Some(0));
    assert_eq!(f.frame_of(Epoch(13)), Some(0));
    assert_eq!(f.frame_of(Epoch(14)), Some(1));
    assert_eq!(f.first_epoch(2), Epoch(18));
    assert_eq!(f.last_epoch(2), Epoch(21));
}

fn oracle_pubkey(i: u64) -> String {
    let sk = signer::derivation::interop_secret_key(i).unwrap();
    format!("{}", sk.public_key().to_bytes())
}

fn peer_id(i: u8) -> String {
    let mut bytes = vec![0x00, 0x24, 0x08, 0x01, 0x12, 0x20];
    bytes.extend([i; 32]);
    super::oracle::base58_encode(&bytes)
}

fn oracle_member(index: u64, key: u64, peer: u8) -> String {
    format!(
        "\n[[oracle.members]]\nindex = {index}\npubkey = \"{}\"\npeer_id = \"{}\"\naddresses = [\"/ip4/127.0.0.1/tcp/{}\"]\n",
        oracle_pubkey(key),
        peer_id(peer),
        9400 + index
    )
}

fn oracle_text(quorum: u64, members: &[(u64, u64, u8)], extra: &str) -> String {
    let mut text = registry_text("");
    text.push_str(&format!("\n[oracle]\nquorum = {quorum}\n{extra}"));
    for &(index, key, peer) in members {
        text.push_str(&oracle_member(index, key, peer));
    }
    text
}

fn line_of(text: &str, needle: &str, nth: usize) -> usize {
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.contains(needle))
        .nth(nth)
        .map(|(i, _)| i + 1)
        .unwrap_or_else(|| panic!("{needle:?} #{nth} not in the text"))
}

#[test]
fn oracle_section_parses_with_defaults_and_snapshots() {
    let r = parse(&registry_text("")).unwrap();
    assert!(r.oracle().is_none() && r.oracle_membership(3).is_none());
    let text = oracle_text(3, &[(0, 1, 1), (1, 2, 2), (5, 3, 3), (3, 4, 4)], "");
    let r = parse(&text).unwrap();
    let o = r.oracle().unwrap();
    assert_eq!(o.quorum, 3);
    assert_eq!(
        o.members.iter().map(|m| m.index).collect::<Vec<_>>(),
        vec![0, 1, 3, 5],
        "sorted by index"
    );
    assert_eq!(o.member(5).unwrap().peer_id, peer_id(3));
    assert_eq!(
        o.member(5).unwrap().addresses,
        vec!["/ip4/127.0.0.1/tcp/9405"]
    );
    assert_eq!(o.settle_window_ms, crate::oracle::DEFAULT_SETTLE_WINDOW_MS);
    assert_eq!(o.listen_address, crate::oracle::DEFAULT_LISTEN_ADDRESS);
    let m = r.oracle_membership(9).unwrap();
    assert_eq!((m.frame, m.quorum, m.size()), (9, 3, 4));
    assert_eq!(m.index_of_peer(&peer_id(4)), Some(3));
    assert_eq!(m.member(1).unwrap().pubkey.to_string(), oracle_pubkey(2));
    assert!(m.member(256).is_none() && m.member(2).is_none());
    let other = r.oracle_membership(10).unwrap();
    assert_ne!(
        m.root().unwrap(),
        other.root().unwrap(),
        "the frame is committed to"
    );

    let text = oracle_text(
        2,
        &[(0, 1, 1), (1, 2, 2)],
        "settle_window_ms = 250\nagreement_deadline_seconds = 60\nlisten_address = \"/ip6/::1/tcp/0\"\n",
    );
    let o = parse(&text).unwrap().oracle().cloned().unwrap();
    assert_eq!(
        (
            o.settle_window_ms,
            o.agreement_deadline_seconds,
            o.listen_address.as_str()
        ),
        (250, 60, "/ip6/::1/tcp/0")
    );
}

#[test]
fn oracle_quorum_must_be_a_majority() {
    let members = [(0, 1, 1), (1, 2, 2), (2, 3, 3), (3, 4, 4)];
    for quorum in [0, 1, 2, 5] {
        let text = oracle_text(quorum, &members, "");
        expect_error(
            &text,
            line_of(&text, "quorum =", 0),
            "oracle.quorum",
            &format!(
                "quorum {quorum} with 4 members is not allowed: it must satisfy N/2 < quorum ≤ N (3 ≤ quorum ≤ 4)"
            ),
        );
    }
    parse(&oracle_text(3, &members, "")).unwrap();
    parse(&oracle_text(4, &members, "")).unwrap();
    parse(&oracle_text(1, &members[..1], "")).unwrap();
}

#[test]
fn oracle_duplicates_are_refused() {
    let text = oracle_text(2, &[(0, 1, 1), (0, 2, 2), (1, 3, 3)], "");
    expect_error(
        &text,
        line_of(&text, "index = 0", 1),
        "oracle.members[1].index",
        "duplicate member index 0",
    );
    let text = oracle_text(2, &[(0, 1, 1), (1, 1, 2), (2, 3, 3)], "");
    expect_error(
        &text,
        line_of(&text, "pubkey =", 1),
        "oracle.members[1].pubkey",
        "is already member 0's",
    );
    let text = oracle_text(2, &[(0, 1, 1), (1, 2, 2), (2, 3, 1)], "");
    expect_error(
        &text,
        line_of(&text, "peer_id =", 2),
        "oracle.members[2].peer_id",
        "is already member 0's",
    );
}

#[test]
fn oracle_bad_values_are_named() {
    let text = oracle_text(1, &[(256, 1, 1)], "");
    expect_error(
        &text,
        line_of(&text, "index = 256", 0),
        "oracle.members[0].index",
        "index 256 is out of range",
    );
    let text = oracle_text(1, &[(0, 1, 1)], "")
        .replace(&oracle_pubkey(1), &format!("0x{}", "00".repeat(48)));
    expect_error(
        &text,
        line_of(&text, "pubkey =", 0),
        "oracle.members[0].pubkey",
        "is not a valid BLS public key",
    );
    let text = oracle_text(1, &[(0, 1, 1)], "").replace(&peer_id(1), "QmNotAPeerId0");
    expect_error(
        &text,
        line_of(&text, "peer_id =", 0),
        "oracle.members[0].peer_id",
        "is not a base58 character",
    );
    let text = oracle_text(1, &[(0, 1, 1)], "")
        .replace("/ip4/127.0.0.1/tcp/9400", "/ip4/127.0.0.1/udp/9400");
    expect_error(
        &text,
        line_of(&text, "addresses =", 0),
        "oracle.members[0].addresses[0]",
        "is not a usable multiaddr",
    );
    let text = oracle_text(
        1,
        &[(0, 1, 1)],
        "listen_address = \"/dns4/example.org/tcp/1\"\n",
    );
    expect_error(
        &text,
        line_of(&text, "listen_address", 0),
        "oracle.listen_address",
        "unsupported protocol",
    );
    let mut text = registry_text("");
    text.push_str("\n[oracle]\nquorum = 1\n");
    expect_error(
        &text,
        line_of(&text, "[oracle]", 0),
        "oracle.members",
        "at least one member is required",
    );
}
