//! The Keymanager API against its specification (`apis/keymanager-APIs` in the vectors): the
//! paths the specification defines are exactly those served; every operation, called with
//! valid input on a running client, answers a status the specification lists for it, with a
//! body valid under that response's schema (or no body when the specification gives none);
//! without the token it answers 401 with an `ErrorResponse`.
//!
//! The schema check covers what the specification uses: `$ref` (across files), `allOf`,
//! `oneOf`/`anyOf`, `type`, `required`, `properties`, `items`, `enum` and the two pattern
//! shapes it has (`^0x[a-fA-F0-9]{N}$` and the decimal `Uint64`); anything else fails the
//! trial rather than passing unchecked. One trial per operation.

#[expect(
    dead_code,
    reason = "the keymanager tests' harness, of which this binary uses a part"
)]
#[path = "keymanager/harness.rs"]
mod harness;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use libtest_mimic::{Arguments, Failed, Trial};
use reqwest::Method;
use serde_json::{Value, json};
use types::spec_files::{SpecError, SpecFiles};
use types::{ForkName, test_vectors};

use harness::{Api, keystore_json, pubkey};

/// Why a value does not match its schema (test diagnostics).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Problem(String);

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<String> for Problem {
    fn from(message: String) -> Self {
        Self(message)
    }
}

impl From<SpecError> for Problem {
    fn from(error: SpecError) -> Self {
        Self(error.0)
    }
}

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

/// The specification's files, and schema validation over them.
#[derive(Default)]
struct Files {
    files: SpecFiles,
}

impl Files {
    fn load(&self, path: &Path) -> Result<Arc<Value>, Problem> {
        Ok(self.files.load(path)?)
    }

    fn deref(&self, node: &Value, file: &Path) -> Result<(Value, PathBuf), Problem> {
        Ok(self.files.deref(node, file)?)
    }

    /// Checks `value` against `schema`; the error names the JSON path.
    fn validate(
        &self,
        value: &Value,
        schema: &Value,
        file: &Path,
        at: &str,
    ) -> Result<(), Problem> {
        let (schema, file) = self.deref(schema, file)?;
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.validate(value, part, &file, at)?;
            }
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema.get(key).and_then(Value::as_array) {
                let errors: Vec<String> = options
                    .iter()
                    .filter_map(|o| self.validate(value, o, &file, at).err())
                    .map(|e| e.0)
                    .collect();
                if errors.len() == options.len() {
                    return Err(format!("{at}: matches no {key} option: {errors:?}").into());
                }
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            return Err(format!("{at}: {value} not in {options:?}").into());
        }
        match schema.get("type").and_then(Value::as_str) {
            None => Ok(()),
            Some("object") => {
                let object = value
                    .as_object()
                    .ok_or_else(|| format!("{at}: expected an object, got {value}"))?;
                for name in schema
                    .get("required")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                {
                    if !object.contains_key(name) {
                        return Err(format!("{at}: required `{name}` missing").into());
                    }
                }
                if let Some(properties) = schema.get("properties").and_then(Value::as_object) {
                    for (name, property) in properties {
                        if let Some(field) = object.get(name) {
                            self.validate(field, property, &file, &format!("{at}.{name}"))?;
                        }
                    }
                }
                Ok(())
            }
            Some("array") => {
                let items = value
                    .as_array()
                    .ok_or_else(|| format!("{at}: expected an array, got {value}"))?;
                let schema_items = schema.get("items").ok_or(format!("{at}: no items"))?;
                for (i, item) in items.iter().enumerate() {
                    self.validate(item, schema_items, &file, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            Some("string") => {
                let text = value
                    .as_str()
                    .ok_or_else(|| format!("{at}: expected a string, got {value}"))?;
                match schema.get("pattern").and_then(Value::as_str) {
                    Some(pattern) => {
                        check_pattern(text, pattern).map_err(|e| format!("{at}: {e}").into())
                    }
                    None => Ok(()),
                }
            }
            Some("boolean") if value.is_boolean() => Ok(()),
            Some("integer" | "number") if value.is_number() => Ok(()),
            Some(other) => Err(format!("{at}: expected a {other}, got {value}").into()),
        }
    }
}

/// The two pattern shapes of the specification; any other is an error, never a pass.
fn check_pattern(text: &str, pattern: &str) -> Result<(), Problem> {
    if let Some(count) = pattern
        .strip_prefix("^0x[a-fA-F0-9]{")
        .and_then(|rest| rest.strip_suffix("}$"))
        .and_then(|n| n.parse::<usize>().ok())
    {
        let ok = text
            .strip_prefix("0x")
            .is_some_and(|d| d.len() == count && d.bytes().all(|b| b.is_ascii_hexdigit()));
        return if ok {
            Ok(())
        } else {
            Err(format!("{text:?} does not match {pattern}").into())
        };
    }
    if pattern == "^(0|[1-9][0-9]{0,19})$" {
        let ok = text == "0"
            || (!text.is_empty()
                && text.len() <= 20
                && !text.starts_with('0')
                && text.bytes().all(|b| b.is_ascii_digit()));
        return if ok {
            Ok(())
        } else {
            Err(format!("{text:?} is not a Uint64").into())
        };
    }
    Err(format!("unsupported pattern {pattern}").into())
}

/// One operation of the specification.
struct Operation {
    method: Method,
    path: String,
    file: PathBuf,
    spec: Value,
}

fn operations(files: &Files, root: &Path) -> Result<Vec<Operation>, Problem> {
    let entry = root.join("keymanager-oapi.yaml");
    let document = files.load(&entry)?;
    let paths = document["paths"].as_object().ok_or("no paths")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        let (item, file) = files.deref(item, &entry)?;
        for (name, method) in [
            ("get", Method::GET),
            ("post", Method::POST),
            ("delete", Method::DELETE),
            ("put", Method::PUT),
        ] {
            if let Some(spec) = item.get(name) {
                out.push(Operation {
                    method,
                    path: path.clone(),
                    file: file.clone(),
                    spec: spec.clone(),
                });
            }
        }
    }
    Ok(out)
}

/// A valid request body for an operation, and the path parameters filled in.
fn request(operation: &Operation) -> (String, Option<Value>) {
    let managed = pubkey(0).to_string();
    let path = operation.path.replace("{pubkey}", &managed);
    let body = match (operation.method.as_str(), operation.path.as_str()) {
        ("POST", "/eth/v1/keystores") => Some(json!({
            "keystores": [keystore_json(30, "pw")],
            "passwords": ["pw"],
        })),
        ("DELETE", "/eth/v1/keystores") => Some(json!({"pubkeys": [pubkey(33).to_string()]})),
        ("POST", "/eth/v1/remotekeys") => Some(json!({
            "remote_keys": [{"pubkey": pubkey(31).to_string(), "url": "http://127.0.0.1:9"}],
        })),
        ("DELETE", "/eth/v1/remotekeys") => Some(json!({"pubkeys": [pubkey(32).to_string()]})),
        ("POST", p) if p.ends_with("/feerecipient") => {
            Some(json!({"ethaddress": harness::VAULT.to_string()}))
        }
        ("POST", p) if p.ends_with("/gas_limit") => Some(json!({"gas_limit": "30000000"})),
        ("POST", p) if p.ends_with("/graffiti") => Some(json!({"graffiti": "pool"})),
        _ => None,
    };
    (path, body)
}

/// Checks one answer against the operation's responses.
fn check_answer(
    files: &Files,
    operation: &Operation,
    status: u16,
    body: &Value,
) -> Result<(), Problem> {
    let responses = operation.spec["responses"]
        .as_object()
        .ok_or("no responses")?;
    let response = responses
        .get(&status.to_string())
        .ok_or_else(|| format!("status {status} is not specified ({:?})", responses.keys()))?;
    let (response, file) = files.deref(response, &operation.file)?;
    match response.pointer("/content/application~1json/schema") {
        Some(schema) => files.validate(body, schema, &file, "body"),
        None if body.is_null() => Ok(()),
        None => Err(format!("status {status} has no body in the specification, got {body}").into()),
    }
}

struct Setup {
    api: Api,
    runtime: tokio::runtime::Handle,
}

fn run_operation(files: &Files, setup: &Setup, operation: &Operation) -> Result<(), Failed> {
    let (path, body) = request(operation);
    setup.runtime.block_on(async {
        let (status, answer) = setup
            .api
            .send(operation.method.clone(), &path, body.as_ref())
            .await;
        if !status.is_success() {
            return Err(Problem(format!("{status}: {answer}")));
        }
        check_answer(files, operation, status.as_u16(), &answer)?;
        let (status, answer) = setup
            .api
            .send_with(operation.method.clone(), &path, body.as_ref(), None)
            .await;
        check_answer(files, operation, status.as_u16(), &answer)
            .map_err(|e| format!("without a token: {e}"))?;
        if status != reqwest::StatusCode::UNAUTHORIZED {
            return Err(Problem(format!("without a token: {status}")));
        }
        Ok(())
    })?;
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    let Some(root) = test_vectors::vectors_subdir("apis/keymanager-APIs") else {
        let skipped =
            Trial::test("keymanager spec (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    // The client's logs would interleave with the trial lines: off unless RUST_LOG asks.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("off"));
    let _ = tracing_subscriber::fmt().with_env_filter(filter).try_init();
    let files = Arc::new(Files::default());
    let operations = match operations(&files, &root) {
        Ok(operations) => operations,
        Err(error) => panic!("cannot read the specification: {error}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, running) = runtime.block_on(async {
        let node = harness::mock(ForkName::Deneb).await;
        harness::write_keystores(dir.path(), 0, 2);
        let config = harness::config(dir.path(), &node, 0, false);
        let running = harness::start(&config).await;
        (node, running)
    });
    let setup = Arc::new(Setup {
        api: Api::new(running.addr, dir.path()),
        runtime: runtime.handle().clone(),
    });

    let mut trials = Vec::new();
    let specified: BTreeSet<String> = operations.iter().map(|o| o.path.clone()).collect();
    trials.push(Trial::test(
        "every specified path is served, and only those",
        move || {
            let served: BTreeSet<String> = validator::http::keymanager::ROUTES
                .iter()
                .map(|r| (*r).to_owned())
                .collect();
            if served == specified {
                Ok(())
            } else {
                Err(format!("specified {specified:?}, served {served:?}").into())
            }
        },
    ));
    for operation in operations {
        let files = files.clone();
        let setup = setup.clone();
        let name = format!("{} {}", operation.method, operation.path);
        trials.push(Trial::test(name, move || {
            run_operation(&files, &setup, &operation)
        }));
    }
    // The operations share one client: one at a time.
    args.test_threads = Some(1);
    let conclusion = libtest_mimic::run(&args, trials);
    runtime.block_on(async {
        running.stop().await;
    });
    drop(node);
    drop(dir);
    conclusion.exit();
}
