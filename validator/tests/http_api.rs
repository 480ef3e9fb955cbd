//! The reports API on a store holding real reports (see `common_http`): every endpoint,
//! paging, canonical bytes, cache headers, Merkle proofs, signature checks, 400/404 errors,
//! limits, and serving over TCP with graceful shutdown.

mod common_http;

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common_http::{HOSTILE_NAME, LATEST_FINAL_FRAME, WITHHELD_FRAME, fixture, fixture_with_oracle};
use pool_registry::LedgerStore;
use pool_registry::canonical::to_canonical_json;
use pool_registry::merkle::verify_proof;
use pool_registry::report::{ReportStatus, SanityViolation};
use serde_json::{Value, json};
use tower::ServiceExt;
use types::{Hash256, PublicKeyBytes, U256};
use validator::http::reports::router;
use validator::http::{ReportsState, RequestLimits};

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&self.body)))
    }
    fn header(&self, name: header::HeaderName) -> &str {
        self.headers
            .get(&name)
            .map(|v| v.to_str().unwrap())
            .unwrap_or_else(|| panic!("no {name} header"))
    }
}

async fn send(router: &Router, request: Request<Body>) -> Reply {
    let response = router.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

async fn get(router: &Router, uri: &str) -> Reply {
    send(router, Request::get(uri).body(Body::empty()).unwrap()).await
}

/// A JSON error naming `needle`, with the status as `code`.
fn assert_error(reply: &Reply, status: StatusCode, needle: &str) {
    assert_eq!(
        reply.status,
        status,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    let body = reply.json();
    assert_eq!(body["code"], status.as_u16());
    let message = body["message"].as_str().unwrap();
    assert!(
        message.contains(needle),
        "{message:?} should name {needle:?}"
    );
    assert_eq!(reply.header(header::CONTENT_TYPE), "application/json");
}

fn frames(page: &Value) -> Vec<u64> {
    page["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["frame"].as_str().unwrap().parse().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fixture_reports_are_final_then_withheld() {
    let f = fixture().await;
    assert_eq!(f.reports.len(), 6);
    for r in &f.reports[..5] {
        assert_eq!(r.status, ReportStatus::Final, "{:?}", r.violations);
        assert!(r.signature.is_some());
    }
    let withheld = &f.reports[WITHHELD_FRAME as usize];
    assert_eq!(withheld.status, ReportStatus::Withheld);
    assert!(
        withheld
            .violations
            .iter()
            .any(|v| matches!(v, SanityViolation::AnnualBalanceIncrease { .. }))
    );
    // Hand-derived (pool-registry/tests/pipeline.rs): the slashing makes frame 0 negative.
    assert_eq!(f.reports[0].report.totals.net_rewards_gwei, -949_922_000);
    // Frame 4: six active unslashed validators at +4_400 gwei, the slashed one at −2_000.
    let t = &f.reports[4].report.totals;
    assert_eq!(t.net_rewards_gwei, 6 * 4_400 - 2_000);
    // Fees: 10% of each operator's positive rewards: op 1 (keys 0–3) 17_600, op 2 6_800.
    assert_eq!(t.fee_gwei, 1_760 + 680);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_list_pages_and_verifies() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let page = get(&app, "/pool/v1/reports").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.header(header::CACHE_CONTROL), "no-cache");
    let body = page.json();
    assert_eq!(frames(&body), vec![5, 4, 3, 2, 1, 0]);
    assert!(body["next_page"].is_null());
    let items = body["data"].as_array().unwrap();
    let withheld = &items[0];
    assert_eq!(withheld["status"], "withheld");
    assert_eq!(withheld["signature_present"], false);
    let reason = &withheld["withheld_reasons"][0];
    assert_eq!(reason["limit"], "annual_balance_increase");
    assert!(
        reason["message"]
            .as_str()
            .unwrap()
            .contains("annual CL balance increase")
    );
    assert_eq!(withheld["verification"]["signature"], "not_signed");
    for (item, env) in items.iter().zip(f.reports.iter().rev()) {
        assert_eq!(item["root"], format!("{}", env.root));
        assert_eq!(item["rate"], env.report.rate.to_string());
        assert_eq!(item["verification"]["verified"], true, "{item}");
        assert_eq!(item["verification"]["root_matches"], true);
        assert_eq!(item["verification"]["proofs_verify"], true);
        assert_eq!(
            item["withheld_reasons"].as_array().unwrap().is_empty(),
            env.status == ReportStatus::Final
        );
    }
    assert_eq!(items[1]["verification"]["signature"], "valid");

    // Paging: follow next_page links in both orders.
    for (start, expected) in [
        ("/pool/v1/reports?limit=2", vec![5, 4, 3, 2, 1, 0]),
        ("/pool/v1/reports?limit=4&order=asc", vec![0, 1, 2, 3, 4, 5]),
        (
            "/pool/v1/reports?from_frame=1&to_frame=4&limit=3&order=asc",
            vec![1, 2, 3, 4],
        ),
    ] {
        let mut seen = Vec::new();
        let mut next = Some(start.to_owned());
        while let Some(uri) = next {
            let page = get(&app, &uri).await;
            assert_eq!(page.status, StatusCode::OK, "{uri}");
            let body = page.json();
            seen.extend(frames(&body));
            next = body["next_page"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, expected, "{start}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_by_frame_and_root_serve_the_canonical_bytes() {
    let f = fixture().await;
    let app = router(f.state.clone());
    for env in &f.reports {
        let canonical = to_canonical_json(&env.report).unwrap();
        let frame = env.report.frame;
        let by_frame = get(&app, &format!("/pool/v1/reports/{frame}")).await;
        assert_eq!(by_frame.status, StatusCode::OK);
        assert_eq!(by_frame.header(header::CACHE_CONTROL), "no-cache");
        let body = by_frame.json();
        // The embedded report serialises to exactly the canonical bytes.
        assert_eq!(serde_json::to_string(&body["report"]).unwrap(), canonical);
        assert_eq!(body["root"], env.root.to_string());
        assert_eq!(body["status"], env.status.as_str());
        assert_eq!(body["proofs"].as_object().unwrap().len(), env.proofs.len());

        let text = get(&app, &format!("/pool/v1/reports/{frame}/canonical")).await;
        assert_eq!(text.status, StatusCode::OK);
        assert_eq!(text.body, canonical.as_bytes());
        assert_eq!(text.header(header::ETAG), format!("\"{}\"", env.root));

        let by_root = get(&app, &format!("/pool/v1/reports/by-root/{}", env.root)).await;
        assert_eq!(by_root.status, StatusCode::OK);
        assert_eq!(by_root.json(), body, "same body by frame and by root");
        // Signed final and withheld reports cannot change any more.
        assert_eq!(
            by_root.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        let uri = format!("/pool/v1/reports/by-root/{}/canonical", env.root);
        let text = get(&app, &uri).await;
        assert_eq!(text.body, canonical.as_bytes());
        assert_eq!(
            text.header(header::CACHE_CONTROL),
            "public, max-age=31536000, immutable"
        );
        let cached = send(
            &app,
            Request::get(&uri)
                .header(header::IF_NONE_MATCH, format!("\"{}\"", env.root))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(cached.status, StatusCode::NOT_MODIFIED);
        assert!(cached.body.is_empty());
    }
    let latest = get(&app, "/pool/v1/reports/latest").await.json();
    assert_eq!(latest["frame"], LATEST_FINAL_FRAME.to_string());
    assert_eq!(latest["status"], "final");
    assert_eq!(latest["signer"], f.oracle.to_string());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn merkle_proofs_verify() {
    let f = fixture().await;
    let app = router(f.state.clone());
    for env in &f.reports {
        for op in &env.report.operators {
            let uri = format!(
                "/pool/v1/reports/{}/proofs/{}",
                env.report.frame, op.operator_id
            );
            let body = get(&app, &uri).await.json();
            assert_eq!(body["verifies"], true, "{uri}");
            assert_eq!(body["rewards_root"], env.report.rewards_root.to_string());
            // Verified again here from the JSON alone, as a contract would.
            let proof: Vec<Hash256> = serde_json::from_value(body["proof"].clone()).unwrap();
            let cumulative =
                U256::from_str_radix(body["cumulative_fee_wei"].as_str().unwrap(), 10).unwrap();
            assert_eq!(cumulative, op.cumulative_fee_wei);
            assert!(verify_proof(
                env.report.rewards_root,
                U256::from(op.operator_id),
                cumulative,
                &proof
            ));
            assert!(!verify_proof(
                env.report.rewards_root,
                U256::from(op.operator_id),
                cumulative + U256::from(1u64),
                &proof
            ));
        }
    }
    // Operator 1's fees accumulate over final reports: 880 gwei in frame 4 alone.
    let p4: Value = get(&app, "/pool/v1/reports/4/proofs/1").await.json();
    let p3: Value = get(&app, "/pool/v1/reports/3/proofs/1").await.json();
    let wei = |v: &Value| {
        v["cumulative_fee_wei"]
            .as_str()
            .unwrap()
            .parse::<u128>()
            .unwrap()
    };
    assert_eq!(wei(&p4) - wei(&p3), 880 * 1_000_000_000);
    assert_error(
        &get(&app, "/pool/v1/reports/4/proofs/9").await,
        StatusCode::NOT_FOUND,
        "operator 9",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exchange_rate_history() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let body = get(&app, "/pool/v1/exchange-rate").await.json();
    assert_eq!(frames(&body), vec![0, 1, 2, 3, 4, 5]);
    for (point, env) in body["data"].as_array().unwrap().iter().zip(&f.reports) {
        assert_eq!(point["rate"], env.report.rate.to_string());
        assert_eq!(point["previous_rate"], env.report.previous_rate.to_string());
        assert_eq!(point["apr_ppm"], env.report.apr_ppm.to_string());
        assert_eq!(point["status"], env.status.as_str());
        let slot = env.report.reference_slot.as_u64();
        assert_eq!(
            point["reference_time"],
            (common_http::GENESIS_TIME + slot * 6).to_string()
        );
    }
    // The slashing lowers the rate; positive frames raise it.
    let rate =
        |i: usize| U256::from_str_radix(body["data"][i]["rate"].as_str().unwrap(), 10).unwrap();
    assert!(rate(0) < U256::from(1_000_000_000_000_000_000u64));
    assert!(rate(1) > rate(0) && rate(4) > rate(3));
    let desc = get(&app, "/pool/v1/exchange-rate?order=desc&limit=2")
        .await
        .json();
    assert_eq!(frames(&desc), vec![5, 4]);
    assert!(desc["next_page"].as_str().unwrap().contains("to_frame=3"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_with_validators_and_performance() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let latest = &f.reports[LATEST_FINAL_FRAME as usize];
    let body = get(&app, "/pool/v1/operators").await.json();
    assert_eq!(body["frame"], LATEST_FINAL_FRAME.to_string());
    let ops = body["data"].as_array().unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0]["name"], "Operator 1");
    assert_eq!(ops[1]["name"], HOSTILE_NAME);
    for (op, entry) in ops.iter().zip(&latest.report.operators) {
        assert_eq!(
            op["performance"],
            serde_json::to_value(entry.tally).unwrap()
        );
        assert_eq!(
            op["cumulative_fee_wei"],
            entry.cumulative_fee_wei.to_string()
        );
    }
    assert_eq!(ops[1]["performance"]["net_rewards_gwei"], "6800");
    assert_eq!(ops[0]["performance"]["credential_mismatches"], "1");
    assert_eq!(ops[1]["performance"]["validators_slashed"], "1");

    let op2 = get(&app, "/pool/v1/operators/2").await.json();
    assert_eq!(op2["validators_source"], "snapshot");
    assert_eq!(op2["records"], "available");
    assert_eq!(op2["validators_epoch"], "7");
    let indices: Vec<u64> = op2["validators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["record"]["validator_index"].as_u64().unwrap())
        .collect();
    assert_eq!(indices, vec![4, 5, 6, 7, 16]);
    assert_eq!(op2["proof"]["verifies"], true);
    assert_error(
        &get(&app, "/pool/v1/operators/99").await,
        StatusCode::NOT_FOUND,
        "operator 99",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn validator_ledger_rows_are_paged() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let body = get(&app, "/pool/v1/validators/0/ledger").await.json();
    let epochs: Vec<&str> = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["epoch"].as_str().unwrap())
        .collect();
    assert_eq!(epochs, vec!["3", "4", "5", "6", "7", "8"]);
    assert_eq!(body["data"][1]["record"]["income"], 4_100);
    assert_eq!(
        body["data"][0]["record"]["pubkey"],
        format!("{}", PublicKeyBytes::from([1u8; 48]))
    );
    let page = get(&app, "/pool/v1/validators/0/ledger?from_epoch=4&limit=2")
        .await
        .json();
    assert_eq!(page["data"].as_array().unwrap().len(), 2);
    assert_eq!(
        page["next_page"],
        "/pool/v1/validators/0/ledger?from_epoch=6&to_epoch=18446744073709551615&limit=2"
    );
    assert_error(
        &get(&app, "/pool/v1/validators/999/ledger").await,
        StatusCode::NOT_FOUND,
        "validator 999",
    );
    // Pruned epochs are listed, not silently skipped.
    assert_eq!(
        f.store.prune_records_before(types::Epoch(5)).await.unwrap(),
        2
    );
    let body = get(&app, "/pool/v1/validators/0/ledger?to_epoch=5")
        .await
        .json();
    assert_eq!(body["pruned_epochs"], serde_json::json!(["3", "4"]));
    assert_eq!(body["data"].as_array().unwrap().len(), 1);
    assert_error(
        &get(&app, "/pool/v1/validators/0/ledger?limit=101").await,
        StatusCode::BAD_REQUEST,
        "`limit`",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_parameters_are_400_and_name_the_parameter() {
    let f = fixture().await;
    let app = router(f.state.clone());
    for (uri, name) in [
        ("/pool/v1/reports?limit=0", "`limit`"),
        ("/pool/v1/reports?limit=201", "`limit`"),
        ("/pool/v1/reports?limit=x", "`limit`"),
        ("/pool/v1/reports?lmit=3", "`lmit`"),
        ("/pool/v1/reports?order=up", "`order`"),
        ("/pool/v1/reports?from_frame=5&to_frame=1", "`from_frame`"),
        ("/pool/v1/reports?limit=1&limit=2", "`limit`"),
        ("/pool/v1/reports/abc", "`frame`"),
        ("/pool/v1/reports/-1", "`frame`"),
        ("/pool/v1/reports/abc/canonical", "`frame`"),
        ("/pool/v1/reports/by-root/0x12", "`root`"),
        ("/pool/v1/reports/by-root/1234", "`root`"),
        ("/pool/v1/reports/0/proofs/x", "`operator_id`"),
        ("/pool/v1/operators/x", "`operator_id`"),
        ("/pool/v1/validators/x/ledger", "`validator_index`"),
        (
            "/pool/v1/validators/0/ledger?from_epoch=9&to_epoch=1",
            "`from_epoch`",
        ),
        ("/pool/v1/exchange-rate?to_frame=zz", "`to_frame`"),
        ("/pool/v1/operators?x=1", "`x`"),
    ] {
        assert_error(&get(&app, uri).await, StatusCode::BAD_REQUEST, name);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_items_are_404() {
    let f = fixture().await;
    let app = router(f.state.clone());
    assert_error(
        &get(&app, "/pool/v1/reports/99").await,
        StatusCode::NOT_FOUND,
        "frame 99",
    );
    let zero = format!("/pool/v1/reports/by-root/0x{}", "00".repeat(32));
    assert_error(&get(&app, &zero).await, StatusCode::NOT_FOUND, "root");
    assert_error(
        &get(&app, "/pool/v1/nothing").await,
        StatusCode::NOT_FOUND,
        "/pool/v1/nothing",
    );
    assert_error(
        &get(&app, "/pool/v1/reports/99/canonical").await,
        StatusCode::NOT_FOUND,
        "frame 99",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_different_oracle_key_fails_verification() {
    let other = signer::derivation::interop_secret_key(8).unwrap();
    let f = fixture_with_oracle(Some(pool_registry::report::ReportSigner::public_key(
        &other,
    )))
    .await;
    let app = router(f.state.clone());
    let body = get(&app, "/pool/v1/reports/0").await.json();
    assert_eq!(body["verification"]["signature"], "wrong_signer");
    assert_eq!(body["verification"]["verified"], false);
    assert_eq!(body["verification"]["root_matches"], true);
    // A store that lost the signer field is still checked against the configured key.
    let mut unsigned_signer = f.reports[1].clone();
    unsigned_signer.signer = None;
    let v = validator::http::verify::verify_report(
        &unsigned_signer,
        &f.chain.spec,
        f.chain.genesis_validators_root,
        Some(&pool_registry::report::ReportSigner::public_key(&other)),
    );
    assert_eq!(
        v.signature,
        validator::http::verify::SignatureCheck::Invalid
    );
    // Tampered content no longer matches its root.
    let mut tampered = f.reports[1].clone();
    tampered.report.totals.fee_gwei += 1;
    let v = validator::http::verify::verify_report(
        &tampered,
        &f.chain.spec,
        f.chain.genesis_validators_root,
        Some(&f.oracle),
    );
    assert!(!v.root_matches && !v.verified);
    // Another chain's genesis validators root: the signature does not verify.
    let v = validator::http::verify::verify_report(
        &f.reports[1],
        &f.chain.spec,
        Hash256::repeat_byte(0x43),
        Some(&f.oracle),
    );
    assert_eq!(
        v.signature,
        validator::http::verify::SignatureCheck::Invalid
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_methods_and_timeouts_are_bounded() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let big = send(
        &app,
        Request::get("/pool/v1/reports")
            .header(header::CONTENT_LENGTH, "4096")
            .body(Body::from(vec![b'x'; 4096]))
            .unwrap(),
    )
    .await;
    assert_eq!(big.status, StatusCode::PAYLOAD_TOO_LARGE);
    let post = send(
        &app,
        Request::post("/pool/v1/reports")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(post.status, StatusCode::METHOD_NOT_ALLOWED);
    let head = send(
        &app,
        Request::head("/pool/v1/reports")
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(head.status, StatusCode::OK);
    // A zero timeout: every store read (a blocking task) outlives it.
    let store: std::sync::Arc<dyn pool_registry::LedgerStore> = f.store.clone();
    let registry = std::sync::Arc::new(
        pool_registry::RegistryHandle::load(f.dir.path().join("registry.toml")).unwrap(),
    );
    let hurried = ReportsState::with_limits(
        store,
        registry,
        f.chain.clone(),
        Some(f.oracle),
        RequestLimits {
            timeout: Duration::ZERO,
            ..RequestLimits::default()
        },
    );
    assert_error(
        &get(&router(hurried), "/pool/v1/reports").await,
        StatusCode::SERVICE_UNAVAILABLE,
        "timed out",
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pool_info_and_tcp_serving_with_graceful_shutdown() {
    let f = fixture().await;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
        .await
        .unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = tokio_util::sync::CancellationToken::new();
    let server = tokio::spawn(validator::http::serve(
        listener,
        router(f.state.clone()),
        shutdown.clone(),
    ));
    let client = reqwest::Client::new();
    let pool: Value = client
        .get(format!("http://{addr}/pool/v1/pool"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(pool["name"], "Fixture pool");
    assert_eq!(pool["oracle_pubkey"], f.oracle.to_string());
    assert_eq!(pool["latest_final_frame"], LATEST_FINAL_FRAME.to_string());
    assert_eq!(pool["frame_epochs"], "1");
    // Where the ledger starts, and the limits the next report is checked against.
    assert_eq!(pool["first_frame"], "0");
    assert_eq!(pool["initial_total_shares"], "1000000000000000000000");
    assert_eq!(
        pool["sanity_limits"]["negative_rebase_window_epochs"],
        "8100"
    );
    assert_eq!(pool["sanity_limits"]["max_positive_rebase_1e9"], "750000");
    let root = client.get(format!("http://{addr}/")).send().await.unwrap();
    assert_eq!(
        root.url().path(),
        "/dashboard/",
        "/ redirects to the dashboard"
    );
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), server)
        .await
        .expect("server stops")
        .unwrap()
        .unwrap();
    assert!(
        client
            .get(format!("http://{addr}/pool/v1/pool"))
            .send()
            .await
            .is_err()
    );
}

#[tokio::test]
async fn recorded_inputs_snapshot_and_el_values() {
    let f = fixture().await;
    let app = router(f.state.clone());
    // The snapshot of frame 0 as stored, with its root.
    let stored = f
        .store
        .snapshot(0)
        .await
        .unwrap()
        .expect("frame 0 snapshot");
    let reply = get(&app, "/pool/v1/frames/0/snapshot").await;
    assert_eq!(reply.status, StatusCode::OK);
    let body = reply.json();
    assert_eq!(body["data"]["frame"], "0");
    assert_eq!(
        body["data"]["root"].as_str().unwrap(),
        stored.root().unwrap().to_string()
    );
    let served: pool_registry::FrameSnapshot =
        serde_json::from_value(body["data"]["snapshot"].clone()).unwrap();
    assert_eq!(served, stored);
    assert_eq!(
        get(&app, "/pool/v1/frames/999/snapshot").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        get(&app, "/pool/v1/frames/x/snapshot").await.status,
        StatusCode::BAD_REQUEST
    );

    // EL values: exactly the store's for the range; bad ranges named.
    let stored = f
        .store
        .el_values(types::Slot(0), types::Slot(8191))
        .await
        .unwrap();
    let reply = get(&app, "/pool/v1/el-values?from_slot=0&to_slot=8191").await;
    assert_eq!(reply.status, StatusCode::OK);
    let served: Vec<pool_registry::ledger::ElBlockValue> =
        serde_json::from_value(reply.json()["data"].clone()).unwrap();
    assert_eq!(served, stored);
    for (query, named) in [
        ("", "from_slot"),
        ("?from_slot=5", "to_slot"),
        ("?from_slot=5&to_slot=4", "to_slot"),
        ("?from_slot=0&to_slot=8192", "to_slot"),
        ("?from_slot=0&to_slot=1&x=1", "x"),
    ] {
        let reply = get(&app, &format!("/pool/v1/el-values{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(named), "{query}: {message}");
    }
}

/// Everything a report depends on beyond beacon data is published: each frame's parameters,
/// the stored epoch summaries of the negative-rebase window, and each report's parameters.
#[tokio::test]
async fn published_parameters_and_epoch_summaries() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let stored = f.store.frame_parameters(2).await.unwrap().expect("frame 2");
    let reply = get(&app, "/pool/v1/frames/2/parameters").await;
    assert_eq!(reply.status, StatusCode::OK);
    let data = reply.json()["data"].clone();
    assert_eq!(data["frame"], "2");
    // One-epoch frames from epoch 3: frame 2 is epoch 5.
    assert_eq!(
        (&data["first_epoch"], &data["last_epoch"]),
        (&json!("5"), &json!("5"))
    );
    assert_eq!(
        (&data["frame_start_epoch"], &data["frame_epochs"]),
        (&json!("3"), &json!("1"))
    );
    assert_eq!(
        data["withdrawal_credentials"],
        stored.withdrawal_credentials.to_string()
    );
    assert_eq!(data["pool_address"], format!("0x{}", "aa".repeat(20)));
    // Lowercase hex (not the checksummed display form).
    assert_eq!(data["el_rewards_vault"], format!("0x{}", "bb".repeat(20)));
    let served: pool_registry::FrameParameters = serde_json::from_value(data).unwrap();
    assert_eq!(served, stored);
    assert_eq!(
        get(&app, "/pool/v1/frames/999/parameters").await.status,
        StatusCode::NOT_FOUND
    );

    // Epoch summaries: the store's, as decimal strings.
    let summaries = f
        .store
        .epoch_summaries(types::Epoch(0), types::Epoch(100))
        .await
        .unwrap();
    let reply = get(&app, "/pool/v1/epochs?from_epoch=0&to_epoch=100").await;
    assert_eq!(reply.status, StatusCode::OK);
    let rows = reply.json()["data"].as_array().unwrap().clone();
    assert_eq!(rows.len(), summaries.len());
    assert_eq!(rows.len(), 6, "epochs 3..=8");
    for (row, s) in rows.iter().zip(&summaries) {
        assert_eq!(row["epoch"], s.epoch.as_u64().to_string());
        assert_eq!(row["validators"], s.validators.to_string());
        assert_eq!(row["cl_income_gwei"], s.cl_income.to_string());
        assert_eq!(row["newly_slashed"], s.newly_slashed.to_string());
        assert_eq!(row["unexplained_gwei"], s.unexplained.to_string());
    }
    assert_eq!(
        rows[0]["cl_income_gwei"], "-999922000",
        "the scenario's epoch 3"
    );
    for (query, named) in [
        ("", "from_epoch"),
        ("?from_epoch=1", "to_epoch"),
        ("?from_epoch=5&to_epoch=4", "to_epoch"),
        ("?from_epoch=0&to_epoch=8192", "to_epoch"),
        ("?from_epoch=0&to_epoch=1&limit=1", "limit"),
    ] {
        let reply = get(&app, &format!("/pool/v1/epochs{query}")).await;
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{query}");
        let message = reply.json()["message"].as_str().unwrap().to_owned();
        assert!(message.contains(named), "{query}: {message}");
    }

    // Each report carries the parameters it was built with.
    for envelope in &f.reports {
        let frame = envelope.report.frame;
        let reply = get(&app, &format!("/pool/v1/reports/{frame}")).await;
        let served: pool_registry::report::ReportParameters =
            serde_json::from_value(reply.json()["parameters"].clone()).unwrap();
        assert_eq!(Some(served), envelope.parameters, "frame {frame}");
    }
    let withheld = &f.reports[WITHHELD_FRAME as usize];
    let window = withheld.parameters.unwrap().negative_rebase_window;
    assert_eq!(
        (window.first_epoch, window.last_epoch, window.epochs),
        (types::Epoch(3), types::Epoch(8), 6),
        "the window summed every stored epoch up to the report's last"
    );
}
