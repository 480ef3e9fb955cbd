//! Answering while the client loads its keys.
//!
//! The Keymanager API is served from the moment its port is bound, before the keystores are
//! decrypted (which takes seconds per scrypt keystore), so a request never hangs on a
//! listener nobody accepts on. The API's state ([`Keymanager`]) exists only once the keys are
//! loaded; until then it sits empty in a [`Slot`].
//!
//! Invariants: the bearer token is checked first, loading or not; a route that needs the
//! client's keys answers `503` with `Retry-After` and a JSON message until the state is
//! installed, and is handled normally from then on (routing itself — unknown routes `404`,
//! wrong methods `405` — needs no keys and is always served); the state is installed once.

use std::sync::{Arc, OnceLock};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use types::EthSpec;

use super::Keymanager;
use crate::http::ApiError;

/// Seconds a client is asked to wait (`Retry-After`) while the keys load.
pub const LOADING_RETRY_AFTER_SECS: u64 = 5;

/// The API's state once the keys are loaded; empty before.
pub(super) type Slot<E> = OnceLock<Arc<Keymanager<E>>>;

/// The loaded API state, or a `503` while the keys load: every handler's first extractor.
pub(super) struct Ready<E: EthSpec>(pub(super) Arc<Keymanager<E>>);

impl<E: EthSpec> FromRequestParts<Arc<Slot<E>>> for Ready<E> {
    type Rejection = Response;

    async fn from_request_parts(
        _parts: &mut Parts,
        slot: &Arc<Slot<E>>,
    ) -> Result<Self, Self::Rejection> {
        slot.get().cloned().map(Self).ok_or_else(loading)
    }
}

/// `503` + `Retry-After`: the keys are still loading.
fn loading() -> Response {
    let mut response = ApiError {
        status: StatusCode::SERVICE_UNAVAILABLE,
        message: format!(
            "the validator client is still loading its keys; retry in \
             {LOADING_RETRY_AFTER_SECS} seconds"
        ),
    }
    .into_response();
    response.headers_mut().insert(
        header::RETRY_AFTER,
        HeaderValue::from(LOADING_RETRY_AFTER_SECS),
    );
    response
}
