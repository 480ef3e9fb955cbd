//! Errors of beacon node calls.
//!
//! Every variant names the node (its URL with any credentials removed) and what was wrong, so a
//! log line alone tells an operator which node misbehaved and how.

use std::fmt;
use std::time::Duration;

use types::Hash256;
use types::api::IndexedError;

/// A beacon node call failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The node answered with a non-2xx status.
    #[error("{url} answered HTTP {status}: {message}{}", format_failures(failures))]
    Status {
        /// The HTTP status.
        status: u16,
        /// The node's error message (from its JSON error body, else the raw body).
        message: String,
        /// The request URL (credentials removed).
        url: String,
        /// For batch submissions: the rejected items and why.
        failures: Vec<IndexedError>,
    },

    /// No complete answer within the call's timeout.
    #[error("{url} did not answer within {timeout:?}")]
    Timeout {
        /// The request URL.
        url: String,
        /// The timeout that expired.
        timeout: Duration,
    },

    /// The node could not be reached (refused, reset, DNS, TLS).
    #[error("cannot reach {url}: {detail}")]
    Connection {
        /// The request URL.
        url: String,
        /// The transport error.
        detail: String,
    },

    /// The response body is not what the endpoint should return.
    #[error("invalid response from {url}: {detail}")]
    Decode {
        /// The request URL (names the endpoint).
        url: String,
        /// What did not decode (field path and value where known).
        detail: String,
    },

    /// The node follows a different chain.
    #[error("{url} is on a different chain: genesis validators root {actual}, expected {expected}")]
    WrongGenesis {
        /// The node's base URL.
        url: String,
        /// The root this client runs with.
        expected: Hash256,
        /// The root the node reports.
        actual: Hash256,
    },

    /// The node's configuration is incompatible (genesis time, fork schedule, preset).
    #[error("{url} is incompatible: {reason}")]
    Incompatible {
        /// The node's base URL.
        url: String,
        /// The mismatch.
        reason: String,
    },

    /// The node is syncing and cannot serve validator duties.
    #[error("{url} is syncing ({distance} slots behind)")]
    NotSynced {
        /// The node's base URL.
        url: String,
        /// Its sync distance in slots.
        distance: u64,
    },

    /// The node does not implement the route (404/405 on a versioned route with no older one
    /// left to try).
    #[error("{url} does not support this route (HTTP {status})")]
    UnsupportedRoute {
        /// The request URL.
        url: String,
        /// The status it answered.
        status: u16,
    },

    /// A URL could not be built.
    #[error("invalid beacon node URL {url}: {detail}")]
    InvalidUrl {
        /// The offending URL (credentials removed).
        url: String,
        /// Why.
        detail: String,
    },

    /// Any other failure of the HTTP exchange (redirect loop, body read error, ...).
    #[error("request to {url} failed: {detail}")]
    Request {
        /// The request URL.
        url: String,
        /// The error.
        detail: String,
    },

    /// Every beacon node failed; one entry per node, in the order tried.
    #[error("all beacon nodes failed: {}", format_node_failures(.0))]
    AllNodesFailed(Vec<NodeFailure>),

    /// No beacon node is configured.
    #[error("no beacon node configured")]
    NoNodes,
}

/// One node's failure within [`Error::AllNodesFailed`].
#[derive(Debug)]
pub struct NodeFailure {
    /// The node (URL without credentials).
    pub node: String,
    /// What went wrong.
    pub error: Error,
}

impl fmt::Display for NodeFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] {}", self.node, self.error)
    }
}

fn format_failures(failures: &[IndexedError]) -> String {
    if failures.is_empty() {
        return String::new();
    }
    let items: Vec<String> = failures
        .iter()
        .map(|f| format!("#{}: {}", f.index, f.message))
        .collect();
    format!(" (failed items: {})", items.join("; "))
}

fn format_node_failures(failures: &[NodeFailure]) -> String {
    let items: Vec<String> = failures.iter().map(ToString::to_string).collect();
    items.join("; ")
}

impl Error {
    /// The HTTP status, for [`Error::Status`] and [`Error::UnsupportedRoute`].
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Status { status, .. } | Error::UnsupportedRoute { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// Whether the node was unreachable or too slow (as opposed to answering badly).
    pub fn is_unreachable(&self) -> bool {
        matches!(self, Error::Connection { .. } | Error::Timeout { .. })
    }

    /// Whether the error says the node is on a different or misconfigured chain.
    pub fn is_incompatible(&self) -> bool {
        matches!(
            self,
            Error::WrongGenesis { .. } | Error::Incompatible { .. }
        )
    }
}

/// The result of beacon node calls.
pub type Result<T> = std::result::Result<T, Error>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_name_node_and_items() {
        let err = Error::AllNodesFailed(vec![
            NodeFailure {
                node: "http://a:5052/".into(),
                error: Error::Status {
                    status: 400,
                    message: "some failures".into(),
                    url: "http://a:5052/eth/v2/beacon/pool/attestations".into(),
                    failures: vec![IndexedError {
                        index: 1,
                        message: "invalid signature".into(),
                    }],
                },
            },
            NodeFailure {
                node: "http://b:5052/".into(),
                error: Error::Timeout {
                    url: "http://b:5052/eth/v1/node/syncing".into(),
                    timeout: Duration::from_millis(500),
                },
            },
        ]);
        let text = err.to_string();
        for needle in [
            "[http://a:5052/]",
            "HTTP 400",
            "#1: invalid signature",
            "[http://b:5052/]",
            "500ms",
        ] {
            assert!(text.contains(needle), "{needle} missing from {text}");
        }
    }
}
