//! The node's libp2p identity: an ed25519 key in the data directory, created 0600 on first
//! start and reused after.
//!
//! The file holds the 32-byte secret as 64 hex digits. A file readable by group or others,
//! or not holding exactly one key, is refused with an error naming the file (never its
//! content); key bytes are zeroized after use.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use libp2p::identity::{Keypair, ed25519};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The identity file's name in the data directory.
pub const IDENTITY_FILE: &str = "oracle-node-key";

/// Whether [`load_or_create_identity`] made a new key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentitySource {
    /// Read from the existing file.
    Loaded,
    /// Generated and written (first start).
    Created,
}

fn identity_error(path: &Path, message: impl Into<String>) -> Error {
    Error::Identity {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// Loads the identity in `datadir`, creating it (0600) when absent.
pub fn load_or_create_identity(datadir: &Path) -> Result<(Keypair, IdentitySource)> {
    let path: PathBuf = datadir.join(IDENTITY_FILE);
    match File::open(&path) {
        Ok(file) => Ok((read_identity(&path, file)?, IdentitySource::Loaded)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((create_identity(&path)?, IdentitySource::Created))
        }
        Err(e) => Err(identity_error(&path, format!("cannot open: {e}"))),
    }
}

fn read_identity(path: &Path, file: File) -> Result<Keypair> {
    let mode = file
        .metadata()
        .map_err(|e| identity_error(path, format!("cannot read its metadata: {e}")))?
        .permissions()
        .mode()
        & 0o777;
    if mode & 0o077 != 0 {
        return Err(identity_error(
            path,
            format!(
                "permissions {mode:04o} are too open: the key must be readable by its owner only (chmod 600)"
            ),
        ));
    }
    let mut text = Zeroizing::new(String::new());
    file.take(1024)
        .read_to_string(&mut text)
        .map_err(|e| identity_error(path, format!("cannot read: {e}")))?;
    let digits = text.trim();
    if digits.len() != 64 {
        return Err(identity_error(
            path,
            format!(
                "corrupt: expected 64 hex digits (an ed25519 secret key), found {} characters",
                digits.len()
            ),
        ));
    }
    let mut bytes = Zeroizing::new([0u8; 32]);
    hex::decode_to_slice(digits, bytes.as_mut())
        .map_err(|_| identity_error(path, "corrupt: not hexadecimal"))?;
    let secret = ed25519::SecretKey::try_from_bytes(bytes.as_mut())
        .map_err(|e| identity_error(path, format!("corrupt: {e}")))?;
    Ok(Keypair::from(ed25519::Keypair::from(secret)))
}

fn create_identity(path: &Path) -> Result<Keypair> {
    let keypair = ed25519::Keypair::generate();
    let text = Zeroizing::new(hex::encode(keypair.secret().as_ref()));
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| identity_error(path, format!("cannot create: {e}")))?;
    file.write_all(text.as_bytes())
        .and_then(|()| file.write_all(b"\n"))
        .and_then(|()| file.sync_all())
        .map_err(|e| identity_error(path, format!("cannot write: {e}")))?;
    if let Some(dir) = path.parent() {
        // The directory entry must be durable too, or a crash could lose the new identity.
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| identity_error(path, format!("cannot sync its directory: {e}")))?;
    }
    Ok(Keypair::from(keypair))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_then_reused() {
        let dir = tempfile::tempdir().unwrap();
        let (a, source) = load_or_create_identity(dir.path()).unwrap();
        assert_eq!(source, IdentitySource::Created);
        let path = dir.path().join(IDENTITY_FILE);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (b, source) = load_or_create_identity(dir.path()).unwrap();
        assert_eq!(source, IdentitySource::Loaded);
        assert_eq!(a.public().to_peer_id(), b.public().to_peer_id());
    }

    #[test]
    fn open_permissions_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        load_or_create_identity(dir.path()).unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = load_or_create_identity(dir.path()).unwrap_err().to_string();
        assert!(err.contains("permissions 0644 are too open"), "{err}");
        assert!(err.contains(IDENTITY_FILE), "{err}");
    }

    #[test]
    fn corrupt_files_are_refused_without_echoing_content() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(IDENTITY_FILE);
        for (content, needle) in [
            ("abcd\n".to_owned(), "expected 64 hex digits"),
            (format!("{}\n", "zz".repeat(32)), "not hexadecimal"),
            (String::new(), "found 0 characters"),
        ] {
            std::fs::write(&path, &content).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
            let err = load_or_create_identity(dir.path()).unwrap_err().to_string();
            assert!(err.contains("corrupt") && err.contains(needle), "{err}");
            assert!(
                content.trim().is_empty() || !err.contains(content.trim()),
                "{err}"
            );
        }
    }
}
