//! Serde helpers for the Beacon API's JSON conventions: integers as quoted decimal strings,
//! bytes as `0x`-prefixed lowercase hex. Decoders accept both quoted and bare integers because
//! some beacon nodes emit bare numbers in a few places; encoders always quote.

/// `u64` as a quoted decimal string (`"123"`).
pub mod quoted_u64 {
    use serde::de::{self, Visitor};
    use serde::{Deserializer, Serializer};
    use std::fmt;

    /// Serialises as `"123"`.
    pub fn serialize<S: Serializer>(value: &u64, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(value)
    }

    /// Accepts `"123"` or `123`; anything else is an error naming the bad text.
    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
        struct QuotedVisitor;
        impl Visitor<'_> for QuotedVisitor {
            type Value = u64;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a u64 as a decimal string or number")
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<u64, E> {
                Ok(v)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<u64, E> {
                u64::try_from(v).map_err(|_| {
                    E::custom(format!("negative integer {v} where a u64 was expected"))
                })
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<u64, E> {
                v.parse::<u64>()
                    .map_err(|e| E::custom(format!("invalid u64 string {v:?}: {e}")))
            }
        }
        deserializer.deserialize_any(QuotedVisitor)
    }
}
