//! Locating the official conformance vectors for tests (enabled by the `test-vectors` feature,
//! used only as a dev-dependency).
//!
//! Vectors live outside the repository: `$VECTORS_DIR`, or `../shared/vectors` next to the
//! workspace root. When they are absent a test prints a loud SKIPPED line, except under
//! `CI=true` where absence is a failure: CI must never pass without running them.

use std::path::PathBuf;

/// The vectors root, or `None` (after printing a SKIPPED line) when absent outside CI.
///
/// # Panics
/// Under `CI=true` when the folder does not exist.
pub fn vectors_dir() -> Option<PathBuf> {
    let dir = match std::env::var_os("VECTORS_DIR") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/vectors"),
    };
    if dir.is_dir() {
        return Some(dir);
    }
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        panic!(
            "conformance vectors not found at {} (set VECTORS_DIR); CI=true requires them",
            dir.display()
        );
    }
    eprintln!(
        "SKIPPED: conformance vectors not found at {} (set VECTORS_DIR to run them)",
        dir.display()
    );
    None
}

/// A sub-folder of the vectors root (see [`vectors_dir`]); panics under CI if it is missing.
pub fn vectors_subdir(name: &str) -> Option<PathBuf> {
    let dir = vectors_dir()?.join(name);
    if !dir.is_dir() {
        if std::env::var("CI").is_ok_and(|v| v == "true") {
            panic!(
                "vector folder {} is missing; CI=true requires it",
                dir.display()
            );
        }
        eprintln!("SKIPPED: vector folder {} is missing", dir.display());
        return None;
    }
    Some(dir)
}
