//! Serde for byte strings as lowercase hex without a prefix (the EIP-2335 convention); a
//! leading `0x` is tolerated on input.

use serde::{Deserialize, Deserializer, Serializer};

/// Serialises bytes as lowercase hex.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&hex::encode(bytes))
}

/// Parses hex, with or without `0x`; the error names the offending text's length and cause.
pub(crate) fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(deserializer)?;
    decode(&text).map_err(serde::de::Error::custom)
}

/// Decodes hex with an optional `0x` prefix.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|e| format!("invalid hex ({} characters): {e}", digits.len()))
}
