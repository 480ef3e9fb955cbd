//! The bearer token: its file, and the check every request passes first.
//!
//! Invariants: the token file is created 0600 (never chmod-ed afterwards) with 32 bytes of OS
//! randomness in hex, and reused at every start; a file group or others may read, or that does
//! not hold a hex token of at least 32 bytes, stops the start with an error naming the file;
//! the token itself is never logged nor kept in memory — only its SHA-256, compared in
//! constant time with the SHA-256 of what a request presents. A 401 says in general terms what
//! is missing or wrong and never names a path: the file's location is for the operator (logged
//! at start-up, documented), not for whoever can reach the port.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use rand::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::http::ApiError;

/// Bytes of randomness in a generated token.
const TOKEN_BYTES: usize = 32;

/// Whether the token file existed or was created by this start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenOrigin {
    /// Read from an existing file.
    Existing,
    /// Generated and written by this start.
    Created,
}

impl std::fmt::Display for TokenOrigin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Existing => "existing",
            Self::Created => "created",
        })
    }
}

/// The token requests must present (only its hash is held).
#[derive(Clone)]
pub struct ApiToken {
    digest: [u8; 32],
    path: PathBuf,
    origin: TokenOrigin,
}

impl std::fmt::Debug for ApiToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiToken")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

fn digest(bytes: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    out.copy_from_slice(&ethereum_hashing::hash(bytes));
    out
}

impl ApiToken {
    /// Reads the token file, or creates it with a fresh random token when it does not exist.
    pub fn load_or_create(path: &Path) -> Result<Self> {
        match std::fs::symlink_metadata(path) {
            Ok(_) => Self::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match Self::create(path) {
                Ok(token) => Ok(token),
                // Created meanwhile by another process: use it.
                Err(Error::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    Self::load(path)
                }
                Err(error) => Err(error),
            },
            Err(e) => Err(Error::io("inspect", path, e)),
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
        signer::fs::create_secret_file(path, token.as_bytes()).map_err(|error| match error {
            signer::Error::Io { op, path, source } => Error::Io { op, path, source },
            other => Error::Config(format!("cannot create {}: {other}", path.display())),
        })?;
        Ok(Self {
            digest: digest(token.as_bytes()),
            path: path.to_path_buf(),
            origin: TokenOrigin::Created,
        })
    }

    fn load(path: &Path) -> Result<Self> {
        let meta = std::fs::metadata(path).map_err(|e| Error::io("inspect", path, e))?;
        if !meta.is_file() {
            return Err(Error::Config(format!(
                "Keymanager API token file {} is not a regular file",
                path.display()
            )));
        }
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(Error::Config(format!(
                "Keymanager API token file {} has mode {mode:o}: group or others may access it; \
                 restrict it with `chmod 600 {}` (or delete it to have a new token created)",
                path.display(),
                path.display()
            )));
        }
        let contents =
            Zeroizing::new(std::fs::read_to_string(path).map_err(|e| Error::io("read", path, e))?);
        let token = contents.trim();
        let well_formed = token.len() >= 2 * TOKEN_BYTES
            && token.len() % 2 == 0
            && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !well_formed {
            return Err(Error::Config(format!(
                "Keymanager API token file {} is malformed: it must hold one hex token of at \
                 least {} characters ({TOKEN_BYTES} bytes) and nothing else",
                path.display(),
                2 * TOKEN_BYTES
            )));
        }
        Ok(Self {
            digest: digest(token.as_bytes()),
            path: path.to_path_buf(),
            origin: TokenOrigin::Existing,
        })
    }

    /// The token file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether the file existed or was created by this start.
    pub fn origin(&self) -> TokenOrigin {
        self.origin
    }

    /// Whether `presented` is the token (constant time in its content).
    pub fn matches(&self, presented: &[u8]) -> bool {
        bool::from(digest(presented).ct_eq(&self.digest))
    }
}

fn unauthorized(message: &str) -> Response {
    let mut response = ApiError {
        status: StatusCode::UNAUTHORIZED,
        message: message.to_owned(),
    }
    .into_response();
    response
        .headers_mut()
        .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
    response
}

/// Lets through only requests carrying `Authorization: Bearer <token>`; every other request,
/// whatever its route, is answered 401 before anything else looks at it.
pub(super) async fn require_token(
    State(token): State<Arc<ApiToken>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(value) = request.headers().get(header::AUTHORIZATION) else {
        return unauthorized(
            "missing bearer token: send `Authorization: Bearer <token>` with the Keymanager \
             API token",
        );
    };
    let candidate = value
        .as_bytes()
        .strip_prefix(b"Bearer ")
        .or_else(|| value.as_bytes().strip_prefix(b"bearer "))
        .filter(|candidate| !candidate.is_empty());
    match candidate {
        None => unauthorized(
            "the Authorization header must be `Bearer <token>` with the Keymanager API token",
        ),
        Some(candidate) if token.matches(candidate) => next.run(request).await,
        Some(_) => unauthorized("invalid bearer token: it is not the Keymanager API token"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_reused_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("api-token.txt");
        let created = ApiToken::load_or_create(&path).unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.len(), 64);
        assert!(created.matches(text.as_bytes()));
        assert!(!created.matches(b"00"));
        let reused = ApiToken::load_or_create(&path).unwrap();
        assert!(reused.matches(text.as_bytes()), "the same token at restart");
        assert!(!format!("{reused:?}").contains(&text), "never printed");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
        let err = ApiToken::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("chmod 600") && err.contains("640"), "{err}");

        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(
            &path,
            "not hex at all, and long enough to pass the length test ....",
        )
        .unwrap();
        let err = ApiToken::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
        std::fs::write(&path, "abcd").unwrap();
        let err = ApiToken::load_or_create(&path).unwrap_err().to_string();
        assert!(err.contains("malformed"), "{err}");
        assert!(!err.contains("abcd"), "the content is not echoed: {err}");

        // A hand-written token with a trailing newline is accepted.
        let own = "ab".repeat(40);
        std::fs::write(&path, format!("{own}\n")).unwrap();
        assert!(
            ApiToken::load_or_create(&path)
                .unwrap()
                .matches(own.as_bytes())
        );
    }
}
