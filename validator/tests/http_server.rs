//! Connection-level limits of the reports server: a client that does not finish its request
//! headers is dropped, connections beyond the cap wait for a free slot, and shutdown stops
//! accepting at once.

use std::time::Duration;

use axum::Router;
use axum::routing::get;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;
use validator::http::{ServerLimits, serve_with_limits};

async fn start(
    limits: ServerLimits,
) -> (
    std::net::SocketAddr,
    CancellationToken,
    tokio::task::JoinHandle<()>,
) {
    let listener = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
    let addr = listener.local_addr().unwrap();
    let token = CancellationToken::new();
    let router = Router::new().route("/ping", get(|| async { "pong" }));
    let shutdown = token.clone();
    let task = tokio::spawn(async move {
        serve_with_limits(listener, router, shutdown, limits)
            .await
            .unwrap();
    });
    (addr, token, task)
}

async fn ping(stream: &mut TcpStream) -> String {
    stream
        .write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut out = String::new();
    stream.read_to_string(&mut out).await.unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_dropped() {
    let (addr, token, task) = start(ServerLimits {
        header_read_timeout: Duration::from_millis(200),
        ..ServerLimits::default()
    })
    .await;
    let mut slow = TcpStream::connect(addr).await.unwrap();
    slow.write_all(b"GET /ping HTTP/1.1\r\nhost: x\r\n")
        .await
        .unwrap();
    let mut buf = Vec::new();
    let read = tokio::time::timeout(Duration::from_secs(5), slow.read_to_end(&mut buf))
        .await
        .expect("the server closes the connection");
    assert!(read.is_err() || buf.is_empty() || String::from_utf8_lossy(&buf).contains("408"));
    let mut fast = TcpStream::connect(addr).await.unwrap();
    assert!(ping(&mut fast).await.ends_with("pong"));
    token.cancel();
    task.await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_beyond_the_cap_wait_for_a_slot() {
    let (addr, token, task) = start(ServerLimits {
        max_connections: 1,
        header_read_timeout: Duration::from_secs(30),
        ..ServerLimits::default()
    })
    .await;
    let idle = TcpStream::connect(addr).await.unwrap();
    // Let the server accept the idle connection and take the only slot.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut second = TcpStream::connect(addr).await.unwrap();
    let waiting = tokio::spawn(async move { ping(&mut second).await });
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiting.is_finished(), "served beyond the connection cap");
    drop(idle);
    let reply = tokio::time::timeout(Duration::from_secs(5), waiting)
        .await
        .expect("served once a slot frees")
        .unwrap();
    assert!(reply.ends_with("pong"));
    token.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("stops")
        .unwrap();
    assert!(TcpStream::connect(addr).await.is_err(), "listener closed");
}
