//! Request decoding: JSON bodies and path parameters, every failure a 400 (or 413) whose message
//! names what was wrong (axum's own rejections answer plain text without the field).

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use types::PublicKeyBytes;
use zeroize::{Zeroize, Zeroizing};

use crate::http::ApiError;

/// A JSON request body decoded into `T`.
#[derive(Debug)]
pub(super) struct JsonBody<T>(pub(super) T);

fn too_large(limit: usize) -> ApiError {
    ApiError {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("request body larger than the limit of {limit} bytes"),
    }
}

/// The body limit in force (set by the router's `DefaultBodyLimit`), carried as an extension so
/// the 413 message can name it.
#[derive(Debug, Clone, Copy)]
pub(super) struct BodyLimit(pub(super) usize);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let limit = request
            .extensions()
            .get::<BodyLimit>()
            .map_or(usize::MAX, |l| l.0);
        let declared = request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        if declared.is_some_and(|n| n > limit as u64) {
            return Err(too_large(limit));
        }
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    too_large(limit)
                } else {
                    ApiError {
                        status: rejection.status(),
                        message: format!("cannot read the request body: {}", rejection.body_text()),
                    }
                }
            })?;
        let value = decode(&bytes);
        // The body may hold keystore passwords: wipe it when this is the only reference.
        if let Ok(mut owned) = bytes.try_into_mut() {
            owned.zeroize();
        }
        value.map(Self)
    }
}

/// Decodes a JSON body; the error names the field (`keystores[2]`) and the problem.
pub(super) fn decode<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.is_empty() {
        return Err(bad_body(
            "the request body is empty; a JSON object is required",
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path.is_empty() {
            bad_body(format!("invalid request body: {inner}"))
        } else {
            bad_body(format!("invalid request body at `{path}`: {inner}"))
        }
    })?;
    deserializer
        .end()
        .map_err(|e| bad_body(format!("invalid request body: {e}")))?;
    Ok(value)
}

/// 500: logged in full (never with secrets), answered with what failed.
pub(super) fn internal(what: &str) -> ApiError {
    tracing::error!(what, "Keymanager API: internal error");
    ApiError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("internal error: {what}"),
    }
}

/// 400 for a body that is not what the endpoint takes.
pub(super) fn bad_body(message: impl Into<String>) -> ApiError {
    ApiError {
        status: StatusCode::BAD_REQUEST,
        message: message.into(),
    }
}

/// A validator public key: `0x` and 96 hex digits (either case).
pub(super) fn parse_pubkey(name: &str, text: &str) -> Result<PublicKeyBytes, ApiError> {
    let shown: String = text.chars().take(110).collect();
    let digits = text.strip_prefix("0x").ok_or_else(|| {
        ApiError::bad_param(
            name,
            format!("expected 0x and 96 hex digits, got {shown:?}"),
        )
    })?;
    if digits.len() != 96 || !digits.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::bad_param(
            name,
            format!("expected 0x and 96 hex digits, got {shown:?}"),
        ));
    }
    let mut bytes = [0u8; 48];
    hex::decode_to_slice(digits, &mut bytes).map_err(|e| ApiError::bad_param(name, e))?;
    Ok(PublicKeyBytes::from(bytes))
}

/// A string that is wiped from memory when dropped (passwords).
pub(super) struct SecretString(pub(super) Zeroizing<String>);

impl std::fmt::Debug for SecretString {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretString(..)")
    }
}

impl<'de> Deserialize<'de> for SecretString {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(|s| Self(Zeroizing::new(s)))
    }
}

/// An unsigned 64-bit integer given as a decimal string (as the API types it) or a number.
pub(super) fn quoted_u64<'de, D: Deserializer<'de>>(deserializer: D) -> Result<u64, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Text(String),
        Number(u64),
    }
    match Either::deserialize(deserializer)? {
        Either::Number(n) => Ok(n),
        Either::Text(text) => {
            let canonical = !text.is_empty()
                && text.len() <= 20
                && text.bytes().all(|b| b.is_ascii_digit())
                && (text == "0" || !text.starts_with('0'));
            if !canonical {
                return Err(serde::de::Error::custom(format!(
                    "expected an unsigned decimal integer, got {text:?}"
                )));
            }
            text.parse()
                .map_err(|_| serde::de::Error::custom(format!("{text:?} does not fit in 64 bits")))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Deserialize)]
    struct Sample {
        #[serde(deserialize_with = "quoted_u64")]
        gas_limit: u64,
        list: Vec<String>,
    }

    #[test]
    fn errors_name_the_field() {
        let err = decode::<Sample>(br#"{"gas_limit":"1","list":["a",2]}"#).unwrap_err();
        assert_eq!(err.status, StatusCode::BAD_REQUEST);
        assert!(err.message.contains("`list[1]`"), "{}", err.message);
        let err = decode::<Sample>(br#"{"gas_limit":"01","list":[]}"#).unwrap_err();
        assert!(err.message.contains("gas_limit"), "{}", err.message);
        let err = decode::<Sample>(br#"{"list":[]}"#).unwrap_err();
        assert!(err.message.contains("gas_limit"), "{}", err.message);
        let err = decode::<Sample>(b"").unwrap_err();
        assert!(err.message.contains("empty"), "{}", err.message);
        let err = decode::<Sample>(br#"{"gas_limit":1,"list":[]} x"#).unwrap_err();
        assert!(err.message.contains("trailing"), "{}", err.message);
        let sample = decode::<Sample>(br#"{"gas_limit":30000000,"list":["x"]}"#).unwrap();
        assert_eq!((sample.gas_limit, sample.list.len()), (30_000_000, 1));
    }

    #[test]
    fn pubkeys_are_strict() {
        let good = format!("0x{}", "aB".repeat(48));
        assert_eq!(
            parse_pubkey("pubkey", &good).unwrap(),
            PublicKeyBytes::from([0xab; 48])
        );
        for bad in [
            "",
            "0x",
            &"ab".repeat(48),
            &format!("0x{}", "ab".repeat(47)),
        ] {
            let err = parse_pubkey("pubkey", bad).unwrap_err();
            assert!(err.message.contains("`pubkey`"), "{}", err.message);
        }
    }
}
