//! Test fixtures shared by the integration tests: fresh stores on both backends, each test in
//! its own SQLite file or PostgreSQL schema (dropped afterwards) so tests run in parallel and
//! repeatably.

#![expect(
    dead_code,
    reason = "each test binary uses a different subset of the fixtures"
)]

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use slashing_protection::{
    PostgresConfig, PostgresStore, SlashingProtection, SqliteConfig, SqliteStore,
};
use types::{Hash256, PublicKeyBytes};

/// Which backend a test runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }
}

fn ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true")
}

/// `DATABASE_URL`, or `None` after a loud SKIPPED line; under `CI=true` its absence panics.
pub(crate) fn database_url(test: &str) -> Option<String> {
    match std::env::var("DATABASE_URL") {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            assert!(
                !ci(),
                "DATABASE_URL is not set: CI=true requires the PostgreSQL tests ({test})"
            );
            // Straight to the process's stderr: libtest captures `eprintln!` of passing tests,
            // and a skip must never look like a silent pass.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: PostgreSQL test {test}: set DATABASE_URL \
                 (e.g. postgres://postgres@127.0.0.1:5432/test) to run it ***\n"
            );
            None
        }
    }
}

/// A schema name unique to this process and call.
pub(crate) fn unique_schema(prefix: &str) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "t_{prefix}_{}_{}_{nanos}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    )
}

/// Drops its PostgreSQL schema when dropped (from a helper thread: `Drop` cannot await).
pub(crate) struct SchemaGuard {
    pub(crate) url: String,
    pub(crate) schema: String,
}

impl SchemaGuard {
    pub(crate) fn new(url: &str, prefix: &str) -> Self {
        Self {
            url: url.to_owned(),
            schema: unique_schema(prefix),
        }
    }

    pub(crate) fn config(&self) -> PostgresConfig {
        PostgresConfig::from_url(&self.url)
            .expect("DATABASE_URL parses")
            .with_schema(self.schema.clone())
    }
}

impl Drop for SchemaGuard {
    fn drop(&mut self) {
        let url = self.url.clone();
        let schema = self.schema.clone();
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            runtime.block_on(async move {
                let (client, connection) =
                    tokio_postgres::connect(&url, tokio_postgres::NoTls).await?;
                tokio::spawn(connection);
                client
                    .batch_execute(&format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE"))
                    .await
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("warning: could not drop test schema {}", self.schema);
        }
    }
}

/// A fresh store and whatever must outlive it (temporary directory or schema guard).
pub(crate) struct TestStore {
    pub(crate) store: Arc<dyn SlashingProtection>,
    pub(crate) sqlite: Option<SqliteStore>,
    _dir: Option<tempfile::TempDir>,
    _schema: Option<SchemaGuard>,
}

impl TestStore {
    pub(crate) fn store(&self) -> &dyn SlashingProtection {
        self.store.as_ref()
    }
}

/// A fresh SQLite store in its own temporary directory.
pub(crate) async fn sqlite(gvr: Hash256) -> TestStore {
    let dir = tempfile::tempdir().expect("temporary directory");
    let store = SqliteStore::open(
        dir.path().join("slashing.sqlite"),
        gvr,
        SqliteConfig::default(),
    )
    .await
    .expect("open SQLite store");
    TestStore {
        store: Arc::new(store.clone()),
        sqlite: Some(store),
        _dir: Some(dir),
        _schema: None,
    }
}

/// A fresh PostgreSQL store in its own schema, or `None` (SKIPPED) without `DATABASE_URL`.
pub(crate) async fn postgres(gvr: Hash256, test: &str) -> Option<TestStore> {
    let url = database_url(test)?;
    let guard = SchemaGuard::new(&url, "sp");
    let store = PostgresStore::connect(guard.config(), gvr)
        .await
        .expect("connect PostgreSQL store");
    Some(TestStore {
        store: Arc::new(store),
        sqlite: None,
        _dir: None,
        _schema: Some(guard),
    })
}

/// A fresh store on `backend` (`None` only for PostgreSQL without `DATABASE_URL`).
pub(crate) async fn fresh(backend: Backend, gvr: Hash256, test: &str) -> Option<TestStore> {
    match backend {
        Backend::Sqlite => Some(sqlite(gvr).await),
        Backend::Postgres => postgres(gvr, test).await,
    }
}

/// A deterministic test public key.
pub(crate) fn pubkey(i: u64) -> PublicKeyBytes {
    let mut bytes = [0u8; 48];
    bytes[0] = 0xa0;
    bytes[40..].copy_from_slice(&i.to_be_bytes());
    PublicKeyBytes::from(bytes)
}

/// A deterministic non-zero signing root.
pub(crate) fn root(i: u64) -> Hash256 {
    let mut bytes = [0u8; 32];
    bytes[0] = 0x01;
    bytes[24..].copy_from_slice(&i.to_be_bytes());
    Hash256::from(bytes)
}

/// A multi-threaded runtime for one test.
pub(crate) fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}
