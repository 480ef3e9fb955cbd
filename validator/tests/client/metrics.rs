//! `/metrics` of a running client over a real socket: the in-process client's endpoint (what
//! `poolvc run --metrics` starts) and the binary with `--metrics`.

use std::process::Stdio;
use std::time::Duration;

use types::ForkName;
use validator::client::METRICS_TASK;
use validator::http::metrics::CONTENT_TYPE;

use crate::harness;

async fn get(url: &str) -> (u16, String, String) {
    let response = reqwest::get(url).await.expect("metrics answer");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, response.text().await.expect("body"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn running_client_serves_metrics_until_shutdown() {
    let node = harness::mock(ForkName::Capella, 16, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let client = harness::start(
        &harness::config(dir.path(), &[node.mock.url()], 0),
        harness::interop_signer(16),
    )
    .await;
    let address = client
        .serve_metrics("127.0.0.1:0".parse().unwrap())
        .await
        .expect("metrics listener");
    assert!(
        client
            .executor()
            .running_tasks()
            .iter()
            .any(|t| t == METRICS_TASK)
    );
    // The same port again is refused with the address named.
    let err = client.serve_metrics(address).await.unwrap_err();
    assert!(err.to_string().contains(&address.to_string()), "{err}");

    let url = format!("http://{address}/metrics");
    let mut text = String::new();
    for _ in 0..40 {
        let (status, content_type, body) = get(&url).await;
        assert_eq!(status, 200);
        assert_eq!(content_type, CONTENT_TYPE);
        text = body;
        if text.contains("poolvc_duties_total{duty=\"attestation\",outcome=\"performed\"}") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(
        text.contains("poolvc_duties_total{duty=\"attestation\",outcome=\"performed\"}"),
        "{text}"
    );
    for line in [
        "# TYPE poolvc_duties_total counter",
        "# TYPE poolvc_signing_batch_duration_seconds histogram",
        "# TYPE poolvc_pool_exchange_rate gauge",
        "# TYPE poolvc_pool_ledger_epochs_total counter",
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    let (status, _, _) = get(&format!("http://{address}/other")).await;
    assert_eq!(status, 404);
    let status = reqwest::Client::new()
        .post(&url)
        .body("x")
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 405, "read-only");

    harness::run_for(client, Duration::from_millis(10)).await;
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "the listener closes at shutdown"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_metrics_with_the_flag() {
    let node = harness::mock(ForkName::Capella, 4, 12).await;
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    let secrets = dir.path().join("secrets");
    let status = tokio::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .args(["keys", "interop", "--count", "4"])
        .stdout(Stdio::null())
        .arg("--keystores")
        .arg(&keys)
        .arg("--secrets")
        .arg(&secrets)
        .stderr(Stdio::null())
        .status()
        .await
        .unwrap();
    assert!(status.success());
    let port = {
        let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        probe.local_addr().unwrap().port()
    };
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_poolvc"))
        .arg("run")
        .arg("--datadir")
        .arg(dir.path().join("data"))
        .args(["--beacon-nodes", &node.mock.url()])
        .arg("--keystores")
        .arg(&keys)
        .arg("--secrets")
        .arg(&secrets)
        .args(["--pool-vault", &harness::VAULT.to_string()])
        .args([
            "--doppelganger-epochs",
            "0",
            "--metrics",
            "--metrics-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let url = format!("http://127.0.0.1:{port}/metrics");
    let mut served = None;
    for _ in 0..60 {
        if let Ok(response) = reqwest::get(&url).await {
            served = Some(response.text().await.unwrap());
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let text = served.expect("the binary serves /metrics");
    assert!(
        text.contains("# TYPE poolvc_finalized_epoch gauge"),
        "{text}"
    );
    child.kill().await.unwrap();
}
