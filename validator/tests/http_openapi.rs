//! The documentation matches the router: every path of `docs/openapi/pool-v1.yaml` (OpenAPI
//! 3.1) is routed and answers 200 on real data, every routed API path is documented (also in
//! `docs/api.md`), and every `$ref` in the spec resolves.

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
    }
}
