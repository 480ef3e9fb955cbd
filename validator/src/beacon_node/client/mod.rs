//! [`BeaconNodeClient`]: one beacon node over the Beacon API, one typed method per endpoint.
//!
//! Invariants:
//! - every request has a timeout sized to its duty's deadline ([`Timeouts`]), so a slow node
//!   costs at most that fraction of a slot before the caller moves to another node;
//! - URLs in errors and logs never carry the credentials of the configured node URL;
//! - a response body larger than [`MAX_RESPONSE_BYTES`] is refused rather than buffered;
//! - a versioned route answering 404/405 falls back to its older route, and the node's lack of
//!   the newer route is remembered per node ([`routes`]), re-probed after a while so an upgraded
//!   node gets its newer routes back.

mod beacon;
mod blocks;
mod history;
mod pool;
pub mod routes;
mod validator;

use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderMap};
use reqwest::{Method, StatusCode, Url};
use serde::Serialize;
use serde::de::DeserializeOwned;
use types::api::ErrorMessage;

pub use beacon::GET_ID_CHUNK;
pub use blocks::{
    BlockProductionRoute, ProduceBlockRequest, ProducedBlockResponse, PublishOutcome,
};
pub use routes::VersionedRoute;

use super::error::{Error, Result};
use routes::RouteCache;

/// The largest response body accepted (Fulu blocks with blobs as JSON stay well below).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024 * 1024;

/// `Eth-Consensus-Version`.
pub const CONSENSUS_VERSION_HEADER: &str = "Eth-Consensus-Version";
/// `Eth-Execution-Payload-Blinded`.
pub const PAYLOAD_BLINDED_HEADER: &str = "Eth-Execution-Payload-Blinded";
/// `Eth-Execution-Payload-Value`.
pub const PAYLOAD_VALUE_HEADER: &str = "Eth-Execution-Payload-Value";
/// `Eth-Consensus-Block-Value`.
pub const CONSENSUS_BLOCK_VALUE_HEADER: &str = "Eth-Consensus-Block-Value";

const JSON: &str = "application/json";
const SSZ: &str = "application/octet-stream";

/// How a request or response body is encoded.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Encoding {
    /// Beacon API JSON.
    Json,
    /// SSZ bytes (`application/octet-stream`), with the fork in `Eth-Consensus-Version`.
    Ssz,
}

/// Per-call-class timeouts. Duty calls get a fraction of the slot: waiting longer than the
/// duty's deadline on one node is pointless when another node could answer in time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP/TLS connection establishment.
    pub connect: Duration,
    /// Anything not listed below (genesis, config, version, headers, blocks).
    pub default: Duration,
    /// Node health checks (`/eth/v1/node/syncing`).
    pub health: Duration,
    /// Attestation data and attestation publication.
    pub attestation: Duration,
    /// Aggregate attestation retrieval and aggregate publication.
    pub aggregate: Duration,
    /// Attester duties.
    pub attester_duties: Duration,
    /// Proposer duties.
    pub proposer_duties: Duration,
    /// Sync committee duties.
    pub sync_duties: Duration,
    /// Block production.
    pub proposal: Duration,
    /// Block publication.
    pub publish_block: Duration,
    /// Sync committee messages and contributions.
    pub sync_committee: Duration,
    /// Subnet subscriptions, proposer preparation, builder registrations.
    pub subscriptions: Duration,
    /// Liveness queries (doppelganger detection).
    pub liveness: Duration,
    /// State queries (validators, balances, committees, sync committees).
    pub state_queries: Duration,
}

impl Timeouts {
    /// Timeouts derived from the slot duration (`s`): s/3 for everything due by a third of the
    /// slot, s/2 for block production and publication, one slot for bulk state queries and
    /// registrations.
    pub fn from_slot_duration(slot: Duration) -> Self {
        let third = slot / 3;
        let half = slot / 2;
        Self {
            connect: third.min(Duration::from_secs(4)),
            default: slot,
            health: third,
            attestation: third,
            aggregate: third,
            attester_duties: half,
            proposer_duties: half,
            sync_duties: half,
            proposal: half,
            publish_block: half,
            sync_committee: third,
            subscriptions: slot,
            liveness: third,
            state_queries: slot * 2,
        }
    }

    /// The same timeout for every call (tests).
    pub fn uniform(timeout: Duration) -> Self {
        Self {
            connect: timeout,
            default: timeout,
            health: timeout,
            attestation: timeout,
            aggregate: timeout,
            attester_duties: timeout,
            proposer_duties: timeout,
            sync_duties: timeout,
            proposal: timeout,
            publish_block: timeout,
            sync_committee: timeout,
            subscriptions: timeout,
            liveness: timeout,
            state_queries: timeout,
        }
    }
}

/// A URL without its credentials, for logs and errors.
pub(crate) fn redact(url: &Url) -> String {
    let mut shown = url.clone();
    if !shown.username().is_empty() || shown.password().is_some() {
        // Only fails for cannot-be-a-base URLs, which never reach here (checked in `new`).
        let _ = shown.set_username("");
        let _ = shown.set_password(None);
    }
    shown.to_string()
}

/// A request to send.
#[derive(Debug)]
pub(crate) struct Call {
    method: Method,
    path: String,
    query: Vec<(&'static str, String)>,
    headers: Vec<(&'static str, String)>,
    body: Option<(&'static str, Vec<u8>)>,
    accept: &'static str,
    timeout: Duration,
}

impl Call {
    fn new(method: Method, path: impl Into<String>, timeout: Duration) -> Self {
        Self {
            method,
            path: path.into(),
            query: Vec::new(),
            headers: Vec::new(),
            body: None,
            accept: JSON,
            timeout,
        }
    }

    pub(crate) fn get(path: impl Into<String>, timeout: Duration) -> Self {
        Self::new(Method::GET, path, timeout)
    }

    pub(crate) fn post(path: impl Into<String>, timeout: Duration) -> Self {
        Self::new(Method::POST, path, timeout)
    }

    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    pub(crate) fn header(mut self, name: &'static str, value: impl ToString) -> Self {
        self.headers.push((name, value.to_string()));
        self
    }

    pub(crate) fn json_body<T: Serialize + ?Sized>(mut self, body: &T) -> Result<Self> {
        let bytes = serde_json::to_vec(body).map_err(|e| Error::Request {
            url: self.path.clone(),
            detail: format!("cannot encode the request body: {e}"),
        })?;
        self.body = Some((JSON, bytes));
        Ok(self)
    }

    pub(crate) fn ssz_body(mut self, bytes: Vec<u8>) -> Self {
        self.body = Some((SSZ, bytes));
        self
    }

    /// Asks for SSZ, accepting JSON too.
    pub(crate) fn accept_ssz(mut self) -> Self {
        self.accept = "application/octet-stream;q=1.0,application/json;q=0.9";
        self
    }
}

/// A successful (2xx) response.
#[derive(Debug)]
pub(crate) struct RawResponse {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    pub(crate) body: Bytes,
    /// The request URL, credentials removed.
    pub(crate) url: String,
}

impl RawResponse {
    /// Decodes the JSON body, naming the field path of the first error.
    pub(crate) fn json<T: DeserializeOwned>(&self) -> Result<T> {
        let mut deserializer = serde_json::Deserializer::from_slice(&self.body);
        let value: T =
            serde_path_to_error::deserialize(&mut deserializer).map_err(|e| Error::Decode {
                url: self.url.clone(),
                detail: format!("at `{}`: {}", e.path(), e.inner()),
            })?;
        deserializer.end().map_err(|e| Error::Decode {
            url: self.url.clone(),
            detail: format!("trailing data after the JSON value: {e}"),
        })?;
        Ok(value)
    }

    /// A response header as text.
    pub(crate) fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Whether the body is SSZ.
    pub(crate) fn is_ssz(&self) -> bool {
        self.header(CONTENT_TYPE.as_str())
            .is_some_and(|ct| ct.trim_start().starts_with(SSZ))
    }

    pub(crate) fn decode_error(&self, detail: impl Into<String>) -> Error {
        Error::Decode {
            url: self.url.clone(),
            detail: detail.into(),
        }
    }
}

#[derive(Debug)]
struct Inner {
    http: reqwest::Client,
    /// Base URL, ending in `/`, possibly with credentials.
    base: Url,
    /// Base URL without credentials.
    shown: String,
    timeouts: Timeouts,
    routes: RouteCache,
}

/// A client of one beacon node. Cheap to clone (shared connection pool and route cache).
#[derive(Debug, Clone)]
pub struct BeaconNodeClient {
    inner: Arc<Inner>,
}

impl std::fmt::Display for BeaconNodeClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.inner.shown)
    }
}

impl BeaconNodeClient {
    /// A client of the node at `url` (`http(s)://[user:password@]host:port[/prefix]`).
    pub fn new(url: &str, timeouts: Timeouts) -> Result<Self> {
        let invalid = |detail: String| {
            let shown =
                Url::parse(url).map_or_else(|_| "<unparsable URL>".to_owned(), |u| redact(&u));
            Error::InvalidUrl { url: shown, detail }
        };
        let mut base = Url::parse(url).map_err(|e| invalid(e.to_string()))?;
        if !matches!(base.scheme(), "http" | "https") || base.cannot_be_a_base() {
            return Err(invalid("expected an http:// or https:// URL".into()));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(invalid(
                "a query string or fragment is not supported".into(),
            ));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let http = reqwest::Client::builder()
            .connect_timeout(timeouts.connect)
            .user_agent(concat!("poolvc/", env!("CARGO_PKG_VERSION")))
            .pool_idle_timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| invalid(format!("cannot build the HTTP client: {e}")))?;
        let shown = redact(&base);
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                base,
                shown,
                timeouts,
                routes: RouteCache::default(),
            }),
        })
    }

    /// The node's URL without credentials.
    pub fn url(&self) -> &str {
        &self.inner.shown
    }

    /// The timeouts in use.
    pub fn timeouts(&self) -> &Timeouts {
        &self.inner.timeouts
    }

    /// The per-node memory of unsupported versioned routes.
    pub(crate) fn routes(&self) -> &RouteCache {
        &self.inner.routes
    }

    /// Which versioned routes this node is currently known not to support.
    pub fn unsupported_routes(&self) -> Vec<VersionedRoute> {
        self.inner.routes.unsupported()
    }

    pub(crate) fn endpoint(&self, path: &str, query: &[(&'static str, String)]) -> Result<Url> {
        let mut url = self
            .inner
            .base
            .join(path.trim_start_matches('/'))
            .map_err(|e| Error::InvalidUrl {
                url: format!("{}{path}", self.inner.shown),
                detail: e.to_string(),
            })?;
        if !query.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (key, value) in query {
                pairs.append_pair(key, value);
            }
        }
        Ok(url)
    }

    /// A request without a total timeout (for streams), credentials kept.
    pub(crate) fn stream_request(&self, url: Url) -> reqwest::RequestBuilder {
        self.inner.http.get(url)
    }

    /// Sends a call and returns the 2xx response, or the node's error.
    pub(crate) async fn execute(&self, call: Call) -> Result<RawResponse> {
        let url = self.endpoint(&call.path, &call.query)?;
        let shown = redact(&url);
        let mut request = self
            .inner
            .http
            .request(call.method, url)
            .timeout(call.timeout)
            .header(ACCEPT, call.accept);
        for (name, value) in &call.headers {
            request = request.header(*name, value);
        }
        if let Some((content_type, body)) = call.body {
            request = request.header(CONTENT_TYPE, content_type).body(body);
        }
        let mut response = request
            .send()
            .await
            .map_err(|e| transport_error(e, &shown, call.timeout))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = read_body(&mut response, &shown, call.timeout).await?;
        if !status.is_success() {
            return Err(status_error(status, &body, shown));
        }
        Ok(RawResponse {
            status,
            headers,
            body,
            url: shown,
        })
    }

    /// Sends a call and decodes its JSON response.
    pub(crate) async fn execute_json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        self.execute(call).await?.json()
    }
}

async fn read_body(
    response: &mut reqwest::Response,
    url: &str,
    timeout: Duration,
) -> Result<Bytes> {
    if let Some(length) = response.content_length()
        && length > MAX_RESPONSE_BYTES as u64
    {
        return Err(Error::Decode {
            url: url.to_owned(),
            detail: format!(
                "response of {length} bytes exceeds the {MAX_RESPONSE_BYTES}-byte limit"
            ),
        });
    }
    let mut body = BytesMut::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(e, url, timeout))?
    {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(Error::Decode {
                url: url.to_owned(),
                detail: format!("response exceeds the {MAX_RESPONSE_BYTES}-byte limit"),
            });
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// The error chain of a transport error, without the URL (which may hold credentials).
fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text.push_str(": ");
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    text
}

fn has_io_source(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = error.source();
    while let Some(cause) = source {
        if cause.is::<std::io::Error>() {
            return true;
        }
        source = cause.source();
    }
    false
}

fn transport_error(error: reqwest::Error, url: &str, timeout: Duration) -> Error {
    let error = error.without_url();
    if error.is_timeout() {
        return Error::Timeout {
            url: url.to_owned(),
            timeout,
        };
    }
    let detail = error_chain(&error);
    if error.is_connect() || has_io_source(&error) || detail.contains("connection closed") {
        Error::Connection {
            url: url.to_owned(),
            detail,
        }
    } else {
        Error::Request {
            url: url.to_owned(),
            detail,
        }
    }
}

/// The message (and failed items) of an error body: the spec's `{code, message, failures}`,
/// else any object's `message` (e.g. fastify's `{statusCode, error, message}`), else the text.
fn status_error(status: StatusCode, body: &[u8], url: String) -> Error {
    let (message, failures) = if let Ok(parsed) = serde_json::from_slice::<ErrorMessage>(body) {
        (parsed.message, parsed.failures.unwrap_or_default())
    } else if let Some(message) = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(str::to_owned))
    {
        (message, Vec::new())
    } else {
        let text = String::from_utf8_lossy(&body[..body.len().min(512)])
            .trim()
            .to_owned();
        let text = if text.is_empty() {
            status.canonical_reason().unwrap_or("no body").to_owned()
        } else {
            text
        };
        (text, Vec::new())
    };
    Error::Status {
        status: status.as_u16(),
        message,
        url,
        failures,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_normalised_and_redacted() {
        let client = BeaconNodeClient::new(
            "http://user:secret@127.0.0.1:5052/prefix",
            Timeouts::uniform(Duration::from_secs(1)),
        )
        .unwrap();
        assert_eq!(client.url(), "http://127.0.0.1:5052/prefix/");
        let url = client.endpoint("/eth/v1/node/syncing", &[]).unwrap();
        assert_eq!(url.path(), "/prefix/eth/v1/node/syncing");
        assert_eq!(
            url.password(),
            Some("secret"),
            "credentials are kept for requests"
        );
        assert!(!redact(&url).contains("secret"));
        let url = client
            .endpoint(
                "eth/v1/x",
                &[("topics", "head".into()), ("topics", "block".into())],
            )
            .unwrap();
        assert_eq!(url.query(), Some("topics=head&topics=block"));

        for bad in ["ftp://x/", "not a url", "http://h/?apikey=1", "mailto:a@b"] {
            let err =
                BeaconNodeClient::new(bad, Timeouts::uniform(Duration::from_secs(1))).unwrap_err();
            assert!(matches!(err, Error::InvalidUrl { .. }), "{bad}: {err}");
        }
        let err = BeaconNodeClient::new("ftp://u:pw@x/", Timeouts::uniform(Duration::from_secs(1)))
            .unwrap_err();
        assert!(!err.to_string().contains("pw"), "{err}");
    }

    #[test]
    fn error_bodies_of_all_shapes() {
        let url = "http://n/".to_owned();
        let spec = status_error(
            StatusCode::BAD_REQUEST,
            br#"{"code":400,"message":"some failures","failures":[{"index":0,"message":"bad sig"}]}"#,
            url.clone(),
        );
        assert!(
            matches!(&spec, Error::Status { status: 400, failures, .. } if failures.len() == 1)
        );
        let fastify = status_error(
            StatusCode::NOT_FOUND,
            br#"{"message":"Route GET:/eth/v3/validator/blocks/1 not found","error":"Not Found","statusCode":404}"#,
            url.clone(),
        );
        assert!(
            fastify.to_string().contains("Route GET:/eth/v3"),
            "{fastify}"
        );
        let text = status_error(StatusCode::BAD_GATEWAY, b"", url);
        assert!(text.to_string().contains("Bad Gateway"), "{text}");
    }

    #[test]
    fn slot_fraction_timeouts() {
        let t = Timeouts::from_slot_duration(Duration::from_secs(12));
        assert_eq!(t.attestation, Duration::from_secs(4));
        assert_eq!(t.proposal, Duration::from_secs(6));
        assert_eq!(t.connect, Duration::from_secs(4));
        assert!(t.attestation <= Duration::from_secs(12) / 3);
    }
}
