//! Canonical JSON: the byte-exact text form of reports and snapshots.
//!
//! Rules (normative, see `docs/accounting.md`): object keys sorted by their UTF-8 bytes; no
//! whitespace; every integer written as a decimal string (`"123"`, `"-5"`); byte strings as
//! `0x`-prefixed lowercase hex (as the types serialise them); `true`, `false`, `null` as
//! usual; strings escaped as by RFC 8259 with the shortest escapes. Floats never occur; one
//! would be an error.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};

/// The canonical JSON text of `value`.
pub fn to_canonical_json<T: Serialize + ?Sized>(value: &T) -> Result<String> {
    let value = serde_json::to_value(value).map_err(|source| Error::Json {
        what: "canonical encoding".to_owned(),
        source,
    })?;
    let mut out = String::new();
    write_value(&value, &mut out)?;
    Ok(out)
}

fn write_value(value: &Value, out: &mut String) -> Result<()> {
    match value {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => {
            if n.is_f64() {
                return Err(Error::Corrupt(format!(
                    "canonical JSON cannot hold the float {n}"
                )));
            }
            out.push('"');
            out.push_str(&n.to_string());
            out.push('"');
        }
        Value::String(s) => write_string(s, out),
        Value::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_value(item, out)?;
            }
            out.push(']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
            out.push('{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_string(key, out);
                out.push(':');
                write_value(item, out)?;
            }
            out.push('}');
        }
    }
    Ok(())
}

fn write_string(s: &str, out: &mut String) {
    // serde_json's string escaping is RFC 8259 with the shortest escapes.
    out.push_str(&Value::String(s.to_owned()).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sorts_keys_quotes_integers_no_whitespace() {
        let v = json!({"b": 1, "a": {"d": [true, null, -5], "c": "0xab"}, "A": "x\"y"});
        assert_eq!(
            to_canonical_json(&v).unwrap(),
            r#"{"A":"x\"y","a":{"c":"0xab","d":[true,null,"-5"]},"b":"1"}"#
        );
    }

    #[test]
    fn rejects_floats() {
        assert!(to_canonical_json(&json!({"x": 1.5})).is_err());
    }

    #[test]
    fn quoted_and_bare_integers_encode_alike() {
        assert_eq!(
            to_canonical_json(&json!([7u64])).unwrap(),
            to_canonical_json(&json!(["7"])).unwrap()
        );
    }
}
