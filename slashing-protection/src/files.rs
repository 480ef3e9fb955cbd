//! Interchange files: what `poolvc slashing-protection import|export` needs.
//!
//! Invariants: an import reads at most `max_bytes` (a larger file is refused before parsing)
//! and changes the database only if the whole file is valid; an export is written to a
//! temporary file in the destination directory, synced, then renamed into place, so a crash
//! never leaves a truncated interchange file behind.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::interchange::{ImportSummary, Interchange};
use crate::{ExportScope, SlashingProtection};

/// Default import size cap: 1 GiB. Far above any minified export; raise it only for full
/// histories of very many keys.
pub const DEFAULT_MAX_IMPORT_BYTES: u64 = 1 << 30;

/// What to do when the export destination already exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExistingFile {
    /// Fail with [`Error::FileExists`].
    Refuse,
    /// Replace it atomically.
    Replace,
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> Error + '_ {
    move |source| Error::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Reads and validates an interchange file without touching any database.
pub fn read_interchange(path: &Path, max_bytes: u64) -> Result<Interchange> {
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    let too_large = || Error::InterchangeTooLarge {
        path: path.to_path_buf(),
        limit: max_bytes,
    };
    let len = file.metadata().map_err(io_error(path))?.len();
    if len > max_bytes {
        return Err(too_large());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(io_error(path))?;
    if bytes.len() as u64 > max_bytes {
        return Err(too_large());
    }
    Interchange::from_json_slice(&bytes)
}

/// Imports an interchange file into `store`: the whole file is read and validated first
/// (size, JSON, version, hex, ranges, genesis validators root), then imported in one
/// transaction. On any error the database is unchanged.
pub async fn import_file(
    store: &dyn SlashingProtection,
    path: &Path,
    max_bytes: u64,
) -> Result<ImportSummary> {
    let owned = path.to_path_buf();
    let interchange =
        tokio::task::spawn_blocking(move || read_interchange(&owned, max_bytes)).await??;
    store.import_interchange(&interchange).await
}

/// Exports `scope` from `store` to `path` (EIP-3076 v5 JSON) and returns how many validators
/// were written. Export while no instance signs with these keys.
pub async fn export_file(
    store: &dyn SlashingProtection,
    path: &Path,
    scope: ExportScope<'_>,
    existing: ExistingFile,
) -> Result<usize> {
    if existing == ExistingFile::Refuse && path.exists() {
        return Err(Error::FileExists(path.to_path_buf()));
    }
    let interchange = store.export_interchange(scope).await?;
    let count = interchange.data.len();
    let json = interchange.to_json_pretty()?;
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || write_atomically(&path, &json, existing)).await??;
    Ok(count)
}

fn write_atomically(path: &Path, bytes: &[u8], existing: ExistingFile) -> Result<()> {
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .ok_or_else(|| Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a file path"),
        })?
        .to_string_lossy()
        .into_owned();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let result = (|| {
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&tmp)
            .map_err(io_error(&tmp))?;
        file.write_all(bytes).map_err(io_error(&tmp))?;
        file.sync_all().map_err(io_error(&tmp))?;
        if existing == ExistingFile::Refuse {
            // `hard_link` fails if the destination exists: no race with another writer.
            std::fs::hard_link(&tmp, path).map_err(|source| {
                if source.kind() == std::io::ErrorKind::AlreadyExists {
                    Error::FileExists(path.to_path_buf())
                } else {
                    io_error(path)(source)
                }
            })?;
            std::fs::remove_file(&tmp).map_err(io_error(&tmp))?;
        } else {
            std::fs::rename(&tmp, path).map_err(io_error(path))?;
        }
        std::fs::File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(io_error(&dir))
    })();
    if result.is_err() {
        // Best effort: the temporary file is ours and useless after a failure.
        let _ = std::fs::remove_file(&tmp);
    }
    result
}
