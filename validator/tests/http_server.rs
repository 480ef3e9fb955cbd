//! Connection-level limits of the accept loop every HTTP server uses: a client that does not
//! send its request headers in time (at the start or between keep-alive requests) is dropped;
//! at the connection cap a new connection closes the longest-idle one and is served at once,
//! or is answered 503 when every connection is busy; shutdown stops accepting at once.
//!
//! Time only bounds hangs here (`HANG_GUARD`); outcomes are counted.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use validator::http::{ServerLimits, serve_with_limits};

/// Only guards against a hang; never a pass criterion.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// Long enough that no connection of a test times out by itself.
const NEVER: Duration = Duration::from_secs(3600);

struct Server {
    addr: std::net::SocketAddr,
    token: CancellationToken,
    task: tokio::task::JoinHandle<()>,
    /// `/hold` requests that have started.
    held: Arc<AtomicUsize>,
    /// Permits released to let `/hold` requests finish.
    release: Arc<Semaphore>,
}

impl Server {
    async fn stop(self) {
        self.token.cancel();
        guarded("server stop", self.task).await.unwrap();
        assert!(
            TcpStream::connect(self.addr).await.is_err(),
            "listener closed"
        );
    }
}

async fn start(limits: ServerLimits) -> Server {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let held = Arc::new(AtomicUsize::new(0));
    let release = Arc::new(Semaphore::new(0));
    let router = Router::new()
        .route("/ping", get(|| async { "pong" }))
        .route(
            "/hold",
            get({
                let held = held.clone();
                let release = release.clone();
                move || async move {
                    held.fetch_add(1, Ordering::SeqCst);
                    release.acquire().await.unwrap().forget();
                    "released"
                }
            }),
        );
    let shutdown = token.clone();
    let task = tokio::spawn(async move {
        serve_with_limits(listener, router, shutdown, limits)
            .await
            .unwrap();
    });
    Server {
        addr,
        token,
        task,
        held,
        release,
    }
}

async fn guarded<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(HANG_GUARD, future)
        .await
        .unwrap_or_else(|_| panic!("{what}: no outcome"))
}

/// Sends `GET path` asking the server to close afterwards; the whole answer.
async fn get_and_close(stream: &mut TcpStream, path: &str) -> String {
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .unwrap();
    let mut out = String::new();
    guarded(path, stream.read_to_string(&mut out))
        .await
        .unwrap();
    out
}

/// Sends `GET /ping` on a kept-alive connection and reads its answer (ending in `pong`).
async fn ping_keep_alive(stream: &mut TcpStream) {
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut out = Vec::new();
    let mut buf = [0u8; 1024];
    while !out.ends_with(b"pong") {
        let n = guarded("keep-alive ping", stream.read(&mut buf))
            .await
            .unwrap();
        assert!(
            n > 0,
            "closed before the answer: {}",
            String::from_utf8_lossy(&out)
        );
        out.extend_from_slice(&buf[..n]);
    }
    assert!(
        out.starts_with(b"HTTP/1.1 200"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

/// Waits until the server closes `stream` (end of stream or reset).
async fn closed_by_server(stream: &mut TcpStream) {
    let mut buf = [0u8; 256];
    loop {
        match guarded("connection close", stream.read(&mut buf)).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

/// Whether the server has closed `stream` already (never waits).
fn is_closed(stream: &TcpStream) -> bool {
    let mut buf = [0u8; 1];
    match stream.try_read(&mut buf) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != std::io::ErrorKind::WouldBlock,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_dropped() {
    let server = start(ServerLimits {
        header_read_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    })
    .await;
    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = guarded("slow headers", slow.read_to_end(&mut buf)).await;
    assert!(read.is_err() || buf.is_empty() || String::from_utf8_lossy(&buf).contains("408"));
    let mut fast = TcpStream::connect(server.addr).await.unwrap();
    assert!(get_and_close(&mut fast, "/ping").await.ends_with("pong"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connections_time_out_before_and_between_requests() {
    let server = start(ServerLimits {
        header_read_timeout: Duration::from_millis(300),
        ..ServerLimits::default()
    })
    .await;
    // Never sends a byte.
    let mut silent = TcpStream::connect(server.addr).await.unwrap();
    // Kept alive after one request, then silent.
    let mut kept = TcpStream::connect(server.addr).await.unwrap();
    ping_keep_alive(&mut kept).await;
    closed_by_server(&mut silent).await;
    closed_by_server(&mut kept).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundreds_of_idle_connections_do_not_delay_a_request() {
    const CAP: usize = 64;
    const IDLE: usize = 500;
    let server = start(ServerLimits {
        max_connections: CAP,
        header_read_timeout: NEVER,
        ..ServerLimits::default()
    })
    .await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(server.addr).await.unwrap());
    }
    // Served although every slot was taken by an idle connection.
    let mut client = TcpStream::connect(server.addr).await.unwrap();
    let answer = get_and_close(&mut client, "/ping").await;
    assert!(
        answer.starts_with("HTTP/1.1 200") && answer.ends_with("pong"),
        "{answer}"
    );

    // Limited: the oldest ones were closed to make room, one per newer connection.
    let shed = IDLE + 1 - CAP;
    for (i, stream) in idle.iter_mut().take(shed).enumerate() {
        guarded(&format!("idle connection {i}"), closed_by_server(stream)).await;
    }
    let still_open = idle.iter().skip(shed).filter(|s| !is_closed(s)).count();
    assert_eq!(still_open, CAP - 1, "the newest idle connections stay open");
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_longest_idle_connection_is_closed_first() {
    let server = start(ServerLimits {
        max_connections: 2,
        header_read_timeout: NEVER,
        ..ServerLimits::default()
    })
    .await;
    let mut older = TcpStream::connect(server.addr).await.unwrap();
    let mut younger = TcpStream::connect(server.addr).await.unwrap();
    // The older connection is used after the younger one was opened: the younger has been
    // idle longer.
    ping_keep_alive(&mut older).await;
    let mut third = TcpStream::connect(server.addr).await.unwrap();
    closed_by_server(&mut younger).await;
    assert!(get_and_close(&mut third, "/ping").await.ends_with("pong"));
    // The used connection still works.
    ping_keep_alive(&mut older).await;
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn busy_connections_are_kept_and_new_ones_refused_at_once() {
    let server = start(ServerLimits {
        max_connections: 2,
        header_read_timeout: NEVER,
        ..ServerLimits::default()
    })
    .await;
    let mut busy: Vec<TcpStream> = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream
            .write_all(b"GET /hold HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
            .await
            .unwrap();
        busy.push(stream);
    }
    guarded("both requests in flight", async {
        while server.held.load(Ordering::SeqCst) < 2 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    // No room and nothing idle: refused with a 503, not queued. (This client sends nothing:
    // a request arriving after the refusal could reset the connection before it is read.)
    let mut refused = TcpStream::connect(server.addr).await.unwrap();
    let mut answer = String::new();
    guarded("refusal", refused.read_to_string(&mut answer))
        .await
        .unwrap();
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(answer.to_lowercase().contains("retry-after: 1"), "{answer}");
    assert!(answer.ends_with("\"}"), "the whole JSON body: {answer}");
    let body = &answer[answer.find("\r\n\r\n").unwrap() + 4..];
    let json: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(json["code"], 503);

    // The busy requests were not cut: both finish.
    server.release.add_permits(2);
    for stream in &mut busy {
        let mut out = String::new();
        guarded("held request", stream.read_to_string(&mut out))
            .await
            .unwrap();
        assert!(
            out.starts_with("HTTP/1.1 200") && out.ends_with("released"),
            "{out}"
        );
    }
    let mut later = TcpStream::connect(server.addr).await.unwrap();
    assert!(get_and_close(&mut later, "/ping").await.ends_with("pong"));
    server.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_closes_idle_connections_and_lets_requests_finish() {
    let server = start(ServerLimits {
        header_read_timeout: NEVER,
        shutdown_grace: HANG_GUARD,
        ..ServerLimits::default()
    })
    .await;
    let mut idle = TcpStream::connect(server.addr).await.unwrap();
    let mut busy = TcpStream::connect(server.addr).await.unwrap();
    busy.write_all(b"GET /hold HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    guarded("request in flight", async {
        while server.held.load(Ordering::SeqCst) < 1 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    server.token.cancel();
    closed_by_server(&mut idle).await;
    server.release.add_permits(1);
    let mut out = String::new();
    guarded("request finishing", busy.read_to_string(&mut out))
        .await
        .unwrap();
    assert!(
        out.starts_with("HTTP/1.1 200") && out.ends_with("released"),
        "{out}"
    );
    guarded("server stop", server.task).await.unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "listener closed"
    );
}
