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

/// Hex that does not decode: its length and the cause.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct InvalidHex {
    /// Characters after any `0x`.
    pub(crate) len: usize,
    /// The decoder's error.
    pub(crate) cause: hex::FromHexError,
}

impl std::fmt::Display for InvalidHex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "invalid hex ({} characters): {}", self.len, self.cause)
    }
}

/// Decodes hex with an optional `0x` prefix.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, InvalidHex> {
    let digits = text.strip_prefix("0x").unwrap_or(text);
    hex::decode(digits).map_err(|cause| InvalidHex {
        len: digits.len(),
        cause,
    })
}
