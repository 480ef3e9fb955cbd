//! The `poolvc` command line: slashing protection import/export (clear errors, database untouched
//! on bad input) and flag validation.

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

const GVR: &str = "0x0101010101010101010101010101010101010101010101010101010101010101";
const OTHER_GVR: &str = "0x0202020202020202020202020202020202020202020202020202020202020202";
const PUBKEY: &str = "0xa99a76ed7796f7be22d5b7e85deeb7c5677e88e511e0b337618f8c4eb61349b4bf2d153f649f7b53359fe8b94a38e44c";

fn poolvc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(args)
        .output()
        .expect("poolvc runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn interchange(gvr: &str, slot: u64, target: u64) -> Value {
    json!({
        "metadata": {"interchange_format_version": "5", "genesis_validators_root": gvr},
        "data": [{
            "pubkey": PUBKEY,
            "signed_blocks": [{"slot": slot.to_string()}],
            "signed_attestations": [{"source_epoch": (target - 1).to_string(), "target_epoch": target.to_string()}]
        }]
    })
}

fn write(path: &Path, value: &Value) {
    std::fs::write(path, serde_json::to_vec(value).unwrap()).unwrap();
}

fn export(datadir: &Path, file: &Path) -> Value {
    let output = poolvc(&[
        "slashing-protection",
        "export",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
        "--force",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    serde_json::from_slice(&std::fs::read(file).unwrap()).unwrap()
}

#[test]
fn import_is_all_or_nothing_with_clear_errors() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let good = dir.path().join("good.json");
    write(&good, &interchange(GVR, 100, 20));
    let output = poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        good.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(String::from_utf8_lossy(&output.stdout).contains("imported 1 validators"));
    let before = export(&datadir, &dir.path().join("before.json"));
    assert_eq!(before["metadata"]["genesis_validators_root"], GVR);
    assert_eq!(before["data"][0]["pubkey"], PUBKEY);

    // Malformed JSON: refused, naming the problem; nothing changes.
    let broken = dir.path().join("broken.json");
    std::fs::write(&broken, b"{\"metadata\": {").unwrap();
    let output = poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        broken.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("error:"), "{}", stderr(&output));
    // Another chain: refused, naming both roots; nothing changes.
    let foreign = dir.path().join("foreign.json");
    write(&foreign, &interchange(OTHER_GVR, 500, 90));
    let output = poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        foreign.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let text = stderr(&output);
    assert!(
        text.contains(&OTHER_GVR[2..]) || text.contains(OTHER_GVR),
        "{text}"
    );
    // A missing file.
    let output = poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        dir.path().join("missing.json").to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("missing.json"),
        "{}",
        stderr(&output)
    );

    let after = export(&datadir, &dir.path().join("after.json"));
    assert_eq!(
        before, after,
        "the database is untouched by refused imports"
    );
}

#[test]
fn export_refuses_what_it_cannot_do_safely() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().join("data");
    let file = dir.path().join("out.json");
    let output = poolvc(&[
        "slashing-protection",
        "export",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no slashing protection database"),
        "{}",
        stderr(&output)
    );
    assert!(
        !datadir.join("slashing_protection.sqlite").exists(),
        "no database created"
    );

    let good = dir.path().join("good.json");
    write(&good, &interchange(GVR, 7, 3));
    let output = poolvc(&[
        "slashing-protection",
        "import",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        good.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    std::fs::write(&file, b"keep me").unwrap();
    let output = poolvc(&[
        "slashing-protection",
        "export",
        "--datadir",
        datadir.to_str().unwrap(),
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(
        output.status.code(),
        Some(1),
        "an existing file is not replaced"
    );
    assert_eq!(std::fs::read(&file).unwrap(), b"keep me");
    let exported = export(&datadir, &file);
    assert_eq!(exported["data"][0]["signed_blocks"][0]["slot"], "7");

    let output = poolvc(&[
        "slashing-protection",
        "export",
        "--slashing-db",
        "postgres://nobody@127.0.0.1:1/none",
        "--file",
        file.to_str().unwrap(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--genesis-validators-root"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn run_flags_are_checked_before_anything_starts() {
    let dir = tempfile::tempdir().unwrap();
    let datadir = dir.path().to_str().unwrap();
    let output = poolvc(&[
        "run",
        "--datadir",
        datadir,
        "--beacon-nodes",
        "http://127.0.0.1:1",
        "--keystores",
        datadir,
        "--secrets",
        datadir,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no fee recipient"),
        "{}",
        stderr(&output)
    );
    let output = poolvc(&[
        "run",
        "--datadir",
        datadir,
        "--beacon-nodes",
        "ftp://nowhere",
        "--keystores",
        datadir,
        "--secrets",
        datadir,
        "--pool-vault",
        "0x1111111111111111111111111111111111111111",
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("ftp://nowhere"),
        "{}",
        stderr(&output)
    );
}

#[test]
fn oracle_key_and_report_signature_flags() {
    let dir = tempfile::tempdir().unwrap();
    let keystore = dir.path().join("oracle/keystore.json");
    let password = dir.path().join("oracle/password.txt");
    let args = [
        "keys",
        "oracle",
        "--keystore",
        keystore.to_str().unwrap(),
        "--password-file",
        password.to_str().unwrap(),
        "--kdf",
        "pbkdf2",
    ];
    let output = poolvc(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let pubkey = stdout.trim();
    assert!(
        pubkey.starts_with("0x") && pubkey.len() == 98,
        "stdout is the public key alone: {stdout:?}"
    );
    let keystore_json: Value = serde_json::from_slice(&std::fs::read(&keystore).unwrap()).unwrap();
    assert_eq!(
        format!("0x{}", keystore_json["pubkey"].as_str().unwrap()),
        pubkey
    );
    assert!(
        !stderr(&output).contains(&std::fs::read_to_string(&password).unwrap()),
        "the password is never logged"
    );
    let again = poolvc(&args);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("refusing to overwrite"),
        "{}",
        stderr(&again)
    );

    // A signature check needs the signature: from --signature or the pool's API.
    let output = poolvc(&[
        "report",
        "verify",
        "report.json",
        "--beacon-node",
        "http://127.0.0.1:9",
        "--registry",
        "registry.toml",
        "--oracle-pubkey",
        pubkey,
    ]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("--signature or --pool-api"),
        "{}",
        stderr(&output)
    );
}
