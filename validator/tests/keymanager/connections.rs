//! Idle connections cannot keep an authenticated request waiting: the Keymanager API's
//! listener goes through the shared accept loop, where past the cap the longest-idle
//! connection is closed for the new one. (The loop's rules themselves — shedding order, counts
//! without any timeout involved, refusal when everything is busy — are proven in
//! `tests/http_server.rs`.)

use std::time::Duration;

use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use types::ForkName;

use crate::harness::{self, Api, pubkey};

/// Only guards against a hang; never a pass criterion.
const HANG_GUARD: Duration = Duration::from_secs(120);

#[tokio::test]
async fn hundreds_of_idle_connections_do_not_delay_an_authenticated_request() {
    const IDLE: usize = 500;
    let node = harness::mock(ForkName::Deneb).await;
    let dir = tempfile::tempdir().unwrap();
    harness::write_keystores(dir.path(), 0, 1);
    let config = harness::config(dir.path(), &node, 0, false);
    let running = harness::start(&config).await;
    let mut idle = Vec::with_capacity(IDLE);
    for _ in 0..IDLE {
        idle.push(TcpStream::connect(running.addr).await.unwrap());
    }
    let api = Api::new(running.addr, dir.path());
    let listed = tokio::time::timeout(HANG_GUARD, api.local_keys())
        .await
        .expect("the request is served");
    assert_eq!(listed, vec![pubkey(0)]);

    // The oldest idle connections were closed to make room (the Keymanager API keeps at most
    // 64 connections): at least IDLE - 64 of them, oldest first.
    let mut buf = [0u8; 16];
    for (i, stream) in idle.iter_mut().take(IDLE - 64).enumerate() {
        let read = tokio::time::timeout(HANG_GUARD, stream.read(&mut buf))
            .await
            .unwrap_or_else(|_| panic!("idle connection {i} is still open"));
        assert!(matches!(read, Ok(0) | Err(_)), "connection {i}: {read:?}");
    }
    running.stop().await;
}
