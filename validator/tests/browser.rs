//! The dashboard in a real browser: the reports server runs in-process on `127.0.0.1:0` over a
//! store of real reports (`common_http`), Debian's headless `chromium` loads every page
//! (`--dump-dom`), and the numbers in the rendered DOM are compared with what the reports API
//! returns for the same data (fetched here and formatted independently). A screenshot of each
//! page is saved under `target/dashboard-screenshots/`.
//!
//! Without `chromium` the trials are reported as ignored with a loud SKIPPED line on stderr;
//! under `CI=true` they fail instead. `CHROMIUM` overrides the browser binary.

mod common_http;

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common_http::{HOSTILE_NAME, fixture, testid_text};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::Value;

/// How long one chromium run may take.
const BROWSER_TIMEOUT: Duration = Duration::from_secs(90);
const WINDOW: (u32, u32) = (1280, 1600);

/// A child process killed (and reaped) when dropped.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn find_chromium() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("CHROMIUM") {
        return Some(PathBuf::from(path)).filter(|p| p.is_file());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .flat_map(|dir| ["chromium", "chromium-browser"].map(|name| dir.join(name)))
        .find(|p| p.is_file())
}

/// Runs chromium headless on `url` with `extra` flags; returns its stdout.
fn chromium(browser: &Path, profile: &Path, extra: &[String], url: &str) -> Result<String, Failed> {
    let mut command = Command::new(browser);
    command
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--hide-scrollbars",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(extra)
        .arg(url)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = KillOnDrop(
        command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", browser.display()))?,
    );
    // Drain both pipes on threads so a chatty browser cannot block on a full pipe.
    let mut stdout = child.0.stdout.take().ok_or("no stdout")?;
    let mut stderr = child.0.stderr.take().ok_or("no stderr")?;
    let out = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stdout.read_to_string(&mut s);
        s
    });
    let err = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr.read_to_string(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.0.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if started.elapsed() > BROWSER_TIMEOUT {
            drop(child);
            return Err(format!("chromium did not finish {url} within {BROWSER_TIMEOUT:?}").into());
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let stdout = out.join().map_err(|_| "stdout reader panicked")?;
    let stderr = err.join().map_err(|_| "stderr reader panicked")?;
    if !status.success() {
        return Err(format!("chromium exited with {status} on {url}: {stderr}").into());
    }
    Ok(stdout)
}

struct Env {
    browser: PathBuf,
    base: String,
    screenshots: PathBuf,
    profile: tempfile::TempDir,
    api: tokio::runtime::Handle,
}

impl Env {
    fn api(&self, path: &str) -> Result<Value, Failed> {
        let url = format!("{}{path}", self.base);
        self.api.block_on(async {
            let response = reqwest::get(&url)
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            if !response.status().is_success() {
                return Err(Failed::from(format!("{url}: {}", response.status())));
            }
            response
                .json::<Value>()
                .await
                .map_err(|e| Failed::from(format!("{url}: {e}")))
        })
    }

    /// The page's DOM after loading, and a screenshot saved as `<name>.png`.
    fn load(&self, name: &str, path: &str) -> Result<String, Failed> {
        let url = format!("{}{path}", self.base);
        let profile = self.profile.path().join(name);
        let dom = chromium(&self.browser, &profile, &["--dump-dom".to_owned()], &url)?;
        if !dom.contains("</html>") {
            return Err(format!("{url}: no document in chromium's output: {dom:.200}").into());
        }
        let png = self.screenshots.join(format!("{name}.png"));
        let _ = std::fs::remove_file(&png);
        chromium(
            &self.browser,
            &profile,
            &[
                format!("--screenshot={}", png.display()),
                format!("--window-size={},{}", WINDOW.0, WINDOW.1),
            ],
            &url,
        )?;
        let bytes = std::fs::read(&png).map_err(|e| format!("{}: {e}", png.display()))?;
        if bytes.len() < 24 || &bytes[..8] != b"\x89PNG\r\n\x1a\n" {
            return Err(format!("{} is not a PNG", png.display()).into());
        }
        let width = u32::from_be_bytes([bytes[16], bytes[17], bytes[18], bytes[19]]);
        if width != WINDOW.0 {
            return Err(format!("{}: width {width}, expected {}", png.display(), WINDOW.0).into());
        }
        Ok(dom)
    }
}

fn text(dom: &str, id: &str) -> Result<String, Failed> {
    testid_text(dom, id).ok_or_else(|| format!("no element with data-testid={id}").into())
}

fn expect_eq(what: &str, got: &str, want: &str) -> Result<(), Failed> {
    if got == want {
        Ok(())
    } else {
        Err(format!("{what}: the page shows {got:?}, the API says {want:?}").into())
    }
}

fn str_of<'a>(v: &'a Value, what: &str) -> Result<&'a str, Failed> {
    v.as_str()
        .ok_or_else(|| format!("{what} is not a string: {v}").into())
}

fn int(v: &Value, what: &str) -> Result<i128, Failed> {
    str_of(v, what)?
        .parse()
        .map_err(|e| format!("{what}: {e}").into())
}

/// Test-side formatting, written independently of the dashboard's.
fn eth9(gwei: i128) -> String {
    let sign = if gwei < 0 { "-" } else { "" };
    let a = gwei.unsigned_abs();
    format!("{sign}{}.{:09}", a / 1_000_000_000, a % 1_000_000_000)
}

fn percent4(ppm: i128) -> String {
    let sign = if ppm < 0 { "-" } else { "" };
    let a = ppm.unsigned_abs();
    format!("{sign}{}.{:04}%", a / 10_000, a % 10_000)
}

fn rate18(rate: &str) -> String {
    let padded = format!("{rate:0>19}");
    let (int, frac) = padded.split_at(padded.len() - 18);
    format!("{int}.{frac}")
}

fn no_script(dom: &str) -> Result<(), Failed> {
    if dom.contains("<script") {
        return Err("the DOM holds a script element (operator name not escaped?)".into());
    }
    Ok(())
}

fn overview(env: &Env) -> Result<(), Failed> {
    let dom = env.load("overview", "/dashboard/")?;
    let latest = env.api("/pool/v1/reports/latest")?;
    let report = &latest["report"];
    expect_eq(
        "frame",
        &text(&dom, "latest-frame")?,
        str_of(&latest["frame"], "frame")?,
    )?;
    expect_eq(
        "rate",
        &text(&dom, "latest-rate")?,
        &rate18(str_of(&latest["rate"], "rate")?),
    )?;
    expect_eq(
        "APR",
        &text(&dom, "latest-apr")?,
        &percent4(int(&latest["apr_ppm"], "apr")?),
    )?;
    let totals = &report["totals"];
    expect_eq(
        "net rewards",
        &text(&dom, "latest-net-rewards")?,
        &eth9(int(&totals["net_rewards_gwei"], "net rewards")?),
    )?;
    expect_eq(
        "fees",
        &text(&dom, "latest-fees")?,
        &eth9(int(&totals["fee_gwei"], "fees")?),
    )?;
    expect_eq(
        "active validators",
        &text(&dom, "latest-validators-active")?,
        str_of(&totals["validators_active"], "active")?,
    )?;
    let reports = env.api("/pool/v1/reports")?;
    let items = reports["data"].as_array().ok_or("no report list")?;
    let withheld = items.iter().filter(|r| r["status"] == "withheld").count();
    expect_eq(
        "withheld count",
        &text(&dom, "reports-withheld-count")?,
        &withheld.to_string(),
    )?;
    let chart_of = |chart: &str| -> Result<&str, Failed> {
        let at = dom
            .find(&format!("id=\"{chart}\""))
            .ok_or_else(|| format!("no {chart} in the DOM"))?;
        Ok(&dom[at..at + dom[at..].find("</svg>").ok_or("unterminated svg")?])
    };
    for chart in ["chart-rate", "chart-apr"] {
        let points = chart_of(chart)?.matches("data-frame=").count();
        if points != items.len() {
            return Err(format!("{chart}: {points} points for {} reports", items.len()).into());
        }
    }
    // Every APR far outside the others' (frame 0's slashing) is marked off scale with its
    // true value, as the API gives it; the others are on the axis.
    let apr = chart_of("chart-apr")?;
    let aprs: Vec<(String, i128, bool)> = items
        .iter()
        .map(|r| {
            Ok((
                str_of(&r["frame"], "frame")?.to_owned(),
                int(&r["apr_ppm"], "apr")?,
                r["status"] == "final",
            ))
        })
        .collect::<Result<_, Failed>>()?;
    let (frame0, apr0, _) = aprs
        .iter()
        .find(|(f, _, _)| f == "0")
        .ok_or("no report of frame 0")?;
    if *apr0 > -1_000_000_000 {
        return Err(format!("frame 0's APR {apr0} ppm is not the outlier the fixture has").into());
    }
    expect_eq(
        "off-scale label of frame 0",
        &text(apr, &format!("chart-apr-off-scale-{frame0}-label"))?,
        &percent4(*apr0),
    )?;
    // The axis: the other final reports' APRs; anything outside (frame 0, and the withheld
    // report far above) is off scale.
    let kept: Vec<i128> = aprs
        .iter()
        .filter(|(f, _, applied)| *applied && f != frame0)
        .map(|(_, v, _)| *v)
        .collect();
    let (lo, hi) = (
        kept.iter().min().copied().ok_or("no other final report")?,
        kept.iter().max().copied().ok_or("no other final report")?,
    );
    for (frame, value, _) in &aprs {
        let marked = apr.contains(&format!("chart-apr-off-scale-{frame}\""));
        let far = *value < lo || *value > hi;
        if marked != far {
            return Err(format!(
                "frame {frame} (APR {value} ppm): off-scale marker {marked}, expected {far}"
            )
            .into());
        }
    }
    no_script(&dom)
}

fn operators(env: &Env) -> Result<(), Failed> {
    let dom = env.load("operators", "/dashboard/operators")?;
    let api = env.api("/pool/v1/operators")?;
    for op in api["data"].as_array().ok_or("no operators")? {
        let id = str_of(&op["operator_id"], "id")?;
        let p = &op["performance"];
        for (field, cell, fmt) in [
            ("net_rewards_gwei", "net-rewards", "eth"),
            ("operator_fee_gwei", "fee", "eth"),
            ("cl_rewards_gwei", "cl-rewards", "eth"),
            ("slashing_losses_gwei", "slashing-losses", "eth"),
            ("effectiveness_ppm", "effectiveness", "percent"),
            ("attestations_missed", "attestations-missed", "int"),
            ("proposals_missed", "proposals-missed", "int"),
            ("validators_slashed", "slashed", "int"),
            ("credential_mismatches", "credential-mismatches", "int"),
        ] {
            let value = int(&p[field], field)?;
            let want = match fmt {
                "eth" => eth9(value),
                "percent" => percent4(value),
                _ => value.to_string(),
            };
            expect_eq(
                &format!("operator {id} {field}"),
                &text(&dom, &format!("op-{id}-{cell}"))?,
                &want,
            )?;
        }
    }
    // The hostile name is shown as text: the browser re-escapes it when serialising the DOM.
    let escaped = HOSTILE_NAME
        .replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;");
    if !dom.contains(&escaped) {
        return Err("operator 2's name is not shown as text".into());
    }
    no_script(&dom)
}

fn reports(env: &Env) -> Result<(), Failed> {
    let dom = env.load("reports", "/dashboard/reports")?;
    let api = env.api("/pool/v1/reports")?;
    for r in api["data"].as_array().ok_or("no reports")? {
        let f = str_of(&r["frame"], "frame")?;
        expect_eq(
            &format!("root of {f}"),
            &text(&dom, &format!("report-{f}-root"))?,
            str_of(&r["root"], "root")?,
        )?;
        let status = str_of(&r["status"], "status")?;
        if !dom.contains(&format!(
            "data-testid=\"report-{f}-status\" data-status=\"{status}\""
        )) {
            return Err(format!("report {f}: status {status} not shown").into());
        }
        let verified = if r["verification"]["verified"] == true {
            "yes"
        } else {
            "NO"
        };
        expect_eq(
            &format!("verified {f}"),
            &text(&dom, &format!("report-{f}-verified"))?,
            verified,
        )?;
        expect_eq(
            &format!("rate {f}"),
            &text(&dom, &format!("report-{f}-rate"))?,
            &rate18(str_of(&r["rate"], "rate")?),
        )?;
        if status == "withheld" {
            let reason = str_of(&r["withheld_reasons"][0]["message"], "reason")?;
            if !text(&dom, &format!("report-{f}-reasons"))?.contains(reason) {
                return Err(format!("report {f}: reason {reason:?} not shown").into());
            }
        }
    }
    Ok(())
}

fn operator_page(env: &Env, id: u64) -> Result<(), Failed> {
    let dom = env.load(
        &format!("operator-{id}"),
        &format!("/dashboard/operators/{id}"),
    )?;
    let api = env.api(&format!("/pool/v1/operators/{id}"))?;
    let proof = &api["proof"];
    expect_eq(
        "proof root",
        &text(&dom, "proof-root")?,
        str_of(&proof["rewards_root"], "root")?,
    )?;
    expect_eq(
        "leaf hash",
        &text(&dom, "proof-leaf-hash")?,
        str_of(&proof["leaf_hash"], "leaf")?,
    )?;
    expect_eq(
        "verifies",
        &text(&dom, "proof-verifies")?,
        if proof["verifies"] == true {
            "yes"
        } else {
            "NO"
        },
    )?;
    let validators = api["validators"].as_array().ok_or("no validators")?;
    expect_eq(
        "validator count",
        &text(&dom, "operator-validator-count")?,
        &validators.len().to_string(),
    )?;
    for v in validators {
        let key = str_of(&v["pubkey"], "pubkey")?;
        let short = &key[..18];
        if let Some(balance) = v["record"]["balance_end"].as_u64() {
            expect_eq(
                &format!("balance of {short}"),
                &text(&dom, &format!("validator-{short}-balance"))?,
                &eth9(i128::from(balance)),
            )?;
        }
    }
    expect_eq(
        "operator net rewards",
        &text(&dom, "operator-net-rewards")?,
        &eth9(int(&api["performance"]["net_rewards_gwei"], "net")?),
    )?;
    no_script(&dom)
}

fn screenshots_dir() -> PathBuf {
    // The test binary is target/<profile>/deps/browser-<hash>: screenshots go to target/.
    let target = std::env::current_exe()
        .ok()
        .and_then(|exe| Some(exe.parent()?.parent()?.parent()?.to_path_buf()))
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("dashboard-screenshots")
}

fn main() {
    let mut args = Arguments::from_args();
    // One browser at a time: the machine is small and each run is heavy.
    args.test_threads.get_or_insert(1);
    let names = [
        "overview",
        "operators",
        "reports",
        "operator_1",
        "operator_2",
    ];
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let Some(browser) = find_chromium() else {
        let message = "SKIPPED: dashboard browser test: chromium not found (install Debian's `chromium` or set CHROMIUM)";
        // Straight to the process's stderr so it shows even when test output is captured.
        let _ = writeln!(std::io::stderr(), "\n{message}\n");
        let trials = names
            .iter()
            .map(|name| {
                if ci {
                    Trial::test(*name, move || {
                        Err(Failed::from(
                            "CI=true requires chromium for the dashboard browser test",
                        ))
                    })
                } else {
                    Trial::test(*name, || Ok(())).with_ignored_flag(true)
                }
            })
            .collect();
        libtest_mimic::run(&args, trials).exit();
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (fixture, addr) = runtime.block_on(async {
        let fixture = fixture().await;
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().expect("local address");
        let router = validator::http::reports::router(fixture.state.clone());
        tokio::spawn(validator::http::serve(
            listener,
            router,
            tokio_util::sync::CancellationToken::new(),
        ));
        (fixture, addr)
    });
    let screenshots = screenshots_dir();
    std::fs::create_dir_all(&screenshots).expect("screenshot directory");
    let env = Arc::new(Env {
        browser,
        base: format!("http://{addr}"),
        screenshots,
        profile: tempfile::tempdir().expect("profile directory"),
        api: runtime.handle().clone(),
    });
    let trial = |name: &'static str, f: fn(&Env) -> Result<(), Failed>| {
        let env = Arc::clone(&env);
        Trial::test(name, move || f(&env))
    };
    let trials = vec![
        trial(names[0], overview),
        trial(names[1], operators),
        trial(names[2], reports),
        trial(names[3], |env| operator_page(env, 1)),
        trial(names[4], |env| operator_page(env, 2)),
    ];
    let conclusion = libtest_mimic::run(&args, trials);
    drop(fixture);
    drop(runtime);
    conclusion.exit();
}
