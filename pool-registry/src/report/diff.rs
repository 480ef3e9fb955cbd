//! Field-by-field comparison of two reports, for `poolvc report verify`: an auditor recomputes
//! a report from public data and lists every field that differs from the published one.
//! Operators are matched by id (`operators[id=7].tally.fee_gwei`), so a missing or extra
//! operator shows as one difference instead of shifting every later line.

use serde::Serialize;
use serde_json::Value;

use super::model::FrameReport;
use crate::error::{Error, Result};

/// One differing field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    /// The field path, e.g. `totals.cl_rewards_gwei` or `operators[id=3].cumulative_fee_wei`.
    pub path: String,
    /// The expected (recomputed) value as canonical JSON, or `absent`.
    pub expected: String,
    /// The actual (published) value as canonical JSON, or `absent`.
    pub actual: String,
}

/// Every field where `actual` differs from `expected`; empty when identical.
pub fn diff_reports(expected: &FrameReport, actual: &FrameReport) -> Result<Vec<FieldDiff>> {
    let to_value = |r: &FrameReport| {
        serde_json::to_value(r).map_err(|source| Error::Json {
            what: "report comparison".to_owned(),
            source,
        })
    };
    let mut out = Vec::new();
    diff_value("", &to_value(expected)?, &to_value(actual)?, &mut out);
    Ok(out)
}

fn show(v: Option<&Value>) -> String {
    v.map_or_else(
        || "absent".to_owned(),
        |v| crate::canonical::to_canonical_json(v).unwrap_or_else(|_| v.to_string()),
    )
}

fn join(prefix: &str, key: &str) -> String {
    if prefix.is_empty() {
        key.to_owned()
    } else {
        format!("{prefix}.{key}")
    }
}

fn operator_id(v: &Value) -> Option<String> {
    v.get("operator_id").map(|id| match id {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    })
}

fn diff_value(path: &str, expected: &Value, actual: &Value, out: &mut Vec<FieldDiff>) {
    match (expected, actual) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let p = join(path, k);
                match (a.get(k), b.get(k)) {
                    (Some(x), Some(y)) => diff_value(&p, x, y, out),
                    (x, y) => out.push(FieldDiff {
                        path: p,
                        expected: show(x),
                        actual: show(y),
                    }),
                }
            }
        }
        (Value::Array(a), Value::Array(b))
            if a.iter().chain(b).all(|v| operator_id(v).is_some())
                && !(a.is_empty() && b.is_empty()) =>
        {
            let mut ids: Vec<String> = a.iter().chain(b).filter_map(operator_id).collect();
            ids.sort_by(|x, y| x.len().cmp(&y.len()).then(x.cmp(y)));
            ids.dedup();
            for id in ids {
                let find = |list: &[Value]| {
                    list.iter()
                        .find(|v| operator_id(v).as_deref() == Some(id.as_str()))
                        .cloned()
                };
                let p = format!("{path}[id={id}]");
                match (find(a), find(b)) {
                    (Some(x), Some(y)) => diff_value(&p, &x, &y, out),
                    (x, y) => out.push(FieldDiff {
                        path: p,
                        expected: show(x.as_ref()),
                        actual: show(y.as_ref()),
                    }),
                }
            }
        }
        (Value::Array(a), Value::Array(b)) => {
            for i in 0..a.len().max(b.len()) {
                let p = format!("{path}[{i}]");
                match (a.get(i), b.get(i)) {
                    (Some(x), Some(y)) => diff_value(&p, x, y, out),
                    (x, y) => out.push(FieldDiff {
                        path: p,
                        expected: show(x),
                        actual: show(y),
                    }),
                }
            }
        }
        (x, y) => {
            if x != y {
                out.push(FieldDiff {
                    path: path.to_owned(),
                    expected: show(Some(x)),
                    actual: show(Some(y)),
                });
            }
        }
    }
}
