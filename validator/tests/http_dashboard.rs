//! The dashboard pages on the same real reports: status, headers, escaping of hostile operator
//! names, the key numbers (hand-derived where noted) under their stable test ids, charts,
//! verification columns, determinism and error pages.

mod common_http;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common_http::{HOSTILE_NAME, LATEST_FINAL_FRAME, fixture, fixture_with_oracle, testid_text};
use tower::ServiceExt;
use validator::http::reports::router;

async fn page(app: &Router, uri: &str) -> (StatusCode, axum::http::HeaderMap, String) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = axum::body::to_bytes(response.into_body(), 1 << 24)
        .await
        .unwrap();
    (status, headers, String::from_utf8(body.to_vec()).unwrap())
}

fn text(html: &str, id: &str) -> String {
    testid_text(html, id).unwrap_or_else(|| panic!("no element with data-testid={id}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overview_shows_the_latest_final_report_and_charts() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let (status, headers, html) = page(&app, "/dashboard/").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(
        csp.contains("default-src 'none'") && !csp.contains("script-src"),
        "{csp}"
    );
    assert!(!html.contains("<script"), "no script at all");
    assert!(
        !html.contains("http://") && !html.contains("https://"),
        "no external asset"
    );
    assert_eq!(text(&html, "pool-name"), "Fixture pool");
    assert_eq!(text(&html, "latest-frame"), LATEST_FINAL_FRAME.to_string());
    // Hand-derived: six validators at +4_400 gwei, the slashed one at −2_000; fees 10% of each
    // operator's positive rewards (17_600 and 6_800 gwei).
    assert_eq!(text(&html, "latest-net-rewards"), "0.000024400");
    assert_eq!(text(&html, "latest-fees"), "0.000002440");
    assert_eq!(text(&html, "latest-validators-active"), "7");
    let latest = &f.reports[LATEST_FINAL_FRAME as usize].report;
    // The rate is wei per 1e18 shares: 18 decimals (below 1 after frame 0's slashing).
    let rate = format!("{:0>19}", latest.rate.to_string());
    assert_eq!(
        text(&html, "latest-rate"),
        format!("{}.{}", &rate[..rate.len() - 18], &rate[rate.len() - 18..])
    );
    assert!(text(&html, "latest-apr").ends_with('%'));
    assert_eq!(text(&html, "latest-withheld-frame"), "5");
    assert!(text(&html, "latest-withheld-reasons").contains("annual CL balance increase"));
    assert_eq!(text(&html, "reports-final-count"), "5");
    assert_eq!(text(&html, "reports-withheld-count"), "1");
    let chart_of = |chart: &str| {
        let at = html.find(&format!("<svg id=\"{chart}\"")).expect(chart);
        html[at..at + html[at..].find("</svg>").unwrap()].to_owned()
    };
    for chart in ["chart-rate", "chart-apr"] {
        let svg = chart_of(chart);
        assert_eq!(
            svg.matches("data-frame=").count(),
            6,
            "{chart}: one point per report"
        );
        assert_eq!(svg.matches("<polyline").count(), 1, "{chart}");
        assert!(svg.contains("frame 5:") && svg.contains("(withheld, not applied"));
    }
    // Frame 0's slashing gives an APR far below the others': off the APR axis, marked with its
    // true value, so that frames 1–4 keep the axis; the rate chart keeps it on its full axis.
    let apr = chart_of("chart-apr");
    let frame0 = &f.reports[0].report;
    assert!(frame0.apr_ppm < -1_000_000_000, "{}", frame0.apr_ppm);
    let shown = format!(
        "-{}.{:04}%",
        frame0.apr_ppm.unsigned_abs() / 10_000,
        frame0.apr_ppm.unsigned_abs() % 10_000
    );
    assert!(
        apr.contains(&format!(
            "data-frame=\"0\" data-value=\"{}\" data-off-scale=\"low\"",
            frame0.apr_ppm
        )),
        "{apr}"
    );
    assert_eq!(text(&apr, "chart-apr-off-scale-0-label"), shown);
    assert!(apr.contains(&format!(
        "<title>frame 0: {shown} (off scale: below the axis)</title>"
    )));
    assert!(text(&apr, "chart-apr-off-scale-note").starts_with("2 off scale"));
    for frame in 1..=4 {
        assert!(
            !apr.contains(&format!("chart-apr-off-scale-{frame}\"")),
            "frame {frame} on the APR axis"
        );
    }
    assert_eq!(apr.matches("<circle").count(), 4, "frames 1–4 on the axis");
    let rate = chart_of("chart-rate");
    assert!(
        !rate.contains("chart-rate-off-scale-0\""),
        "the rate axis spans every applied value"
    );
    assert!(html.contains(&format!("data-frame=\"4\" data-value=\"{}\"", latest.rate)));
    let (_, _, again) = page(&app, "/dashboard/").await;
    assert_eq!(again, html, "deterministic rendering");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_table_escapes_names_and_shows_figures() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let (status, _, html) = page(&app, "/dashboard/operators").await;
    assert_eq!(status, StatusCode::OK);
    assert!(!html.contains(HOSTILE_NAME) && !html.contains("<script"));
    assert!(html.contains(
        "&lt;script&gt;alert(&quot;pwn&quot;)&lt;/script&gt; &amp; &#39;Ops&#39; &lt;b&gt;"
    ));
    assert_eq!(text(&html, "operators-frame"), "4");
    // Hand-derived figures of frame 4.
    assert_eq!(text(&html, "op-1-net-rewards"), "0.000017600");
    assert_eq!(text(&html, "op-2-net-rewards"), "0.000006800");
    assert_eq!(text(&html, "op-1-fee"), "0.000000880");
    assert_eq!(text(&html, "op-2-fee"), "0.000000340");
    // The slashed validator's loss counts as a slashing loss, not as a penalty.
    assert_eq!(text(&html, "op-2-slashing-losses"), "0.000002000");
    assert_eq!(text(&html, "op-2-penalties"), "0.000000000");
    assert_eq!(text(&html, "op-1-credential-mismatches"), "1");
    assert_eq!(text(&html, "op-2-slashed"), "1");
    assert_eq!(text(&html, "op-1-validators-active"), "4");
    assert_eq!(text(&html, "op-2-validators-active"), "3");
    assert_eq!(text(&html, "op-1-bps"), "5.00%");
    assert_eq!(text(&html, "totals-net-rewards"), "0.000024400");
    let tally = &f.reports[4].report.operators[0].tally;
    assert_eq!(
        text(&html, "op-1-attestations-missed"),
        tally.attestations_missed.to_string()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn report_list_shows_status_roots_and_verification() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let (status, _, html) = page(&app, "/dashboard/reports").await;
    assert_eq!(status, StatusCode::OK);
    for env in &f.reports {
        let frame = env.report.frame;
        assert_eq!(
            text(&html, &format!("report-{frame}-root")),
            env.root.to_string()
        );
        assert_eq!(
            text(&html, &format!("report-{frame}-root-check")),
            "matches"
        );
        assert_eq!(text(&html, &format!("report-{frame}-merkle")), "verify");
        assert_eq!(text(&html, &format!("report-{frame}-verified")), "yes");
    }
    assert_eq!(text(&html, "report-0-signature"), "valid");
    assert_eq!(text(&html, "report-5-signature"), "not signed (withheld)");
    assert!(html.contains("data-testid=\"report-5-status\" data-status=\"withheld\""));
    assert!(text(&html, "report-5-reasons").contains("exceeds the limit of 1000 bps"));
    assert!(html.contains("data-testid=\"report-4-status\" data-status=\"final\""));

    // Against another oracle key every signature is flagged.
    let other = signer::derivation::interop_secret_key(8).unwrap();
    let g = fixture_with_oracle(Some(pool_registry::report::ReportSigner::public_key(
        &other,
    )))
    .await;
    let (_, _, html) = page(&router(g.state.clone()), "/dashboard/reports").await;
    assert_eq!(text(&html, "report-0-signature"), "wrong signer");
    assert_eq!(text(&html, "report-0-verified"), "NO");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operator_page_lists_validators_and_its_proof() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let (status, _, html) = page(&app, "/dashboard/operators/1").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(text(&html, "operator-name"), "Operator 1");
    assert_eq!(text(&html, "operator-net-rewards"), "0.000017600");
    assert_eq!(text(&html, "operator-validator-count"), "4");
    assert_eq!(text(&html, "proof-verifies"), "yes");
    let report = &f.reports[4];
    assert_eq!(
        text(&html, "proof-root"),
        report.report.rewards_root.to_string()
    );
    assert_eq!(
        text(&html, "proof-node-0"),
        report.proofs[&1][0].to_string()
    );
    // Validator 0 (key [1; 48]): 32.000114000 ETH after epoch 3 (hand-derived in
    // pool-registry's ledger tests), then +4_100, +4_200, +4_300, +4_400 gwei.
    let short = &format!("{}", types::PublicKeyBytes::from([1u8; 48]))[..18];
    assert_eq!(text(&html, &format!("validator-{short}-index")), "0");
    assert_eq!(
        text(&html, &format!("validator-{short}-balance")),
        "33.000131000"
    );
    let (_, _, op2) = page(&app, "/dashboard/operators/2").await;
    assert!(op2.contains("&lt;script&gt;") && !op2.contains("<script"));
    let (status, headers, missing) = page(&app, "/dashboard/operators/42").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(headers[header::CONTENT_TYPE], "text/html; charset=utf-8");
    assert_eq!(text(&missing, "error-message"), "operator 42 not found");
    let (status, _, bad) = page(&app, "/dashboard/operators/x").await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(text(&bad, "error-message").contains("`operator_id`"));
}
