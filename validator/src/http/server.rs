//! The HTTP/1.1 accept loop shared by the HTTP servers: the reports API with the dashboard,
//! `/metrics`, and the Keymanager API.
//!
//! Why not `axum::serve`: it sets no header-read timeout and no connection cap, so one client
//! opening many idle connections could exhaust the process. Here every connection holds a
//! permit of a bounded semaphore (the accept loop waits when all are taken), a client must
//! finish sending its request headers within [`ServerLimits::header_read_timeout`], and on
//! shutdown the listener closes at once while open connections get
//! [`ServerLimits::shutdown_grace`] to finish.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;

use super::error::{Error, Result};

/// Connection-level limits of [`serve_with_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers.
    pub header_read_timeout: Duration,
    /// Open connections at most.
    pub max_connections: usize,
    /// Time open connections get to finish after shutdown is requested.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(10),
            max_connections: 256,
            shutdown_grace: Duration::from_secs(5),
        }
    }
}

/// Serves `router` on `listener` until `shutdown` is cancelled, with [`ServerLimits::default`].
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> Result<()> {
    serve_with_limits(listener, router, shutdown, ServerLimits::default()).await
}

/// Serves `router` on `listener` until `shutdown` is cancelled.
pub async fn serve_with_limits(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    limits: ServerLimits,
) -> Result<()> {
    serve_named(
        listener,
        router,
        shutdown,
        limits,
        "reports API and dashboard",
    )
    .await
}

/// Serves `router` on `listener` until `shutdown` is cancelled; `server` names it in logs
/// (e.g. `metrics`).
pub async fn serve_named(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
    limits: ServerLimits,
    server: &'static str,
) -> Result<()> {
    let addr = listener.local_addr().map_err(Error::LocalAddr)?;
    tracing::info!(%addr, server, "HTTP server listening");
    let graceful = GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    loop {
        let permit = tokio::select! {
            () = shutdown.cancelled() => break,
            permit = Arc::clone(&slots).acquire_owned() => match permit {
                Ok(permit) => permit,
                // The semaphore is never closed; stop serving rather than spin if it were.
                Err(_) => break,
            },
        };
        let (stream, peer) = tokio::select! {
            () = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Transient (e.g. out of file descriptors): back off instead of spinning.
                    tracing::warn!(%addr, server, %error, "accepting a connection failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(
                TokioIo::new(stream),
                TowerToHyperService::new(router.clone()),
            );
        let connection = graceful.watch(connection);
        // One short-lived task per connection, like any HTTP server; it ends with the connection.
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%peer, server, %error, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    tokio::select! {
        () = graceful.shutdown() => tracing::info!(%addr, server, "HTTP server stopped"),
        () = tokio::time::sleep(limits.shutdown_grace) => tracing::warn!(
            %addr,
            server,
            grace_ms = limits.shutdown_grace.as_millis() as u64,
            "connections still open after the shutdown grace period; dropping them"
        ),
    }
    Ok(())
}
