//! The signer against Web3Signer's eth2 API specification (`apis/web3signer-eth2` in the
//! vectors): the paths the specification defines are exactly those served; every operation,
//! called with generated valid input, answers a status the specification lists for it — never
//! a 5xx — with a body valid under that response's schema and a content type it lists. For the
//! sign operation: one trial per request (every type, every fork of the versioned ones), each
//! request first checked against the specification's request schema, answered as JSON and as
//! text; then the refusals (400, 404, 412) are produced and checked to be specified statuses.
//!
//! The schema check covers what the specification uses: `$ref` across files, `allOf`, `oneOf`
//! (exactly one option must match), `type`, `required`, `properties`, `items`, `enum`, the
//! `^0x[a-fA-F0-9]{N}$` pattern and the `uint64` and `date-time` formats; anything else fails
//! the trial rather than passing unchecked. Error statuses the specification gives no content
//! for may carry a `{"code", "message"}` body (a message naming what was wrong).
//!
//! The signer runs with a bearer token, as the keystores routes need one; every request
//! carries it, and the keystores routes are also called without it (401, specified).

#[expect(
    dead_code,
    reason = "the shared helpers are used in part by each test binary"
)]
mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use libtest_mimic::{Arguments, Failed, Trial};
use serde_json::{Value, json};
use types::spec_files::SpecFiles;

use common::{E, Options, TestSigner, pubkey};

/// Why a value does not match its schema, or an answer its specification.
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

impl From<&str> for Problem {
    fn from(message: &str) -> Self {
        Self(message.to_owned())
    }
}

impl From<types::spec_files::SpecError> for Problem {
    fn from(error: types::spec_files::SpecError) -> Self {
        Self(error.0)
    }
}

#[derive(Default)]
struct Schemas {
    files: SpecFiles,
}

impl Schemas {
    fn check(&self, value: &Value, schema: &Value, file: &Path, at: &str) -> Result<(), Problem> {
        let (schema, file) = self.files.deref(schema, file)?;
        if let Some(parts) = schema.get("allOf").and_then(Value::as_array) {
            for part in parts {
                self.check(value, part, &file, at)?;
            }
        }
        if let Some(options) = schema.get("oneOf").and_then(Value::as_array) {
            let results: Vec<Result<(), Problem>> = options
                .iter()
                .map(|o| self.check(value, o, &file, at))
                .collect();
            let matching = results.iter().filter(|r| r.is_ok()).count();
            if matching != 1 {
                let errors: Vec<String> = results
                    .into_iter()
                    .filter_map(|r| r.err().map(|e| e.0))
                    .collect();
                return Err(format!("{at}: {matching} oneOf options match: {errors:?}").into());
            }
        }
        if let Some(options) = schema.get("enum").and_then(Value::as_array)
            && !options.contains(value)
        {
            return Err(format!("{at}: {value} not in {options:?}").into());
        }
        let known = [
            "allOf",
            "oneOf",
            "enum",
            "type",
            "properties",
            "required",
            "items",
            "pattern",
            "format",
            "description",
            "example",
            "discriminator",
            "title",
        ];
        if let Some(object) = schema.as_object() {
            for key in object.keys() {
                if !known.contains(&key.as_str()) {
                    return Err(format!("{at}: unsupported schema keyword `{key}`").into());
                }
            }
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
                            self.check(field, property, &file, &format!("{at}.{name}"))?;
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
                    self.check(item, schema_items, &file, &format!("{at}[{i}]"))?;
                }
                Ok(())
            }
            Some("string") => {
                let text = value
                    .as_str()
                    .ok_or_else(|| format!("{at}: expected a string, got {value}"))?;
                if let Some(pattern) = schema.get("pattern").and_then(Value::as_str) {
                    check_pattern(text, pattern).map_err(|e| format!("{at}: {e}"))?;
                }
                match schema.get("format").and_then(Value::as_str) {
                    None => Ok(()),
                    Some("uint64") if text.parse::<u64>().is_ok() => Ok(()),
                    Some("date-time") if is_date_time(text) => Ok(()),
                    Some(format) => Err(format!("{at}: {text:?} is not a {format}").into()),
                }
            }
            Some("boolean") if value.is_boolean() => Ok(()),
            Some(other) => Err(format!("{at}: expected a {other}, got {value}").into()),
        }
    }
}

fn check_pattern(text: &str, pattern: &str) -> Result<(), String> {
    let count = pattern
        .strip_prefix("^0x[a-fA-F0-9]{")
        .and_then(|rest| rest.strip_suffix("}$"))
        .and_then(|n| n.parse::<usize>().ok())
        .ok_or_else(|| format!("unsupported pattern {pattern}"))?;
    let ok = text
        .strip_prefix("0x")
        .is_some_and(|d| d.len() == count && d.bytes().all(|b| b.is_ascii_hexdigit()));
    if ok {
        Ok(())
    } else {
        Err(format!("{text:?} does not match {pattern}"))
    }
}

/// `YYYY-MM-DDTHH:MM:SSZ` (the RFC 3339 form the signer writes).
fn is_date_time(text: &str) -> bool {
    let b = text.as_bytes();
    b.len() == 20
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            10 => *c == b'T',
            13 | 16 => *c == b':',
            19 => *c == b'Z',
            _ => c.is_ascii_digit(),
        })
}

/// One operation of the specification.
#[derive(Clone)]
struct Operation {
    method: Method,
    path: String,
    file: PathBuf,
    spec: Value,
}

fn operations(schemas: &Schemas, root: &Path) -> Result<Vec<Operation>, Problem> {
    let entry = root.join("web3signer.yaml");
    let document = schemas.files.load(&entry)?;
    let paths = document["paths"].as_object().ok_or("no paths")?;
    let mut out = Vec::new();
    for (path, item) in paths {
        let (item, file) = schemas.files.deref(item, &entry)?;
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

struct Setup {
    signer: TestSigner,
    token: String,
    runtime: tokio::runtime::Handle,
}

impl Setup {
    fn send(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        accept: Option<&str>,
        authorised: bool,
    ) -> (StatusCode, Option<String>, Value) {
        let mut request = Request::builder().method(method).uri(path);
        if authorised {
            request = request.header(header::AUTHORIZATION, format!("Bearer {}", self.token));
        }
        if let Some(accept) = accept {
            request = request.header(header::ACCEPT, accept);
        }
        let request = match body {
            Some(body) => request
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(body.to_string())),
            None => request.body(Body::empty()),
        }
        .expect("request");
        self.runtime.block_on(async {
            use tower::ServiceExt;
            let response = self.signer.router.clone().oneshot(request).await.unwrap();
            let status = response.status();
            let content_type = response
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned);
            let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
                .await
                .unwrap();
            let body = if content_type
                .as_deref()
                .is_some_and(|c| c.starts_with("application/json"))
            {
                serde_json::from_slice(&bytes).expect("JSON body")
            } else if bytes.is_empty() {
                Value::Null
            } else {
                Value::String(String::from_utf8_lossy(&bytes).into_owned())
            };
            (status, content_type, body)
        })
    }
}

/// Checks an answer against the operation's responses.
fn check_answer(
    schemas: &Schemas,
    operation: &Operation,
    status: StatusCode,
    content_type: Option<&str>,
    body: &Value,
) -> Result<(), Problem> {
    if status.is_server_error() {
        return Err(format!("a server error: {status} {body}").into());
    }
    let responses = operation.spec["responses"]
        .as_object()
        .ok_or("no responses")?;
    let response = responses.get(status.as_str()).ok_or_else(|| {
        format!(
            "status {status} is not specified ({:?}): {body}",
            responses.keys()
        )
    })?;
    let (response, file) = schemas.files.deref(response, &operation.file)?;
    let Some(content) = response.get("content").and_then(Value::as_object) else {
        // No content specified: only an error message may come.
        return if status.is_success() && !body.is_null() {
            Err(format!("status {status} has no content in the specification, got {body}").into())
        } else {
            Ok(())
        };
    };
    let content_type = content_type.ok_or("no content type")?;
    let (_, media) = content
        .iter()
        .find(|(name, _)| {
            let name = name.split(';').next().unwrap_or(name);
            content_type.split(';').next() == Some(name)
        })
        .ok_or_else(|| format!("content type {content_type} not in {:?}", content.keys()))?;
    match media.get("schema") {
        Some(schema) => schemas.check(body, schema, &file, "body"),
        None => Ok(()),
    }
}

fn sign_operation(operations: &[Operation]) -> Operation {
    operations
        .iter()
        .find(|o| o.method == Method::POST && o.path.contains("/sign/"))
        .cloned()
        .expect("the sign operation")
}

/// Signs `case` (validated against the request schema first), as JSON and as text.
fn sign_trial(
    schemas: &Schemas,
    setup: &Setup,
    operation: &Operation,
    case: &common::Case,
    key: u64,
) -> Result<(), Problem> {
    let schema = &operation.spec["requestBody"]["content"]["application/json"]["schema"];
    schemas
        .check(&case.body, schema, &operation.file, "request")
        .map_err(|e| format!("the generated request is not the specification's: {e}"))?;
    let path = format!("/api/v1/eth2/sign/{}", pubkey(key));
    for accept in [None, Some("application/json"), Some("text/plain")] {
        let (status, content_type, body) =
            setup.send(Method::POST, &path, Some(&case.body), accept, true);
        if status != StatusCode::OK {
            return Err(format!("{accept:?}: {status} {body}").into());
        }
        check_answer(schemas, operation, status, content_type.as_deref(), &body)
            .map_err(|e| format!("{accept:?}: {e}"))?;
        let signature = body
            .get("signature")
            .unwrap_or(&body)
            .as_str()
            .ok_or("no signature")?;
        if !common::verifies(&pubkey(key), case.root, signature) {
            return Err(format!("{accept:?}: the signature does not verify").into());
        }
    }
    Ok(())
}

/// The refusals of the sign operation: each must be a specified status.
fn sign_refusals(schemas: &Schemas, setup: &Setup, operation: &Operation) -> Result<(), Problem> {
    let cases = common::all_cases();
    let attestation = cases
        .iter()
        .find(|c| c.name.starts_with("ATTESTATION"))
        .ok_or("an attestation")?;
    let mut conflicting = attestation.body.clone();
    conflicting["attestation"]["beacon_block_root"] = json!(types::Hash256::repeat_byte(0xee));
    conflicting
        .as_object_mut()
        .ok_or("object")?
        .remove("signingRoot");
    let malformed = json!({"type": "ATTESTATION", "fork_info": common::fork_info(0)});
    let key = pubkey(3);
    let attempts = [
        (
            format!("/api/v1/eth2/sign/{key}"),
            attestation.body.clone(),
            200,
        ),
        (format!("/api/v1/eth2/sign/{key}"), conflicting, 412),
        (format!("/api/v1/eth2/sign/{key}"), malformed, 400),
        (
            format!("/api/v1/eth2/sign/{}", pubkey(40)),
            attestation.body.clone(),
            404,
        ),
        (
            "/api/v1/eth2/sign/0xnotakey".to_owned(),
            attestation.body.clone(),
            400,
        ),
    ];
    for (path, body, expected) in attempts {
        let (status, content_type, answer) =
            setup.send(Method::POST, &path, Some(&body), None, true);
        if status.as_u16() != expected {
            return Err(format!("{path}: expected {expected}, got {status} {answer}").into());
        }
        check_answer(schemas, operation, status, content_type.as_deref(), &answer)?;
    }
    Ok(())
}

/// A valid request for a non-signing operation.
fn request_of(operation: &Operation) -> Option<Value> {
    match (operation.method.as_str(), operation.path.as_str()) {
        ("POST", "/eth/v1/keystores") => Some(json!({
            "keystores": [json!({"pubkey": pubkey(0), "crypto": {}, "version": 4}).to_string()],
            "passwords": ["password"],
        })),
        ("DELETE", "/eth/v1/keystores") => Some(json!({"pubkeys": [pubkey(0), pubkey(41)]})),
        _ => None,
    }
}

fn run_operation(schemas: &Schemas, setup: &Setup, operation: &Operation) -> Result<(), Problem> {
    let body = request_of(operation);
    let (status, content_type, answer) = setup.send(
        operation.method.clone(),
        &operation.path,
        body.as_ref(),
        None,
        true,
    );
    if !status.is_success() {
        return Err(format!("{status}: {answer}").into());
    }
    check_answer(schemas, operation, status, content_type.as_deref(), &answer)?;
    if operation.path == "/eth/v1/keystores" {
        let (status, content_type, answer) = setup.send(
            operation.method.clone(),
            &operation.path,
            body.as_ref(),
            None,
            false,
        );
        if status != StatusCode::UNAUTHORIZED {
            return Err(format!("without a token: {status}").into());
        }
        check_answer(schemas, operation, status, content_type.as_deref(), &answer)
            .map_err(|e| format!("without a token: {e}"))?;
    }
    if operation.method == Method::POST && operation.path == "/reload" {
        // A second reload while the first may still run: 202 or 409, both specified.
        let (status, content_type, answer) = setup.send(Method::POST, "/reload", None, None, true);
        check_answer(schemas, operation, status, content_type.as_deref(), &answer)?;
    }
    Ok(())
}

fn main() {
    let mut args = Arguments::from_args();
    let Some(root) = types::test_vectors::vectors_subdir("apis/web3signer-eth2") else {
        let skipped =
            Trial::test("web3signer spec (vectors missing)", || Ok(())).with_ignored_flag(true);
        libtest_mimic::run(&args, vec![skipped]).exit();
    };
    let schemas = Arc::new(Schemas::default());
    let operations = match operations(&schemas, &root) {
        Ok(operations) => operations,
        Err(error) => panic!("cannot read the specification: {error}"),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let token_file = dir.path().join("token");
    let token = signer_server::BearerToken::load_or_create(&token_file).expect("token");
    // Keys from keystores, so that reloads have something to read.
    let keystores = dir.path().join("keystores");
    let secrets = dir.path().join("secrets");
    for index in 0..4 {
        common::write_keystore(&keystores, &secrets, index);
    }
    let signer = runtime.block_on(TestSigner::<E>::start(Options {
        token: Some(token),
        key_source: Some(signer_server::KeySource {
            keystores_dir: keystores,
            passwords: signer::loader::PasswordSource::PerKeyFiles(secrets),
            key_cache: None,
        }),
        ..Options::default()
    }));
    let setup = Arc::new(Setup {
        signer,
        token: std::fs::read_to_string(&token_file).expect("token file"),
        runtime: runtime.handle().clone(),
    });

    let mut trials = Vec::new();
    let specified: BTreeSet<String> = operations.iter().map(|o| o.path.clone()).collect();
    trials.push(Trial::test(
        "every specified path is served, and only those",
        move || {
            let served: BTreeSet<String> = signer_server::api::ROUTES
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
    let sign = sign_operation(&operations);
    for operation in operations
        .into_iter()
        .filter(|o| !o.path.contains("/sign/"))
    {
        let schemas = schemas.clone();
        let setup = setup.clone();
        let name = format!("{} {}", operation.method, operation.path);
        trials.push(Trial::test(name, move || {
            run_operation(&schemas, &setup, &operation).map_err(|e| Failed::from(e.0))
        }));
    }
    for case in common::all_cases() {
        let schemas = schemas.clone();
        let setup = setup.clone();
        let sign = sign.clone();
        trials.push(Trial::test(
            format!("POST sign: {}", case.name),
            move || {
                // Key 1 signs them all: blocks and attestations of rising slots and epochs.
                sign_trial(&schemas, &setup, &sign, &case, 1).map_err(|e| Failed::from(e.0))
            },
        ));
    }
    {
        let schemas = schemas.clone();
        let setup = setup.clone();
        trials.push(Trial::test("POST sign: refusals", move || {
            sign_refusals(&schemas, &setup, &sign).map_err(|e| Failed::from(e.0))
        }));
    }
    // One signer, requests of one key in rising order: one trial at a time.
    args.test_threads = Some(1);
    let conclusion = libtest_mimic::run(&args, trials);
    drop(setup);
    drop(dir);
    conclusion.exit();
}
