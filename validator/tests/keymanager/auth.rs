//! The bearer token: every route refuses requests without it, the token file is private,
//! reused at restart, and a readable or malformed file stops the start.

use std::os::unix::fs::PermissionsExt;

use reqwest::{Method, StatusCode};
use serde_json::json;
use types::ForkName;

use crate::harness::{self, Api};

#[tokio::test]
async fn every_route_needs_the_exact_token() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 0, false);
    let (logs, guard) = validator::testing::Logs::capture();
    let running = harness::start(&config).await;
    drop(guard);
    let api = Api::new(running.addr, dir.path());

    // Where the token is: logged once, at INFO, at start-up.
    let token_file = dir.path().join("api-token.txt");
    let token_path = token_file.display().to_string();
    let log = logs.text();
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&token_path)).collect();
    assert_eq!(lines.len(), 1, "{log}");
    assert!(lines[0].contains(" INFO "), "{}", lines[0]);
    assert!(lines[0].contains("Bearer"), "{}", lines[0]);
    let datadir = dir.path().display().to_string();

    let key = harness::pubkey(0);
    let mut targets: Vec<(Method, String)> = Vec::new();
    for path in validator::http::keymanager::ROUTES {
        let path = path.replace("{pubkey}", &key.to_string());
        for method in [Method::GET, Method::POST, Method::DELETE, Method::PUT] {
            targets.push((method, path.clone()));
        }
    }
    targets.push((Method::GET, "/".to_owned()));
    targets.push((Method::GET, "/eth/v1/unknown".to_owned()));
    targets.push((Method::GET, "/metrics".to_owned()));
    let body = json!({"pubkeys": [key.to_string()]});
    let wrong = format!("Bearer {}", "0".repeat(64));
    let almost = format!("Bearer {}x", api.token());
    let truncated = format!("Bearer {}", &api.token()[..63]);
    let basic = format!("Basic {}", api.token());
    // Each refusal says what is missing or wrong, in general terms.
    let cases = [
        (None, "missing bearer token"),
        (Some(wrong.as_str()), "invalid bearer token"),
        (Some(almost.as_str()), "invalid bearer token"),
        (Some(truncated.as_str()), "invalid bearer token"),
        (Some(basic.as_str()), "must be `Bearer <token>`"),
        (Some("Bearer "), "must be `Bearer <token>`"),
    ];
    for (method, path) in &targets {
        for (authorization, says) in cases {
            let (status, answer) = api
                .send_with(method.clone(), path, Some(&body), authorization)
                .await;
            assert_eq!(
                status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} with {authorization:?}: {answer}"
            );
            let message = answer["message"].as_str().unwrap_or_default();
            assert!(message.contains(says), "{says:?} in {answer}");
            // Never where the token or the data live.
            let text = answer.to_string();
            for secret_place in [token_path.as_str(), datadir.as_str(), "api-token"] {
                assert!(!text.contains(secret_place), "{secret_place} in {text}");
            }
        }
    }
    // Nothing was deleted by any of those requests.
    assert_eq!(api.local_keys().await.len(), 2);

    // With the token: unknown routes are 404, wrong methods 405, both as JSON.
    let (status, answer) = api.send(Method::GET, "/eth/v1/unknown", None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{answer}");
    let (status, answer) = api.send(Method::PUT, "/eth/v1/keystores", None).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED, "{answer}");
    assert!(
        answer["message"].as_str().unwrap().contains("PUT"),
        "{answer}"
    );
    running.stop().await;
}

#[tokio::test]
async fn token_file_is_private_reused_and_checked() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 1);
    let config = harness::config(dir.path(), &node, 0, false);
    let token_file = dir.path().join("api-token.txt");

    let running = harness::start(&config).await;
    let mode = std::fs::metadata(&token_file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600, "created 0600");
    let token = std::fs::read_to_string(&token_file).unwrap();
    assert!(
        token.len() >= 64 && token.bytes().all(|b| b.is_ascii_hexdigit()),
        "32 random bytes in hex"
    );
    running.stop().await;

    // Reused at restart: the same token still works.
    let running = harness::start(&config).await;
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), token);
    let api = Api::new(running.addr, dir.path());
    assert_eq!(api.local_keys().await.len(), 1);
    running.stop().await;

    // Readable by others: the start is refused, naming the file.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let err = match harness::try_start(&config).await {
        Ok(_) => panic!("started with a world-readable token file"),
        Err(err) => err.to_string(),
    };
    assert!(
        err.contains("api-token.txt") && err.contains("chmod 600"),
        "{err}"
    );
    // Malformed: refused too, without echoing the content.
    std::fs::set_permissions(&token_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    std::fs::write(&token_file, "secret-but-not-hex").unwrap();
    let err = match harness::try_start(&config).await {
        Ok(_) => panic!("started with a malformed token file"),
        Err(err) => err.to_string(),
    };
    assert!(err.contains("malformed"), "{err}");
    assert!(!err.contains("secret-but-not-hex"), "{err}");
}
