//! The optional bearer token.
//!
//! Invariants: the token file is created 0600 with 32 bytes of OS randomness in hex when it
//! does not exist, and reused afterwards; a file that group or others may access, or that does
//! not hold one hex token of at least 64 characters, stops the start with an error naming the
//! file; only the token's SHA-256 is kept, compared in constant time with the SHA-256 of what
//! a request presents; the token is never logged nor echoed.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Random bytes in a generated token.
const TOKEN_BYTES: usize = 32;

/// The token requests must present (its digest only).
#[derive(Clone)]
pub struct BearerToken {
    digest: [u8; 32],
    path: PathBuf,
}

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BearerToken")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

impl BearerToken {
    /// Reads the token file, or creates it with a fresh random token.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Self::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Self::create(path),
            Err(e) => Err(Error::io("inspect", path, e)),
        }
    }

    fn invalid(path: &Path, reason: impl Into<String>) -> Error {
        Error::Token {
            path: path.to_path_buf(),
            reason: reason.into(),
        }
    }

    fn create(path: &Path) -> Result<Self> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent)
                .map_err(|e| Error::io("create directory", parent, e))?;
        }
        let mut raw = Zeroizing::new([0u8; TOKEN_BYTES]);
        rand::rngs::OsRng.fill_bytes(raw.as_mut());
        let token = Zeroizing::new(hex::encode(raw.as_ref()));
        signer::fs::create_secret_file(path, token.as_bytes())
            .map_err(|e| Self::invalid(path, format!("cannot create it: {e}")))?;
        tracing::info!(file = %path.display(), "signer API token created");
        Ok(Self {
            digest: digest(token.as_bytes()),
            path: path.to_path_buf(),
        })
    }

    fn load(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io("inspect", path, e))?;
        if !meta.is_file() {
            return Err(Self::invalid(path, "not a regular file"));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Self::invalid(
                path,
                format!(
                    "mode {mode:o} lets group or others access it; restrict it with `chmod 600 {}`",
                    path.display()
                ),
            ));
        }
        let contents =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?);
        let token = contents.trim();
        let well_formed = token.len() >= 2 * TOKEN_BYTES
            && token.len() % 2 == 0
            && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(Self::invalid(
                path,
                format!(
                    "it must hold one hex token of at least {} characters and nothing else",
                    2 * TOKEN_BYTES
                ),
            ));
        }
        Ok(Self {
            digest: digest(token.as_bytes()),
            path: path.to_path_buf(),
        })
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether `presented` is the token (constant time in its content).
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(digest(presented).ct_eq(&self.digest))
    }

    /// Checks an `Authorization` header value: `Bearer <token>`.
    pub fn check_header(&self, value: Option<&[u8]>) -> std::result::Result<(), TokenProblem> {
        let value = value.ok_or(TokenProblem::Missing)?;
        let candidate = value
            .strip_prefix(b"Bearer ")
            .or_else(|| value.strip_prefix(b"bearer "))
            .filter(|c| !c.is_empty())
            .ok_or(TokenProblem::Malformed)?;
        if self.matches(candidate) {
            Ok(())
        } else {
            Err(TokenProblem::Wrong)
        }
    }
}

/// Why a request's credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenProblem {
    /// No `Authorization` header (401).
    Missing,
    /// Not `Bearer <token>` (401).
    Malformed,
    /// Another token (403).
    Wrong,
}

impl TokenProblem {
    /// The answer's message (never names the file).
    pub const fn message(self) -> &'static str {
        match self {
            TokenProblem::Missing => {
                "missing bearer token: send `Authorization: Bearer <token>` with the signer's token"
            }
            TokenProblem::Malformed => "the Authorization header must be `Bearer <token>`",
            TokenProblem::Wrong => "invalid bearer token: it is not the signer's token",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_0600_reused_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/token");
        let created = BearerToken::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(created.matches(text.as_bytes()));
        assert!(!created.matches(b"00"));
        let reused = BearerToken::load_or_create(&path).unwrap();
        assert!(reused.matches(text.as_bytes()));
        assert!(!format!("{reused:?}").contains(&text));
        let header = format!("Bearer {text}");
        assert_eq!(reused.check_header(Some(header.as_bytes())), Ok(()));
        assert_eq!(reused.check_header(None), Err(TokenProblem::Missing));
        assert_eq!(
            reused.check_header(Some(b"Basic abc")),
            Err(TokenProblem::Malformed)
        );
        assert_eq!(
            reused.check_header(Some(b"Bearer 00")),
            Err(TokenProblem::Wrong)
        );

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = BearerToken::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600"), "{err}");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&path, "short").unwrap();
        let err = BearerToken::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("hex token") && !err.contains("short"), "{err}");
    }
}
