//! The signer on PostgreSQL slashing protection shared with another instance (a `poolvc run`
//! or a second signer, here a second store on the same database): whatever one of them
//! recorded, the other refuses to contradict. Needs `DATABASE_URL`; without it the test prints a
//! loud SKIPPED line (and fails under `CI=true`).

#[expect(
    dead_code,
    reason = "the shared helpers are used in part by each test binary"
)]
mod common;

use std::io::Write;
use std::sync::Arc;

use axum::http::StatusCode;
use common::{E, Options, TestSigner, attestation_data, fork_info, gvr, pubkey};
use serde_json::{Value, json};
use slashing_protection::{AttestationRequest, PostgresConfig, PostgresStore, SlashingProtection};
use types::{Epoch, Hash256};

fn database_url() -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                std::env::var("CI").map_or(true, |v| v != "true"),
                "DATABASE_URL is not set: CI=true requires the PostgreSQL tests"
            );
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PostgreSQL test shared_database: set DATABASE_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) to run it ***\n"
            );
            None
        }
    }
}

fn attestation(target: u64, byte: u8) -> Value {
    json!({
        "type": "ATTESTATION",
        "fork_info": fork_info(target),
        "attestation": attestation_data(target * 8 + 1, 0, target - 1, target, byte),
    })
}

/// Drops the test's schema at the end.
struct Schema {
    url: String,
    name: String,
}

impl Drop for Schema {
    fn drop(&mut self) {
        let (url, name) = (self.url.clone(), self.name.clone());
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{name}\" CASCADE"))
                    .await
            })
        })
        .join();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn instances_sharing_postgres_never_contradict_each_other() {
    let Some(url) = database_url() else {
        return;
    };
    let schema = Schema {
        url: url.clone(),
        name: format!("t_signer_{}_{}", std::process::id(), rand_suffix()),
    };
    let config = || {
        PostgresConfig::from_url(&url)
            .expect("DATABASE_URL parses")
            .with_schema(schema.name.clone())
    };
    let signer_store: Arc<dyn SlashingProtection> = Arc::new(
        PostgresStore::connect(config(), gvr())
            .await
            .expect("connect"),
    );
    let other = PostgresStore::connect(config(), gvr())
        .await
        .expect("connect");
    let signer = TestSigner::<E>::start(Options {
        slashing: Some(signer_store),
        ..Options::default()
    })
    .await;
    let key = pubkey(0);

    // The other instance votes first for target 5: the signer refuses another vote for it.
    other.register_validators(&[key]).await.unwrap();
    let recorded = other
        .check_and_insert_attestations(&[AttestationRequest {
            pubkey: key,
            source: Epoch(4),
            target: Epoch(5),
            signing_root: Hash256::repeat_byte(0x77),
        }])
        .await
        .unwrap();
    assert!(recorded[0].is_ok(), "{recorded:?}");
    let (status, body) = signer.sign(&key, &attestation(5, 1)).await;
    assert_eq!(status, StatusCode::PRECONDITION_FAILED, "{body}");

    // The signer votes for target 6: the other instance cannot contradict it.
    let (status, body) = signer.sign(&key, &attestation(6, 1)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let refused = other
        .check_and_insert_attestations(&[AttestationRequest {
            pubkey: key,
            source: Epoch(5),
            target: Epoch(6),
            signing_root: Hash256::repeat_byte(0x78),
        }])
        .await
        .unwrap();
    assert!(refused[0].is_err(), "{refused:?}");
    signer.stop().await;
}

fn rand_suffix() -> u32 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos())
}
