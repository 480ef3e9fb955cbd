//! `poolvc slashing-protection import|export`: EIP-3076 interchange files, wired to the
//! slashing-protection crate's `import_file`/`export_file`.
//!
//! Invariants: an import reads and validates the whole file before opening the database, and
//! changes the database only if everything is valid (the crate imports in one transaction); an
//! export never creates a database: the SQLite file must exist, and a PostgreSQL export names
//! the chain with `--genesis-validators-root`.

use std::path::PathBuf;
use std::sync::Arc;

use clap::{Args, Subcommand};
use slashing_protection::{
    DEFAULT_MAX_IMPORT_BYTES, ExistingFile, ExportScope, ImportSummary, PostgresConfig,
    PostgresStore, SlashingProtection, SqliteConfig, SqliteStore, export_file, read_interchange,
};
use types::Hash256;

use super::run::slashing_db;
use crate::config::SlashingDb;
use crate::error::{Error, Result};

/// `poolvc slashing-protection ...`.
#[derive(Debug, Subcommand)]
pub enum SlashingProtectionCommand {
    /// Import an interchange file (all or nothing).
    Import(ImportArgs),
    /// Export every validator's history to an interchange file (stop the client first).
    Export(ExportArgs),
}

/// Which database.
#[derive(Debug, Args)]
pub struct DbArgs {
    /// The data directory holding the default SQLite database.
    #[arg(
        long,
        required_unless_present = "slashing_db",
        conflicts_with = "slashing_db"
    )]
    pub datadir: Option<PathBuf>,
    /// An SQLite file path or a `postgres://` URL.
    #[arg(long, env = "POOLVC_SLASHING_DB")]
    pub slashing_db: Option<String>,
}

/// `poolvc slashing-protection import`.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The interchange file.
    #[arg(long)]
    pub file: PathBuf,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
}

/// `poolvc slashing-protection export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The interchange file to write.
    #[arg(long)]
    pub file: PathBuf,
    /// The database.
    #[command(flatten)]
    pub db: DbArgs,
    /// The chain's genesis validators root (required for PostgreSQL; for SQLite it is read from
    /// the database).
    #[arg(long)]
    pub genesis_validators_root: Option<Hash256>,
    /// Replace the file if it exists.
    #[arg(long)]
    pub force: bool,
}

impl DbArgs {
    fn target(&self) -> SlashingDb {
        let datadir = self.datadir.clone().unwrap_or_default();
        slashing_db(self.slashing_db.as_deref(), &datadir)
    }
}

/// Opens (or, for SQLite imports, creates) the database bound to `gvr`.
async fn open(db: &SlashingDb, gvr: Hash256) -> Result<Arc<dyn SlashingProtection>> {
    Ok(match db {
        SlashingDb::Sqlite(path) => {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Error::io("create directory", parent, e))?;
            }
            Arc::new(SqliteStore::open(path, gvr, SqliteConfig::default()).await?)
        }
        SlashingDb::Postgres(url) => {
            Arc::new(PostgresStore::connect(PostgresConfig::from_url(url)?, gvr).await?)
        }
    })
}

/// Imports `args.file`; the database is untouched unless the whole file is valid.
pub async fn import(args: &ImportArgs) -> Result<ImportSummary> {
    let path = args.file.clone();
    let interchange =
        tokio::task::spawn_blocking(move || read_interchange(&path, DEFAULT_MAX_IMPORT_BYTES))
            .await
            .map_err(|e| Error::Config(format!("the import task failed: {e}")))?
            .map_err(|source| Error::Import {
                path: args.file.clone(),
                source,
            })?;
    let db = args.db.target();
    let store = open(&db, interchange.metadata.genesis_validators_root).await?;
    let summary = store
        .import_interchange(&interchange)
        .await
        .map_err(|source| Error::Import {
            path: args.file.clone(),
            source,
        })?;
    tracing::info!(
        file = %args.file.display(),
        database = %db,
        validators = summary.validators,
        blocks = summary.blocks,
        attestations = summary.attestations,
        "slashing protection imported"
    );
    Ok(summary)
}

/// Exports every validator to `args.file`; returns how many were written.
pub async fn export(args: &ExportArgs) -> Result<usize> {
    let db = args.db.target();
    let gvr = match (&db, args.genesis_validators_root) {
        (_, Some(gvr)) => gvr,
        (SlashingDb::Sqlite(path), None) => sqlite_gvr(path).await?,
        (SlashingDb::Postgres(_), None) => {
            return Err(Error::Config(
                "exporting from PostgreSQL needs --genesis-validators-root".into(),
            ));
        }
    };
    if let SlashingDb::Sqlite(path) = &db
        && !path.exists()
    {
        return Err(Error::Config(format!(
            "no slashing protection database at {}",
            path.display()
        )));
    }
    let store = open(&db, gvr).await?;
    let existing = if args.force {
        ExistingFile::Replace
    } else {
        ExistingFile::Refuse
    };
    let count = export_file(store.as_ref(), &args.file, ExportScope::All, existing).await?;
    tracing::info!(file = %args.file.display(), database = %db, validators = count, "slashing protection exported");
    Ok(count)
}

/// The genesis validators root an existing SQLite database is bound to: opening it with another
/// root fails naming the stored one (and changes nothing).
async fn sqlite_gvr(path: &std::path::Path) -> Result<Hash256> {
    if !path.exists() {
        return Err(Error::Config(format!(
            "no slashing protection database at {}",
            path.display()
        )));
    }
    // A root no chain has: the mismatch error names the real one.
    let probe = Hash256::repeat_byte(0xff);
    match SqliteStore::open(path, probe, SqliteConfig::default()).await {
        // Only a database without any chain binding accepts the probe: nothing to export.
        Ok(_) => Err(Error::Config(format!(
            "{} holds no slashing protection data",
            path.display()
        ))),
        Err(slashing_protection::Error::GenesisValidatorsRootMismatch { stored, .. }) => Ok(stored),
        Err(error) => Err(error.into()),
    }
}
