//! The documentation matches the router: every path of `docs/openapi/pool-v1.yaml` (OpenAPI
//! 3.1) is routed and answers 200 on real data with a body valid under the documented schema,
//! every routed API path is documented (also in `docs/api.md`), and every `$ref` in the spec
//! resolves.

mod common_http;

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common_http::fixture;
use serde_yaml::Value;
use tower::ServiceExt;
use validator::http::reports::{ROUTES, router};

fn docs(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../docs")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn spec() -> Value {
    serde_yaml::from_str(&docs("openapi/pool-v1.yaml")).expect("the OpenAPI file parses")
}

fn documented_paths(spec: &Value) -> BTreeSet<String> {
    spec["paths"]
        .as_mapping()
        .expect("paths")
        .keys()
        .map(|k| k.as_str().expect("path").to_owned())
        .collect()
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Mapping(map) => {
            for (k, v) in map {
                if k.as_str() == Some("$ref") {
                    out.push(v.as_str().expect("$ref is a string").to_owned());
                } else {
                    collect_refs(v, out);
                }
            }
        }
        Value::Sequence(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[test]
fn spec_is_openapi_3_1_and_refs_resolve() {
    let spec = spec();
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"));
    let mut refs = Vec::new();
    collect_refs(&spec, &mut refs);
    assert!(!refs.is_empty());
    for r in refs {
        let mut node = &spec;
        for part in r.strip_prefix("#/").expect("local ref").split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "unresolved $ref {r}");
    }
}

#[test]
fn documented_paths_are_exactly_the_routed_ones() {
    let documented = documented_paths(&spec());
    let routed: BTreeSet<String> = ROUTES.iter().map(|s| (*s).to_owned()).collect();
    assert_eq!(documented, routed);
    let guide = docs("api.md");
    for path in &routed {
        assert!(
            guide.contains(path.as_str()),
            "docs/api.md does not mention {path}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_documented_path_answers_on_real_data() {
    let f = fixture().await;
    let app = router(f.state.clone());
    let root = f.reports[0].root.to_string();
    let spec = spec();
    for path in documented_paths(&spec) {
        let operations = spec["paths"][path.as_str()].as_mapping().unwrap();
        assert_eq!(operations.len(), 1, "{path}: only GET is served");
        assert!(!spec["paths"][path.as_str()]["get"]["responses"]["200"].is_null());
        let mut uri = path
            .replace("{frame}", "0")
            .replace("{operator_id}", "1")
            .replace("{validator_index}", "0")
            .replace("{root}", &root);
        // Required query parameters get a value (slots and epochs: 0..100 is a valid range).
        let required: Vec<String> = spec["paths"][path.as_str()]["get"]["parameters"]
            .as_sequence()
            .into_iter()
            .flatten()
            .filter(|p| p["in"] == "query" && p["required"] == true)
            .map(|p| {
                let name = p["name"].as_str().expect("parameter name");
                let value = if name.starts_with("to_") { "100" } else { "0" };
                format!("{name}={value}")
            })
            .collect();
        if !required.is_empty() {
            uri = format!("{uri}?{}", required.join("&"));
        }
        let response = app
            .clone()
            .oneshot(Request::get(&uri).body(Body::empty()).unwrap())
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{uri}");
        let body = axum::body::to_bytes(response.into_body(), usize::MAX)
            .await
            .unwrap();
        let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
        let document: serde_json::Value = serde_json::to_value(&spec).unwrap();
        let ok = deref(
            &document,
            &document["paths"][path.as_str()]["get"]["responses"]["200"],
        );
        let schema = &ok["content"]["application/json"]["schema"];
        assert!(!schema.is_null(), "{path}: no documented schema");
        if let Err(problem) = validate(&document, schema, &body, "body") {
            panic!("{uri}: {problem}");
        }
    }
}

/// `node` with its `$ref`s followed.
fn deref<'a>(
    document: &'a serde_json::Value,
    node: &'a serde_json::Value,
) -> &'a serde_json::Value {
    let mut node = node;
    while let Some(reference) = node.get("$ref").and_then(serde_json::Value::as_str) {
        let mut target = document;
        for part in reference.strip_prefix("#/").expect("local ref").split('/') {
            target = &target[part];
        }
        node = target;
    }
    node
}

/// The patterns the document uses; any other is a problem, never a pass.
fn check_pattern(text: &str, pattern: &str) -> Result<(), String> {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    let hex = |t: &str| {
        t.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    };
    let ok = match pattern {
        "^[0-9]+$" => digits(text),
        "^-?[0-9]+$" => digits(text.strip_prefix('-').unwrap_or(text)),
        "^0x[0-9a-f]*$" => text.strip_prefix("0x").is_some_and(hex),
        _ => {
            let count = pattern
                .strip_prefix("^0x[0-9a-f]{")
                .and_then(|rest| rest.strip_suffix("}$"))
                .and_then(|n| n.parse::<usize>().ok())
                .ok_or_else(|| format!("unsupported pattern {pattern}"))?;
            text.strip_prefix("0x")
                .is_some_and(|d| d.len() == count && hex(d))
        }
    };
    if ok {
        Ok(())
    } else {
        Err(format!("{text:?} does not match {pattern}"))
    }
}

fn type_matches(name: &str, value: &serde_json::Value) -> bool {
    match name {
        "null" => value.is_null(),
        "boolean" => value.is_boolean(),
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

/// Checks `value` against `schema` (the JSON Schema subset the document uses); the error names
/// the JSON path.
fn validate(
    document: &serde_json::Value,
    schema: &serde_json::Value,
    value: &serde_json::Value,
    at: &str,
) -> Result<(), String> {
    use serde_json::Value as J;
    let schema = deref(document, schema);
    for part in schema["allOf"].as_array().into_iter().flatten() {
        validate(document, part, value, at)?;
    }
    if let Some(options) = schema["oneOf"].as_array() {
        let results: Vec<Result<(), String>> = options
            .iter()
            .map(|o| validate(document, o, value, at))
            .collect();
        let matching = results.iter().filter(|r| r.is_ok()).count();
        if matching != 1 {
            return Err(format!(
                "{at}: matches {matching} oneOf options (exactly one expected): {results:?}"
            ));
        }
    }
    if let Some(options) = schema["enum"].as_array()
        && !options.contains(value)
    {
        return Err(format!("{at}: {value} not in {options:?}"));
    }
    let types: Vec<&str> = match &schema["type"] {
        J::String(t) => vec![t.as_str()],
        J::Array(ts) => ts.iter().filter_map(J::as_str).collect(),
        _ => Vec::new(),
    };
    if !types.is_empty() && !types.iter().any(|t| type_matches(t, value)) {
        return Err(format!("{at}: expected {types:?}, got {value}"));
    }
    match value {
        J::Object(object) => {
            for name in schema["required"].as_array().into_iter().flatten() {
                let name = name.as_str().expect("required names");
                if !object.contains_key(name) {
                    return Err(format!("{at}: required `{name}` missing"));
                }
            }
            let properties = schema["properties"].as_object();
            for (name, field) in object {
                let path = format!("{at}.{name}");
                match properties.and_then(|p| p.get(name)) {
                    Some(property) => validate(document, property, field, &path)?,
                    None => match &schema["additionalProperties"] {
                        J::Bool(false) => return Err(format!("{path}: not documented")),
                        J::Object(_) => {
                            validate(document, &schema["additionalProperties"], field, &path)?
                        }
                        _ => {}
                    },
                }
            }
            Ok(())
        }
        J::Array(items) => {
            if !schema["items"].is_null() {
                for (i, item) in items.iter().enumerate() {
                    validate(document, &schema["items"], item, &format!("{at}[{i}]"))?;
                }
            }
            Ok(())
        }
        J::String(text) => match schema["pattern"].as_str() {
            Some(pattern) => check_pattern(text, pattern).map_err(|e| format!("{at}: {e}")),
            None => Ok(()),
        },
        _ => Ok(()),
    }
}

/// The validator above is not lenient: documented shapes that the data breaks are caught.
#[test]
fn the_schema_check_catches_wrong_bodies() {
    let document: serde_json::Value = serde_json::to_value(spec()).unwrap();
    let schema = serde_json::json!({"$ref": "#/components/schemas/FrameParameters"});
    let good = serde_json::json!({
        "frame": "1", "first_epoch": "4", "last_epoch": "7", "frame_start_epoch": "0",
        "frame_epochs": "4", "withdrawal_credentials": format!("0x01{}", "00".repeat(31)),
        "pool_address": format!("0x{}", "00".repeat(20)),
        "el_rewards_vault": format!("0x{}", "bb".repeat(20)),
    });
    validate(&document, &schema, &good, "body").unwrap();
    for (field, bad) in [
        ("frame", serde_json::json!(1)),
        ("pool_address", serde_json::json!("0xAB")),
        ("extra", serde_json::json!("1")),
    ] {
        let mut body = good.clone();
        body[field] = bad;
        assert!(
            validate(&document, &schema, &body, "body").is_err(),
            "{field}"
        );
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("el_rewards_vault");
    assert!(validate(&document, &schema, &missing, "body").is_err());
    let nullable =
        serde_json::json!({"oneOf": [{"$ref": "#/components/schemas/Uint"}, {"type": "null"}]});
    validate(&document, &nullable, &serde_json::Value::Null, "x").unwrap();
    validate(&document, &nullable, &serde_json::json!("7"), "x").unwrap();
    assert!(validate(&document, &nullable, &serde_json::json!("-7"), "x").is_err());
}
