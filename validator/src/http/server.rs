//! The HTTP/1.1 accept loop shared by the HTTP servers: the reports API with the dashboard,
//! `/metrics`, and the Keymanager API.
//!
//! Why not `axum::serve`: it sets no header-read timeout and no connection cap, so one client
//! opening many idle connections could exhaust the process. Here:
//! - a client must finish sending a request's headers within
//!   [`ServerLimits::header_read_timeout`], counted from the moment the server waits for them —
//!   at the connection's start and again after each response — so it is also the keep-alive
//!   idle timeout;
//! - at most [`ServerLimits::max_connections`] connections are open. A connection accepted
//!   beyond that closes the connection that has been idle (no request in flight) the longest,
//!   at once; when every open connection has a request in flight, the new connection is
//!   answered `503` and closed at once. New connections never wait in the listen queue behind
//!   idle ones, and a request in flight is never cut;
//! - on shutdown the listener closes at once, idle connections close, connections with a
//!   request in flight get [`ServerLimits::shutdown_grace`] to finish it.
//!
//! Invariant: a connection is "idle" exactly while no request of it is being handled or its
//! response written (counted by a guard that lives from the service call until hyper drops the
//! response body); only idle connections are ever closed abruptly.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::Service;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use parking_lot::Mutex;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::error::{Error, Result};

/// Connection-level limits of [`serve_with_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// Time a client has to send a request's headers, from the connection's start or the end
    /// of its previous response (so also the keep-alive idle timeout).
    pub header_read_timeout: Duration,
    /// Open connections at most; past it the longest-idle connection is closed, or the new one
    /// refused with `503` when none is idle.
    pub max_connections: usize,
    /// Time connections with a request in flight get to finish after shutdown is requested.
    pub shutdown_grace: Duration,
}

impl Default for ServerLimits {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
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

/// The answer to a connection refused because every open connection is busy.
fn busy_response() -> Vec<u8> {
    let body = r#"{"code":503,"message":"server busy: every connection has a request in flight"}"#;
    format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\n\
         retry-after: 1\r\nconnection: close\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// What a connection is doing, shared by its task, its requests and the accept loop.
struct Activity {
    /// Requests being handled or whose response is being written.
    in_flight: AtomicUsize,
    /// When it last became idle, on the server's activity counter (smaller: idle longer).
    idle_since: AtomicU64,
    /// The server's activity counter.
    ticks: Arc<AtomicU64>,
}

impl Activity {
    fn new(ticks: Arc<AtomicU64>) -> Self {
        Self {
            in_flight: AtomicUsize::new(0),
            idle_since: AtomicU64::new(ticks.fetch_add(1, Ordering::Relaxed)),
            ticks,
        }
    }

    fn is_idle(&self) -> bool {
        self.in_flight.load(Ordering::Acquire) == 0
    }
}

/// One request in flight on a connection: from the service call until its response body is
/// dropped (written or abandoned).
struct InFlight(Arc<Activity>);

impl InFlight {
    fn start(activity: &Arc<Activity>) -> Self {
        activity.in_flight.fetch_add(1, Ordering::AcqRel);
        Self(activity.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        let activity = &self.0;
        if activity.in_flight.fetch_sub(1, Ordering::AcqRel) == 1 {
            let tick = activity.ticks.fetch_add(1, Ordering::Relaxed);
            activity.idle_since.store(tick, Ordering::Relaxed);
        }
    }
}

/// A response body that keeps its request counted in flight until hyper drops it.
struct TrackedBody {
    inner: Body,
    _in_flight: InFlight,
}

impl hyper::body::Body for TrackedBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Bytes>, axum::Error>>> {
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The router as a hyper service that counts the connection's requests in flight.
struct TrackedService {
    inner: TowerToHyperService<Router>,
    activity: Arc<Activity>,
}

type ResponseFuture = Pin<
    Box<dyn Future<Output = std::result::Result<hyper::Response<TrackedBody>, Infallible>> + Send>,
>;

impl Service<hyper::Request<Incoming>> for TrackedService {
    type Response = hyper::Response<TrackedBody>;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, request: hyper::Request<Incoming>) -> Self::Future {
        let in_flight = InFlight::start(&self.activity);
        let response = self.inner.call(request);
        Box::pin(async move {
            let response = response.await?;
            Ok(response.map(|inner| TrackedBody {
                inner,
                _in_flight: in_flight,
            }))
        })
    }
}

/// An open connection as the accept loop sees it.
struct Open {
    activity: Arc<Activity>,
    /// Cancelled to close the connection (shed for a newer one).
    close: CancellationToken,
}

/// The open connections of one listener.
#[derive(Default)]
struct Connections {
    next_id: u64,
    open: HashMap<u64, Open>,
}

/// What to do with a newly accepted connection.
enum Admission {
    /// Serve it (as connection `id`); `shed` tells whether an idle connection was closed.
    Serve { id: u64, shed: bool },
    /// Every open connection is busy: refuse it.
    Refuse,
}

impl Connections {
    /// Makes room for a new connection (closing the longest-idle one at the cap) and
    /// registers it.
    fn admit(
        &mut self,
        max: usize,
        activity: &Arc<Activity>,
        close: &CancellationToken,
    ) -> Admission {
        let mut shed = false;
        if self.open.len() >= max {
            let victim = self
                .open
                .iter()
                .filter(|(_, open)| open.activity.is_idle())
                .min_by_key(|(_, open)| open.activity.idle_since.load(Ordering::Relaxed))
                .map(|(id, _)| *id);
            let Some(victim) = victim.and_then(|id| self.open.remove(&id)) else {
                return Admission::Refuse;
            };
            victim.close.cancel();
            shed = true;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.open.insert(
            id,
            Open {
                activity: activity.clone(),
                close: close.clone(),
            },
        );
        Admission::Serve { id, shed }
    }
}

/// Answers `503` on a connection refused for lack of room and closes it. Never blocks: the
/// socket is non-blocking and the answer fits in a fresh socket's send buffer.
fn refuse(stream: TcpStream) {
    use std::io::{Read, Write};
    // Out of the reactor: plain non-blocking system calls, which see data the reactor has
    // not reported yet.
    let Ok(mut stream) = stream.into_std() else {
        return;
    };
    // Read what already arrived, so that closing does not reset the connection (and lose the
    // answer) because of unread data.
    let mut scratch = [0u8; 4096];
    for _ in 0..16 {
        match stream.read(&mut scratch) {
            Ok(n) if n > 0 => {}
            _ => break,
        }
    }
    let _ = stream.write(&busy_response());
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
    let max_connections = limits.max_connections.max(1);
    let connections = Arc::new(Mutex::new(Connections::default()));
    let ticks = Arc::new(AtomicU64::new(0));
    let tracker = TaskTracker::new();
    // Cancelled when the shutdown grace is over: connections still open are dropped.
    let abort = CancellationToken::new();
    let mut cap_reported = false;
    loop {
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
        let activity = Arc::new(Activity::new(ticks.clone()));
        let close = CancellationToken::new();
        let admission = connections.lock().admit(max_connections, &activity, &close);
        let id = match admission {
            Admission::Refuse => {
                tracing::debug!(%peer, server, "every connection busy: new connection refused (503)");
                refuse(stream);
                continue;
            }
            Admission::Serve { id, shed } => {
                if shed && !cap_reported {
                    cap_reported = true;
                    tracing::warn!(
                        %addr,
                        server,
                        max_connections,
                        "connection cap reached: closing the longest-idle connections for new ones"
                    );
                }
                id
            }
        };
        let service = TrackedService {
            inner: TowerToHyperService::new(router.clone()),
            activity: activity.clone(),
        };
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(TokioIo::new(stream), service);
        let connections = connections.clone();
        let shutdown = shutdown.clone();
        let abort = abort.clone();
        // One short-lived task per connection, like any HTTP server; it ends with the connection.
        tracker.spawn(async move {
            let mut connection = std::pin::pin!(connection);
            let ended = tokio::select! {
                ended = connection.as_mut() => Some(ended),
                () = close.cancelled() => None,
                () = shutdown.cancelled() => None,
            };
            let ended = match ended {
                Some(ended) => ended,
                // Nothing in flight: close now (dropping the connection closes the socket).
                None if activity.is_idle() => Ok(()),
                // A request in flight: let it finish, then close.
                None => {
                    connection.as_mut().graceful_shutdown();
                    tokio::select! {
                        ended = connection.as_mut() => ended,
                        () = abort.cancelled() => Ok(()),
                    }
                }
            };
            if let Err(error) = ended {
                tracing::debug!(%peer, server, %error, "connection ended with an error");
            }
            connections.lock().open.remove(&id);
        });
    }
    drop(listener);
    tracker.close();
    tokio::select! {
        () = tracker.wait() => tracing::info!(%addr, server, "HTTP server stopped"),
        () = tokio::time::sleep(limits.shutdown_grace) => {
            abort.cancel();
            tracing::warn!(
                %addr,
                server,
                grace_ms = limits.shutdown_grace.as_millis() as u64,
                "connections still open after the shutdown grace period; dropping them"
            );
        }
    }
    Ok(())
}
