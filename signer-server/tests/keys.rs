//! Keys from keystores: listed by `publicKeys`, reloaded by `POST /reload` (new keystores
//! signed with at once — registered with slashing protection first —, removed keystores no
//! longer), the reload status as the specification describes it, one reload at a time, a
//! damaged keystore reported without dropping anything, and the keystores routes answering
//! per the Keymanager specification without changing anything.

#[expect(
    dead_code,
    reason = "the shared helpers are used in part by each test binary"
)]
mod common;

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::{E, Options, TestSigner, fork_info, pubkey, write_keystore};
use serde_json::{Value, json};
use signer::loader::PasswordSource;
use signer_server::{KeySource, Keys, NoObserver, Reloader};
use slashing_protection::{SqliteConfig, SqliteStore};

fn randao(epoch: u64) -> Value {
    json!({"type": "RANDAO_REVEAL", "fork_info": fork_info(epoch),
           "randao_reveal": {"epoch": epoch.to_string()}})
}

fn attestation(target: u64) -> Value {
    json!({"type": "ATTESTATION", "fork_info": fork_info(target),
           "attestation": common::attestation_data(target * 8, 0, target - 1, target, 7)})
}

async fn get(signer: &TestSigner, path: &str) -> (StatusCode, Value) {
    signer
        .send(Request::get(path).body(Body::empty()).unwrap())
        .await
}

async fn post(signer: &TestSigner, path: &str) -> (StatusCode, Value) {
    signer
        .send(Request::post(path).body(Body::empty()).unwrap())
        .await
}

/// Waits (bounded) until the reload status is no longer `running`; returns it.
async fn reload_done(signer: &TestSigner) -> Value {
    for _ in 0..600 {
        let (status, body) = get(signer, "/reload").await;
        assert_eq!(status, StatusCode::OK);
        if body["status"] != "running" {
            return body;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the reload did not end");
}

async fn public_keys(signer: &TestSigner) -> Vec<String> {
    let (status, body) = get(signer, "/api/v1/eth2/publicKeys").await;
    assert_eq!(status, StatusCode::OK);
    let mut keys: Vec<String> = body
        .as_array()
        .unwrap()
        .iter()
        .map(|k| k.as_str().unwrap().to_owned())
        .collect();
    keys.sort();
    keys
}

/// Breaks a keystore's checksum (it still names its pubkey, but no password opens it).
fn damage(path: &std::path::Path) {
    let mut keystore: Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    keystore["crypto"]["checksum"]["message"] = json!("00".repeat(32));
    std::fs::write(path, keystore.to_string()).unwrap();
}

fn sorted(indices: &[u64]) -> Vec<String> {
    let mut keys: Vec<String> = indices.iter().map(|i| pubkey(*i).to_string()).collect();
    keys.sort();
    keys
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keystores_load_and_reload() {
    let dir = tempfile::tempdir().unwrap();
    let keystores = dir.path().join("keystores");
    let secrets = dir.path().join("secrets");
    write_keystore(&keystores, &secrets, 0);
    let second = write_keystore(&keystores, &secrets, 1);
    let signer = TestSigner::<E>::start(Options {
        key_source: Some(KeySource {
            keystores_dir: keystores.clone(),
            passwords: PasswordSource::PerKeyFiles(secrets.clone()),
            key_cache: Some(dir.path().join("key_cache.json")),
        }),
        ..Options::default()
    })
    .await;
    assert_eq!(public_keys(&signer).await, sorted(&[0, 1]));
    let (_, status) = get(&signer, "/reload").await;
    assert_eq!(status, json!({"status": "idle"}));

    // A new keystore: after a reload it signs, slashing protection included.
    write_keystore(&keystores, &secrets, 2);
    let (status, body) = signer.sign(&pubkey(2), &randao(1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "not loaded yet: {body}");
    let (status, body) = post(&signer, "/reload").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    assert_eq!(body["status"], "accepted");
    let done = reload_done(&signer).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert!(done["lastOperationTime"].as_str().unwrap().ends_with('Z'));
    assert_eq!(public_keys(&signer).await, sorted(&[0, 1, 2]));
    let (status, body) = signer.sign(&pubkey(2), &attestation(3)).await;
    assert_eq!(
        status,
        StatusCode::OK,
        "registered before it could sign: {body}"
    );

    // A removed keystore: after a reload its key signs nothing.
    std::fs::remove_file(&second).unwrap();
    let (status, _) = post(&signer, "/reload").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(reload_done(&signer).await["status"], "completed");
    assert_eq!(public_keys(&signer).await, sorted(&[0, 2]));
    let (status, _) = signer.sign(&pubkey(1), &randao(1)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // A new keystore that does not decrypt: reported, not loaded.
    let third = write_keystore(&keystores, &secrets, 3);
    damage(&third);
    let (status, _) = post(&signer, "/reload").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let done = reload_done(&signer).await;
    assert_eq!(done["status"], "completed_with_errors", "{done}");
    assert!(
        done["lastError"].as_str().unwrap().contains("1 keystore"),
        "{done}"
    );
    assert_eq!(public_keys(&signer).await, sorted(&[0, 2]));

    // A held key whose keystore no longer decrypts stays (only new keystores are decrypted);
    // the next start would report the file.
    std::fs::remove_file(&third).unwrap();
    damage(&keystores.join("keystore-0.json"));
    let (status, _) = post(&signer, "/reload").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(reload_done(&signer).await["status"], "completed");
    assert_eq!(public_keys(&signer).await, sorted(&[0, 2]));
    let (status, _) = signer.sign(&pubkey(0), &randao(2)).await;
    assert_eq!(status, StatusCode::OK);
    signer.stop().await;
}

#[tokio::test]
async fn one_reload_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let slashing = Arc::new(
        SqliteStore::open(
            dir.path().join("db.sqlite"),
            common::gvr(),
            SqliteConfig::default(),
        )
        .await
        .unwrap(),
    );
    let keys = Arc::new(
        Keys::from_secret_keys(vec![common::secret(0)], slashing)
            .await
            .unwrap(),
    );
    // The reload task is not running: the first request stays `running`.
    let reloader = Reloader::new(keys, Arc::new(NoObserver));
    assert!(reloader.request().is_ok());
    assert!(
        reloader.request().is_err(),
        "a second reload while one runs"
    );
}

#[tokio::test]
async fn keystores_routes_answer_per_the_specification_and_change_nothing() {
    let signer = TestSigner::<E>::start(Options::default()).await;
    // Without a token configured, the keystores routes are forbidden.
    let (status, body) = get(&signer, "/eth/v1/keystores").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body["message"].as_str().unwrap().contains("--token-file"));
    signer.stop().await;
}
