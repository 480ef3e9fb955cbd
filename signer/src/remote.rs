//! A Web3Signer-compatible remote signer: `POST {url}/api/v1/eth2/sign/{pubkey}` with the typed
//! request body (`type`, `fork_info`, `signingRoot` and the message object), and
//! `GET {url}/api/v1/eth2/publicKeys`.
//!
//! Invariants: every request has a timeout and waits for one of a bounded number of slots per
//! remote; an answer is a signature only if it is HTTP 200 with a well-formed signature (the
//! caller then verifies it against the key and the root before using it — see
//! [`crate::CompositeSigner`]); any other outcome is an error naming the remote and what
//! happened, never a signature. URLs carrying credentials are refused (they would end up in
//! plain-text configuration and logs).

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Map, Value, json};
use tokio::sync::Semaphore;
use types::{Hash256, PublicKeyBytes, SignatureBytes};

use crate::signing::{BlockMessage, ForkInfo, Signable, SignableMessage};
use crate::{Error, Result};

/// Timeouts and concurrency of remote signing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RemoteSignerConfig {
    /// Time a request may take, connection included.
    pub timeout: Duration,
    /// Requests in flight at most, per remote signer.
    pub max_concurrent: usize,
}

impl Default for RemoteSignerConfig {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(5),
            max_concurrent: 32,
        }
    }
}

/// Answers longer than this are refused (a signature answer is ~200 bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;
/// At most this much of an error answer is quoted in the error.
const QUOTED_ERROR_BYTES: usize = 200;

/// One remote signer.
#[derive(Debug)]
pub struct RemoteSigner {
    base: String,
    client: reqwest::Client,
    slots: Arc<Semaphore>,
}

/// Checks a remote signer URL: `http` or `https`, a host, no credentials, no query.
pub fn check_url(url: &str) -> Result<url::Url> {
    let invalid = |reason: &str| Error::InvalidRemoteUrl {
        url: url.chars().take(200).collect(),
        reason: reason.to_owned(),
    };
    let parsed = url::Url::parse(url).map_err(|e| invalid(&e.to_string()))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(invalid("the scheme must be http or https"));
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err(invalid("no host"));
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(Error::InvalidRemoteUrl {
            url: format!(
                "{}://…@{}",
                parsed.scheme(),
                parsed.host_str().unwrap_or("")
            ),
            reason: "credentials in the URL are not supported".to_owned(),
        });
    }
    if parsed.query().is_some() || parsed.fragment().is_some() {
        return Err(invalid("a query or fragment is not allowed"));
    }
    Ok(parsed)
}

impl RemoteSigner {
    /// A client of the remote signer at `url` (see [`check_url`]).
    pub fn new(url: &str, config: RemoteSignerConfig) -> Result<Self> {
        let parsed = check_url(url)?;
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .build()
            .map_err(|e| Error::Remote {
                url: url.to_owned(),
                reason: format!("cannot build the HTTP client: {e}"),
            })?;
        Ok(Self {
            base: parsed.as_str().trim_end_matches('/').to_owned(),
            client,
            slots: Arc::new(Semaphore::new(config.max_concurrent.max(1))),
        })
    }

    /// The base URL (without a trailing slash).
    pub fn url(&self) -> &str {
        &self.base
    }

    fn error(&self, reason: impl Into<String>) -> Error {
        Error::Remote {
            url: self.base.clone(),
            reason: reason.into(),
        }
    }

    /// Sends `request` (waiting for a slot) and returns the body of a 200 answer.
    async fn call(&self, request: reqwest::RequestBuilder) -> Result<Vec<u8>> {
        let _slot = self
            .slots
            .acquire()
            .await
            .map_err(|_| self.error("closed"))?;
        let response = request.send().await.map_err(|e| {
            let what = if e.is_timeout() {
                "timed out"
            } else if e.is_connect() {
                "cannot connect"
            } else {
                "request failed"
            };
            self.error(format!("{what}: {e}"))
        })?;
        let status = response.status();
        let mut body = Vec::new();
        let mut response = response;
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| self.error(format!("reading the answer failed: {e}")))?
        {
            body.extend_from_slice(&chunk);
            if body.len() > MAX_ANSWER_BYTES {
                return Err(self.error(format!(
                    "answer larger than {MAX_ANSWER_BYTES} bytes (HTTP {status})"
                )));
            }
        }
        if status != reqwest::StatusCode::OK {
            let quoted: String = String::from_utf8_lossy(&body)
                .chars()
                .take(QUOTED_ERROR_BYTES)
                .collect();
            return Err(self.error(format!("HTTP {status}: {quoted}")));
        }
        Ok(body)
    }

    /// `GET /api/v1/eth2/publicKeys`: the keys the remote holds.
    pub async fn public_keys(&self) -> Result<Vec<PublicKeyBytes>> {
        let body = self
            .call(
                self.client
                    .get(format!("{}/api/v1/eth2/publicKeys", self.base))
                    .header("accept", "application/json"),
            )
            .await?;
        let keys: Vec<String> = serde_json::from_slice(&body)
            .map_err(|e| self.error(format!("malformed public key list: {e}")))?;
        keys.iter()
            .map(|key| {
                key.parse::<PublicKeyBytes>()
                    .map_err(|_| self.error(format!("malformed public key {key:?}")))
            })
            .collect()
    }

    /// Asks for `pubkey`'s signature over `body` (from [`request_body`]); returns it decoded
    /// but **not verified**.
    pub async fn request_signature(
        &self,
        pubkey: &PublicKeyBytes,
        body: bytes::Bytes,
    ) -> Result<SignatureBytes> {
        let answer = self
            .call(
                self.client
                    .post(format!("{}/api/v1/eth2/sign/{pubkey}", self.base))
                    .header("content-type", "application/json")
                    .header("accept", "application/json")
                    .body(body),
            )
            .await?;
        parse_signature(&answer).map_err(|reason| self.error(reason))
    }
}

/// Why a remote signer's answer is not a signature.
#[derive(Debug, Clone, PartialEq, Eq)]
struct BadAnswer(String);

impl From<BadAnswer> for String {
    fn from(bad: BadAnswer) -> Self {
        bad.0
    }
}

/// A signature answer: `{"signature": "0x…"}`, a JSON string, or the bare hex text.
fn parse_signature(answer: &[u8]) -> std::result::Result<SignatureBytes, BadAnswer> {
    let text = match serde_json::from_slice::<Value>(answer) {
        Ok(Value::Object(object)) => match object.get("signature") {
            Some(Value::String(text)) => text.clone(),
            _ => return Err(BadAnswer("the answer has no `signature` string".to_owned())),
        },
        Ok(Value::String(text)) => text,
        _ => String::from_utf8_lossy(answer).trim().to_owned(),
    };
    let digits = text
        .strip_prefix("0x")
        .ok_or_else(|| BadAnswer(format!("the signature {:?} lacks 0x", shorten(&text))))?;
    let mut bytes = [0u8; 96];
    hex::decode_to_slice(digits, &mut bytes).map_err(|e| {
        BadAnswer(format!(
            "the signature {:?} is not 96 bytes of hex: {e}",
            shorten(&text)
        ))
    })?;
    Ok(SignatureBytes::from(bytes))
}

fn shorten(text: &str) -> String {
    text.chars().take(40).collect()
}

fn fork_info_json(info: &ForkInfo) -> Value {
    json!({
        "fork": info.fork,
        "genesis_validators_root": info.genesis_validators_root,
    })
}

fn upper(fork: types::ForkName) -> String {
    fork.as_str().to_ascii_uppercase()
}

/// The Web3Signer request body of `message` whose signing root is `signing_root`.
pub fn request_body(signing_root: Hash256, message: &SignableMessage) -> Value {
    let mut body = Map::new();
    body.insert("type".into(), json!(message.signable.type_name()));
    body.insert("signingRoot".into(), json!(signing_root));
    if let Some(info) = &message.fork_info {
        body.insert("fork_info".into(), fork_info_json(info));
    }
    let (field, object) = match &message.signable {
        Signable::Block { fork, block } => (
            "beacon_block",
            match block {
                BlockMessage::Full(block) => json!({"version": upper(*fork), "block": block}),
                BlockMessage::Header(header) => {
                    json!({"version": upper(*fork), "block_header": header})
                }
            },
        ),
        Signable::Attestation(data) => ("attestation", json!(data)),
        Signable::AggregationSlot(slot) => ("aggregation_slot", json!({"slot": slot})),
        Signable::AggregateAndProof { fork, message } => (
            "aggregate_and_proof",
            json!({"version": upper(*fork), "data": message}),
        ),
        Signable::RandaoReveal(epoch) => ("randao_reveal", json!({"epoch": epoch})),
        Signable::SyncCommitteeMessage {
            beacon_block_root,
            slot,
        } => (
            "sync_committee_message",
            json!({"beacon_block_root": beacon_block_root, "slot": slot}),
        ),
        Signable::SyncCommitteeSelectionProof(data) => {
            ("sync_aggregator_selection_data", json!(data))
        }
        Signable::SyncCommitteeContributionAndProof(message) => {
            ("contribution_and_proof", message.clone())
        }
        Signable::VoluntaryExit(exit) => ("voluntary_exit", json!(exit)),
        Signable::ValidatorRegistration(registration) => {
            ("validator_registration", json!(registration))
        }
    };
    body.insert(field.into(), object);
    Value::Object(body)
}

#[cfg(test)]
mod tests {
    use types::{Epoch, Fork, ForkName, Slot, Version};

    use super::*;

    #[test]
    fn urls_are_checked() {
        assert!(check_url("http://127.0.0.1:9000").is_ok());
        assert!(check_url("https://signer.example/base/").is_ok());
        for (url, reason) in [
            ("ftp://signer", "scheme"),
            ("signer:9000", "scheme"),
            ("http://user:secret@signer", "credentials"),
            ("http://signer/?key=1", "query"),
            ("not a url", "relative URL"),
        ] {
            let err = check_url(url).unwrap_err().to_string();
            assert!(err.contains(reason), "{url}: {err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn signature_answers() {
        let hex = format!("0x{}", "ab".repeat(96));
        let expected = SignatureBytes::from([0xab; 96]);
        assert_eq!(parse_signature(hex.as_bytes()).unwrap(), expected);
        let json = format!("{{\"signature\":\"{hex}\"}}");
        assert_eq!(parse_signature(json.as_bytes()).unwrap(), expected);
        assert_eq!(
            parse_signature(format!("\"{hex}\"").as_bytes()).unwrap(),
            expected
        );
        assert!(parse_signature(b"{\"error\":\"x\"}").is_err());
        assert!(parse_signature(b"0x1234").is_err());
        assert!(parse_signature(b"").is_err());
    }

    #[test]
    fn bodies_carry_type_fork_root_and_object() {
        let info = ForkInfo {
            fork: Fork {
                previous_version: Version::from([3, 0, 0, 1]),
                current_version: Version::from([4, 0, 0, 1]),
                epoch: Epoch(5),
            },
            genesis_validators_root: Hash256::repeat_byte(7),
        };
        let body = request_body(
            Hash256::repeat_byte(1),
            &SignableMessage {
                fork_info: Some(info),
                signable: Signable::AggregationSlot(Slot(9)),
            },
        );
        assert_eq!(body["type"], "AGGREGATION_SLOT");
        assert_eq!(body["aggregation_slot"]["slot"], "9");
        assert_eq!(body["fork_info"]["fork"]["current_version"], "0x04000001");
        assert_eq!(body["fork_info"]["fork"]["epoch"], "5");
        assert_eq!(
            body["signingRoot"],
            format!("0x{}", "01".repeat(32)),
            "{body}"
        );
        let body = request_body(
            Hash256::ZERO,
            &SignableMessage {
                fork_info: Some(info),
                signable: Signable::AggregateAndProof {
                    fork: ForkName::Deneb,
                    message: json!({"aggregator_index": "1"}),
                },
            },
        );
        assert_eq!(body["aggregate_and_proof"]["version"], "DENEB");
        assert_eq!(body["aggregate_and_proof"]["data"]["aggregator_index"], "1");
    }
}
