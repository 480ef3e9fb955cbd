//! Versioned routes and the per-node memory of which newer ones a node lacks.
//!
//! A newer route answering 404 or 405 is tried on its older route. Whether that answer proves
//! the route is missing depends on the route: for routes where 404 also means "nothing found"
//! (aggregate attestations, state queries) only a successful older route — or a router-style
//! "Route ... not found" body — proves it; elsewhere 404/405 always does. A proven-missing route
//! is skipped for [`RECHECK_AFTER`], then probed again; if the older route itself disappears
//! (node upgraded and dropped it) the newer one is tried at once.

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use super::BeaconNodeClient;
use crate::beacon_node::error::{Error, Result};

/// How long a route found missing is skipped before probing it again.
pub const RECHECK_AFTER: Duration = Duration::from_secs(15 * 60);

/// A route with an older fallback, or with none (the caller then degrades gracefully).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum VersionedRoute {
    /// `GET /eth/v3/validator/blocks/{slot}` (→ v2 / blinded v1).
    ProduceBlockV3,
    /// `POST /eth/v2/beacon/blocks` (→ v1).
    PublishBlockV2,
    /// `POST /eth/v2/beacon/blinded_blocks` (→ v1).
    PublishBlindedBlockV2,
    /// `POST /eth/v2/beacon/pool/attestations` (→ v1 before Electra).
    PoolAttestationsV2,
    /// `GET /eth/v2/validator/aggregate_attestation` (→ v1 before Electra).
    AggregateAttestationV2,
    /// `POST /eth/v2/validator/aggregate_and_proofs` (→ v1 before Electra).
    AggregateAndProofsV2,
    /// `POST /eth/v1/beacon/states/{state_id}/validators` (→ GET in chunks).
    PostStateValidators,
    /// `POST /eth/v1/beacon/states/{state_id}/validator_balances` (→ GET in chunks).
    PostStateValidatorBalances,
    /// `POST /eth/v1/validator/liveness/{epoch}` (no fallback: callers detect liveness from
    /// the chain).
    Liveness,
}

impl VersionedRoute {
    /// Whether a 404 on this route can also mean "nothing found" rather than "no such route".
    fn not_found_is_ambiguous(self) -> bool {
        matches!(
            self,
            VersionedRoute::AggregateAttestationV2
                | VersionedRoute::PostStateValidators
                | VersionedRoute::PostStateValidatorBalances
        )
    }
}

/// The `older` argument of [`BeaconNodeClient::with_fallback`] for routes without one.
pub(crate) type NoOlderRoute<T> = Option<fn() -> std::future::Ready<Result<T>>>;

/// Whether `error` is a 404/405 answer.
fn is_route_miss(error: &Error) -> bool {
    matches!(
        error,
        Error::Status {
            status: 404 | 405,
            ..
        }
    )
}

/// Whether a 404/405 body reads like a router's "no such route" (Lodestar's fastify says
/// `Route GET:/eth/... not found`).
fn says_route_missing(error: &Error) -> bool {
    match error {
        Error::Status { status: 405, .. } => true,
        Error::Status {
            status: 404,
            message,
            ..
        } => {
            let message = message.to_ascii_lowercase();
            message.contains("route") && message.contains("not found")
        }
        _ => false,
    }
}

/// Routes a node was found to lack, with when that was found.
#[derive(Debug, Default)]
pub(crate) struct RouteCache {
    missing: Mutex<HashMap<VersionedRoute, Instant>>,
}

impl RouteCache {
    pub(crate) fn is_missing(&self, route: VersionedRoute) -> bool {
        let mut missing = self.missing.lock();
        match missing.get(&route) {
            Some(since) if since.elapsed() < RECHECK_AFTER => true,
            Some(_) => {
                missing.remove(&route);
                false
            }
            None => false,
        }
    }

    pub(crate) fn mark_missing(&self, route: VersionedRoute) {
        self.missing.lock().insert(route, Instant::now());
    }

    pub(crate) fn mark_present(&self, route: VersionedRoute) {
        self.missing.lock().remove(&route);
    }

    pub(crate) fn unsupported(&self) -> Vec<VersionedRoute> {
        let mut routes: Vec<VersionedRoute> = self
            .missing
            .lock()
            .iter()
            .filter(|(_, since)| since.elapsed() < RECHECK_AFTER)
            .map(|(route, _)| *route)
            .collect();
        routes.sort();
        routes
    }
}

impl BeaconNodeClient {
    fn unsupported(&self, route: VersionedRoute, error: Option<&Error>) -> Error {
        let (url, status) = match error {
            Some(Error::Status { url, status, .. }) => (url.clone(), *status),
            _ => (format!("{} ({route:?}, known missing)", self.url()), 404),
        };
        Error::UnsupportedRoute { url, status }
    }

    /// Calls `newer`, falling back to `older` (when given) if the node lacks the newer route.
    pub(crate) async fn with_fallback<T, N, NF, O, OF>(
        &self,
        route: VersionedRoute,
        newer: N,
        older: Option<O>,
    ) -> Result<T>
    where
        N: FnOnce() -> NF,
        NF: Future<Output = Result<T>>,
        O: FnOnce() -> OF,
        OF: Future<Output = Result<T>>,
    {
        let routes = self.routes();
        if routes.is_missing(route) {
            let Some(older) = older else {
                return Err(self.unsupported(route, None));
            };
            let result = older().await;
            return match result {
                Err(error)
                    if is_route_miss(&error)
                        && (!route.not_found_is_ambiguous() || says_route_missing(&error)) =>
                {
                    // The older route is gone too: the node was probably upgraded.
                    tracing::info!(node = %self, ?route, "older route missing, trying the newer one again");
                    routes.mark_present(route);
                    newer().await
                }
                other => other,
            };
        }
        let error = match newer().await {
            Ok(value) => {
                routes.mark_present(route);
                return Ok(value);
            }
            Err(error) if is_route_miss(&error) => error,
            Err(error) => return Err(error),
        };
        let proven = !route.not_found_is_ambiguous() || says_route_missing(&error);
        let Some(older) = older else {
            if proven {
                tracing::info!(node = %self, ?route, %error, "route not supported by the beacon node");
                routes.mark_missing(route);
                return Err(self.unsupported(route, Some(&error)));
            }
            return Err(error);
        };
        let result = older().await;
        if proven || result.is_ok() {
            tracing::info!(node = %self, ?route, %error, "newer route not supported, using the older one");
            routes.mark_missing(route);
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use super::*;
    use crate::beacon_node::client::Timeouts;

    fn status(status: u16, message: &str) -> Error {
        Error::Status {
            status,
            message: message.into(),
            url: "http://n/eth/x".into(),
            failures: Vec::new(),
        }
    }

    fn client() -> BeaconNodeClient {
        BeaconNodeClient::new(
            "http://127.0.0.1:1/",
            Timeouts::uniform(Duration::from_secs(1)),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn missing_route_is_remembered() {
        let client = client();
        let newer_calls = AtomicUsize::new(0);
        let newer = || async {
            newer_calls.fetch_add(1, Ordering::SeqCst);
            Err::<u8, _>(status(404, "Not Found"))
        };
        let older = || async { Ok(1u8) };
        let route = VersionedRoute::ProduceBlockV3;
        assert_eq!(
            client
                .with_fallback(route, newer, Some(older))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            client
                .with_fallback(route, newer, Some(older))
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            newer_calls.load(Ordering::SeqCst),
            1,
            "second call skips the newer route"
        );
        assert_eq!(client.unsupported_routes(), vec![route]);
    }

    #[tokio::test]
    async fn ambiguous_not_found_is_not_cached_unless_proven() {
        let client = client();
        let route = VersionedRoute::AggregateAttestationV2;
        let newer = || async { Err::<u8, _>(status(404, "no aggregate for this root")) };
        let older_404 = || async { Err::<u8, _>(status(404, "no aggregate")) };
        let err = client
            .with_fallback(route, newer, Some(older_404))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert!(client.unsupported_routes().is_empty());
        // A router-style body proves the route is missing.
        let newer = || async {
            Err::<u8, _>(status(
                404,
                "Route GET:/eth/v2/validator/aggregate_attestation not found",
            ))
        };
        let err = client
            .with_fallback(route, newer, Some(older_404))
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(404));
        assert_eq!(client.unsupported_routes(), vec![route]);
    }

    #[tokio::test]
    async fn no_older_route_gives_unsupported_and_other_errors_pass_through() {
        let client = client();
        let route = VersionedRoute::Liveness;
        let none: NoOlderRoute<u8> = None;
        let err = client
            .with_fallback(
                route,
                || async { Err::<u8, _>(status(405, "Method Not Allowed")) },
                none,
            )
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedRoute { status: 405, .. }),
            "{err}"
        );
        let err = client
            .with_fallback(route, || async { Ok::<u8, _>(1) }, none)
            .await
            .unwrap_err();
        assert!(
            matches!(err, Error::UnsupportedRoute { .. }),
            "cached: {err}"
        );

        let route = VersionedRoute::PublishBlockV2;
        let older_called = AtomicUsize::new(0);
        let err = client
            .with_fallback(
                route,
                || async { Err::<u8, _>(status(400, "invalid block")) },
                Some(|| async {
                    older_called.fetch_add(1, Ordering::SeqCst);
                    Ok(1)
                }),
            )
            .await
            .unwrap_err();
        assert_eq!(err.status(), Some(400));
        assert_eq!(older_called.load(Ordering::SeqCst), 0);
    }

    #[tokio::test]
    async fn upgraded_node_gets_newer_route_back() {
        let client = client();
        let route = VersionedRoute::PoolAttestationsV2;
        client.routes().mark_missing(route);
        let result = client
            .with_fallback(
                route,
                || async { Ok::<u8, _>(2) },
                Some(|| async {
                    Err::<u8, _>(status(
                        404,
                        "Route POST:/eth/v1/beacon/pool/attestations not found",
                    ))
                }),
            )
            .await
            .unwrap();
        assert_eq!(result, 2);
        assert!(client.unsupported_routes().is_empty());
    }
}
