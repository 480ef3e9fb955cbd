//! Start-up: the API answers while the keys load (503 with `Retry-After` on routes that need
//! them, authentication and routing as usual), then normally; a keystores directory written by
//! a deposit CLI (keystores plus `deposit_data-*.json`) and stray files loads without an error.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tokio::sync::oneshot;
use types::ForkName;
use validator::client::{KeyLoadPause, Keys};
use validator::http::keymanager::LOADING_RETRY_AFTER_SECS;
use validator::testing::Logs;

use crate::harness::{self, Api, pubkey};

/// Only guards against a hang (a request nobody answers); never a pass criterion.
const HANG_GUARD: Duration = Duration::from_secs(120);

async fn guarded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no answer"))
}

#[tokio::test]
async fn requests_while_keys_load_are_answered_at_once() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 3);
    let config = harness::config(dir.path(), &node, 0, false);
    let (reached, at_pause) = oneshot::channel();
    let (resume, resumed) = oneshot::channel();
    let keys = Keys::FromConfigPaused(KeyLoadPause {
        reached,
        resume: resumed,
    });
    let key = pubkey(0).to_string();

    let probe = async {
        let addr = guarded("start-up reaching the key load", at_pause)
            .await
            .expect("start-up reached the key load")
            .expect("the Keymanager API is served");
        let api = Api::new(addr, dir.path());
        // Routes that need the keys: 503, a JSON message, Retry-After.
        let targets = [
            (Method::GET, "/eth/v1/keystores".to_owned(), None),
            (
                Method::POST,
                "/eth/v1/keystores".to_owned(),
                Some(json!({"keystores": [], "passwords": []})),
            ),
            (
                Method::DELETE,
                "/eth/v1/keystores".to_owned(),
                Some(json!({"pubkeys": [key]})),
            ),
            (Method::GET, "/eth/v1/remotekeys".to_owned(), None),
            (
                Method::GET,
                format!("/eth/v1/validator/{key}/feerecipient"),
                None,
            ),
            (
                Method::GET,
                format!("/eth/v1/validator/{key}/graffiti"),
                None,
            ),
            (
                Method::POST,
                format!("/eth/v1/validator/{key}/voluntary_exit"),
                None,
            ),
        ];
        for (method, path, body) in &targets {
            let (status, headers, text) =
                guarded(path, api.send_full(method.clone(), path, body.as_ref())).await;
            assert_eq!(
                status,
                StatusCode::SERVICE_UNAVAILABLE,
                "{method} {path}: {text}"
            );
            assert_eq!(
                headers.get("retry-after").and_then(|v| v.to_str().ok()),
                Some(LOADING_RETRY_AFTER_SECS.to_string().as_str()),
                "{method} {path}"
            );
            let body: Value = serde_json::from_str(&text).expect("JSON error body");
            assert_eq!(body["code"], 503, "{text}");
            assert!(
                body["message"]
                    .as_str()
                    .unwrap()
                    .contains("loading its keys"),
                "{text}"
            );
        }
        // Authentication and routing need no keys: served as usual.
        let (status, _) = guarded(
            "unauthenticated",
            api.send_with(Method::GET, "/eth/v1/keystores", None, None),
        )
        .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) =
            guarded("unknown route", api.send(Method::GET, "/eth/v1/nope", None)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = guarded(
            "wrong method",
            api.send(Method::PUT, "/eth/v1/keystores", None),
        )
        .await;
        assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
        resume.send(()).expect("start-up waits");
        addr
    };
    let (running, addr) = tokio::join!(harness::try_start_with(&config, keys), probe);
    let running = running.expect("client starts");
    assert_eq!(running.addr, addr);

    // Loaded: the same routes work.
    let api = Api::new(running.addr, dir.path());
    let mut listed = api.local_keys().await;
    listed.sort();
    let mut expected: Vec<_> = (0..3).map(pubkey).collect();
    expected.sort();
    assert_eq!(listed, expected);
    let (status, body) = api
        .send(
            Method::GET,
            &format!("/eth/v1/validator/{key}/feerecipient"),
            None,
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    running.stop().await;
}

/// What ethstaker-deposit / staking-deposit-cli writes beside the keystores.
fn deposit_data(indices: &[u64]) -> String {
    let entries: Vec<Value> = indices
        .iter()
        .map(|i| {
            json!({
                "pubkey": hex::encode(pubkey(*i)),
                "withdrawal_credentials":
                    "010000000000000000000000d6f2a4f4d6a1b1c5f0e6c2b4a3d9e8f7a6b5c4d3",
                "amount": 32_000_000_000u64,
                "signature": "ab".repeat(96),
                "deposit_message_root": "cd".repeat(32),
                "deposit_data_root": "ef".repeat(32),
                "fork_version": "00000000",
                "network_name": "mainnet",
                "deposit_cli_version": "2.7.0",
            })
        })
        .collect();
    Value::Array(entries).to_string()
}

#[tokio::test]
async fn a_deposit_cli_directory_loads_without_errors() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 3);
    let keystores = dir.path().join("keystores");
    std::fs::write(
        keystores.join("deposit_data-1700000000.json"),
        deposit_data(&[0, 1, 2]),
    )
    .unwrap();
    std::fs::write(keystores.join("README.md"), "validators of operator 7\n").unwrap();
    std::fs::write(keystores.join(".DS_Store"), [0u8, 0, 0, 1, 0x42, 0x75]).unwrap();
    let config = harness::config(dir.path(), &node, 0, false);

    let (logs, guard) = Logs::capture();
    let running = harness::start(&config).await;
    drop(guard);
    let text = logs.text();
    assert!(!text.contains(" ERROR "), "{text}");
    assert!(!text.contains("could not be loaded"), "{text}");
    let api = Api::new(running.addr, dir.path());
    let mut listed = api.local_keys().await;
    listed.sort();
    let mut expected: Vec<_> = (0..3).map(pubkey).collect();
    expected.sort();
    assert_eq!(listed, expected);
    // Every keystore loaded, so the key cache was written for exactly them.
    assert_eq!(harness::cached_pubkeys(dir.path()), expected);
    running.stop().await;
}
