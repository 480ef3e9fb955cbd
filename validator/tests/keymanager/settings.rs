//! Fee recipient, gas limit and graffiti: the pool's policy, persistence, defaults, errors.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use types::{ExecutionAddress, ForkName};

use crate::harness::{self, Api, VAULT, pubkey};

fn definitions(dir: &std::path::Path) -> Value {
    serde_json::from_slice(&std::fs::read(dir.join("validator_definitions.json")).unwrap()).unwrap()
}

fn entry(definitions: &Value, key: &str) -> Value {
    definitions["validators"]
        .as_array()
        .unwrap()
        .iter()
        .find(|v| v["pubkey"] == key)
        .cloned()
        .unwrap_or(Value::Null)
}

#[tokio::test]
async fn fee_recipient_follows_the_pool_policy() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let key = pubkey(1).to_string();
    let path = format!("/eth/v1/validator/{key}/feerecipient");
    let other = ExecutionAddress::repeat_byte(0x66);

    let (status, body) = api.send(Method::GET, &path, None).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["data"]["pubkey"], key);
    let shown: ExecutionAddress = body["data"]["ethaddress"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(shown, VAULT, "the vault by default");

    // Strict pool: another recipient is refused and not stored.
    let (status, body) = api
        .send(
            Method::POST,
            &path,
            Some(&json!({"ethaddress": other.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains("pool vault") && message.contains(&VAULT.to_string()),
        "{message}"
    );
    assert_eq!(
        entry(&definitions(dir.path()), &key)["fee_recipient"],
        Value::Null
    );
    for bad in [
        json!({"ethaddress": "0x1234"}),
        json!({"ethaddress": format!("{:#x}", ExecutionAddress::ZERO)}),
        json!({"address": VAULT.to_string()}),
    ] {
        let (status, body) = api.send(Method::POST, &path, Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
    }
    // The vault itself may be set, and reset.
    let (status, _) = api
        .send(
            Method::POST,
            &path,
            Some(&json!({"ethaddress": VAULT.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let stored = entry(&definitions(dir.path()), &key)["fee_recipient"].clone();
    assert_eq!(
        stored
            .as_str()
            .unwrap()
            .parse::<ExecutionAddress>()
            .unwrap(),
        VAULT
    );
    let (status, _) = api.send(Method::DELETE, &path, None).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(
        entry(&definitions(dir.path()), &key)["fee_recipient"],
        Value::Null
    );

    // Unknown and malformed keys.
    let stranger = format!("/eth/v1/validator/{}/feerecipient", pubkey(30));
    let (status, body) = api.send(Method::GET, &stranger, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = api.send(Method::DELETE, &stranger, None).await;
    assert_eq!(status, StatusCode::NOT_FOUND, "{body}");
    let (status, body) = api
        .send(Method::GET, "/eth/v1/validator/0x1234/feerecipient", None)
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("`pubkey`"));
    running.stop().await;
}

#[tokio::test]
async fn settings_persist_and_reset_to_defaults() {
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 2);
    let config = harness::config(dir.path(), &node, 0, true);
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let key = pubkey(0).to_string();
    let own = ExecutionAddress::repeat_byte(0x77);

    // A pool allowing other recipients accepts the key's own.
    let fee = format!("/eth/v1/validator/{key}/feerecipient");
    let (status, body) = api
        .send(
            Method::POST,
            &fee,
            Some(&json!({"ethaddress": own.to_string()})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED, "{body}");
    let (_, body) = api.send(Method::GET, &fee, None).await;
    assert_eq!(
        body["data"]["ethaddress"]
            .as_str()
            .unwrap()
            .parse::<ExecutionAddress>()
            .unwrap(),
        own
    );

    let gas = format!("/eth/v1/validator/{key}/gas_limit");
    let (_, body) = api.send(Method::GET, &gas, None).await;
    assert_eq!(body["data"]["gas_limit"], "60000000", "the default, quoted");
    let (status, _) = api
        .send(Method::POST, &gas, Some(&json!({"gas_limit": "36000000"})))
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (_, body) = api.send(Method::GET, &gas, None).await;
    assert_eq!(body["data"]["gas_limit"], "36000000");
    for bad in [
        json!({"gas_limit": "abc"}),
        json!({"gas_limit": "0"}),
        json!({}),
    ] {
        let (status, body) = api.send(Method::POST, &gas, Some(&bad)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{bad}: {body}");
        assert!(
            body["message"].as_str().unwrap().contains("gas_limit"),
            "{body}"
        );
    }

    let graffiti = format!("/eth/v1/validator/{key}/graffiti");
    let (_, body) = api.send(Method::GET, &graffiti, None).await;
    assert_eq!(body["data"]["graffiti"], "", "no default graffiti");
    let (status, _) = api
        .send(
            Method::POST,
            &graffiti,
            Some(&json!({"graffiti": "pooled 🐳"})),
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = api
        .send(
            Method::POST,
            &graffiti,
            Some(&json!({"graffiti": "x".repeat(33)})),
        )
        .await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
    assert!(body["message"].as_str().unwrap().contains("32"), "{body}");

    let stored = entry(&definitions(dir.path()), &key);
    assert_eq!(stored["gas_limit"], 36_000_000);
    assert_eq!(stored["graffiti"], "pooled 🐳");
    running.stop().await;

    // A restart keeps them; DELETE goes back to the defaults.
    let running = harness::start(&config).await;
    let api = Api::new(running.addr, dir.path());
    let (_, body) = api.send(Method::GET, &graffiti, None).await;
    assert_eq!(body["data"]["graffiti"], "pooled 🐳");
    let (_, body) = api.send(Method::GET, &fee, None).await;
    assert_eq!(
        body["data"]["ethaddress"]
            .as_str()
            .unwrap()
            .parse::<ExecutionAddress>()
            .unwrap(),
        own
    );
    for path in [&fee, &gas, &graffiti] {
        let (status, _) = api.send(Method::DELETE, path, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT, "{path}");
    }
    let (_, body) = api.send(Method::GET, &gas, None).await;
    assert_eq!(body["data"]["gas_limit"], "60000000");
    let (_, body) = api.send(Method::GET, &fee, None).await;
    assert_eq!(
        body["data"]["ethaddress"]
            .as_str()
            .unwrap()
            .parse::<ExecutionAddress>()
            .unwrap(),
        VAULT
    );
    let stored = entry(&definitions(dir.path()), &key);
    assert_eq!(stored["gas_limit"], Value::Null);
    assert_eq!(stored["graffiti"], Value::Null);
    running.stop().await;
}
