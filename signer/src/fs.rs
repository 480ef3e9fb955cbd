//! Files that hold secrets: created with mode 0600 from the start (never chmod-ed after the
//! fact, so there is no window where they are readable by others).

use std::fs::{self, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use crate::{Error, Result};

/// Creates `path` (which must not exist) with mode 0600 and writes `contents`.
pub fn create_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| Error::io("create", path, e))?;
    file.write_all(contents)
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io("write", path, e))
}

/// Replaces `path` atomically: writes a 0600 temporary file beside it, syncs, renames.
pub fn replace_secret_file(path: &Path, contents: &[u8]) -> Result<()> {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{file_name}.tmp-{}", std::process::id()));
    // A stale temporary from a crashed run would make create_new fail.
    let _ = fs::remove_file(&tmp);
    create_secret_file(&tmp, contents)?;
    fs::rename(&tmp, path).map_err(|e| {
        let _ = fs::remove_file(&tmp);
        Error::io("rename into", path, e)
    })
}
