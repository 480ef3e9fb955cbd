//! Serde adapters for the Beacon API's quoted numbers that `crate::serde_utils` does not cover:
//! lists of quoted `u64`, lists of lists, quoted decimal `uint256` (wei amounts) and the plain
//! JSON numbers of error bodies (which some nodes quote).

use serde::de::{self, Deserializer, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::primitives::U256;

/// A `u64` that serialises as a quoted decimal string and accepts bare numbers too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Quoted(u64);

impl Serialize for Quoted {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        crate::serde_utils::quoted_u64::serialize(&self.0, serializer)
    }
}

impl<'de> Deserialize<'de> for Quoted {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        crate::serde_utils::quoted_u64::deserialize(deserializer).map(Quoted)
    }
}

/// `Vec<u64>` as a list of quoted decimal strings (`["1", "2"]`).
pub mod quoted_u64_vec {
    use super::*;

    /// Serialises as `["1", "2"]`.
    pub fn serialize<S: Serializer>(values: &[u64], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for value in values {
            seq.serialize_element(&Quoted(*value))?;
        }
        seq.end()
    }

    /// Accepts quoted or bare integers.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u64>, D::Error> {
        let quoted: Vec<Quoted> = Vec::deserialize(deserializer)?;
        Ok(quoted.into_iter().map(|q| q.0).collect())
    }
}

/// `Vec<Vec<u64>>` as nested lists of quoted decimal strings.
pub mod quoted_u64_vec_vec {
    use super::*;

    /// Serialises as `[["1"], ["2", "3"]]`.
    pub fn serialize<S: Serializer>(values: &[Vec<u64>], serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(values.len()))?;
        for inner in values {
            let quoted: Vec<Quoted> = inner.iter().copied().map(Quoted).collect();
            seq.serialize_element(&quoted)?;
        }
        seq.end()
    }

    /// Accepts quoted or bare integers.
    pub fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Vec<Vec<u64>>, D::Error> {
        let quoted: Vec<Vec<Quoted>> = Vec::deserialize(deserializer)?;
        Ok(quoted
            .into_iter()
            .map(|inner| inner.into_iter().map(|q| q.0).collect())
            .collect())
    }
}

/// A `uint256` (wei) as a quoted decimal string (`"12345"`), as the Beacon API encodes block
/// values. Bare JSON integers are accepted.
pub mod quoted_u256 {
    use std::fmt;

    use super::*;

    /// Serialises as a quoted decimal string.
    pub fn serialize<S: Serializer>(value: &U256, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Accepts a decimal string or a JSON integer; anything else names the bad text.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<U256, D::Error> {
        struct U256Visitor;
        impl Visitor<'_> for U256Visitor {
            type Value = U256;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a uint256 as a decimal string")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<U256, E> {
                Ok(U256::from(v))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<U256, E> {
                if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(E::custom(format!("invalid decimal uint256 {v:?}")));
                }
                U256::from_str_radix(v, 10)
                    .map_err(|e| E::custom(format!("invalid decimal uint256 {v:?}: {e}")))
            }
        }
        deserializer.deserialize_any(U256Visitor)
    }
}

/// A small integer (HTTP status code, list position) that the spec types as a JSON number;
/// quoted forms are accepted because some nodes send them.
pub mod number_or_string_u64 {
    use super::*;

    /// Serialises as a bare JSON number.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_u64(*value)
    }

    /// Accepts a number or a decimal string.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        crate::serde_utils::quoted_u64::deserialize(deserializer)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct Lists {
        #[serde(with = "quoted_u64_vec")]
        flat: Vec<u64>,
        #[serde(with = "quoted_u64_vec_vec")]
        nested: Vec<Vec<u64>>,
        #[serde(with = "quoted_u256")]
        wei: U256,
        #[serde(with = "number_or_string_u64")]
        code: u64,
    }

    #[test]
    fn quoted_lists_round_trip_and_accept_bare_numbers() {
        let value = json!({"flat": ["1", 2], "nested": [["3"], [], [4, "5"]], "wei": "340282366920938463463374607431768211456", "code": "400"});
        let decoded: Lists = serde_json::from_value(value).unwrap();
        assert_eq!(decoded.flat, vec![1, 2]);
        assert_eq!(decoded.nested, vec![vec![3], vec![], vec![4, 5]]);
        assert_eq!(decoded.wei, U256::from(1u8) << 128);
        assert_eq!(decoded.code, 400);
        assert_eq!(
            serde_json::to_value(&decoded).unwrap(),
            json!({"flat": ["1", "2"], "nested": [["3"], [], ["4", "5"]], "wei": "340282366920938463463374607431768211456", "code": 400})
        );
    }

    #[test]
    fn bad_values_are_named() {
        for (field, bad) in [
            ("wei", json!("0x10")),
            ("wei", json!("-1")),
            ("flat", json!(["x"])),
        ] {
            let mut value = json!({"flat": [], "nested": [], "wei": "1", "code": 1});
            value[field] = bad.clone();
            let err = serde_json::from_value::<Lists>(value)
                .unwrap_err()
                .to_string();
            let shown = bad.to_string();
            let needle = shown.trim_matches(|c| c == '[' || c == ']');
            assert!(err.contains(needle.trim_matches('"')), "{err}");
        }
    }
}
