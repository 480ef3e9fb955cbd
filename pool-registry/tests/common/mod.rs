//! Shared test code: the fixture scenarios (`pool_registry::testing`) and their directory.

#![allow(dead_code, reason = "each test binary uses a different subset")]

use std::path::{Path, PathBuf};

pub(crate) use pool_registry::testing::{Loaded, scenario};

pub(crate) fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Writes a scenario's files (used to regenerate fixtures).
pub(crate) fn write_files(dir: &Path, files: &scenario::Files) {
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

/// Loads a fixture directory, decoding the responses as a beacon-node client would.
pub(crate) fn load(dir: &Path, epoch: u64) -> Loaded {
    pool_registry::testing::load_dir(dir, epoch)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
}
