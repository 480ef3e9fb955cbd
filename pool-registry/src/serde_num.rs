//! 128-bit integers as decimal strings in JSON (serde_json cannot read back bare 128-bit
//! numbers, and the canonical form quotes every integer anyway).

use serde::{Deserialize, Deserializer, Serializer};

/// `u128` as `"123"`.
pub(crate) mod u128_dec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("invalid u128 {text:?}: {e}")))
    }
}

/// `i128` as `"-123"`.
pub(crate) mod i128_dec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &i128, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(v)
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i128, D::Error> {
        let text = String::deserialize(d)?;
        text.parse()
            .map_err(|e| serde::de::Error::custom(format!("invalid i128 {text:?}: {e}")))
    }
}

/// `Option<u128>` as `"123"` or `null`.
pub(crate) mod opt_u128_dec {
    use super::*;

    pub(crate) fn serialize<S: Serializer>(v: &Option<u128>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u128>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                text.parse()
                    .map_err(|e| serde::de::Error::custom(format!("invalid u128 {text:?}: {e}")))
            })
            .transpose()
    }
}
