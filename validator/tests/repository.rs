//! Repository hygiene: no tool binaries or packages in the tree, a container build context that
//! leaves build outputs out, and a Dockerfile that knows every workspace member.

use std::path::{Path, PathBuf};
use std::process::Command;

/// Tracked files larger than this are tools, packages or generated data: they stay out of the tree.
const MAX_TRACKED_FILE: u64 = 1024 * 1024;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the validator crate sits in the workspace")
        .to_path_buf()
}

fn read(name: &str) -> String {
    let path = root().join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The tracked files, or `None` when this is not a git checkout (a source archive).
fn tracked_files() -> Option<Vec<PathBuf>> {
    let output = Command::new("git")
        .arg("-C")
        .arg(root())
        .args(["ls-files", "-z"])
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    Some(
        output
            .stdout
            .split(|b| *b == 0)
            .filter(|name| !name.is_empty())
            .map(|name| root().join(String::from_utf8_lossy(name).as_ref()))
            .collect(),
    )
}

#[test]
fn no_large_files_are_tracked() {
    let Some(files) = tracked_files() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI runs on a git clone: `git ls-files` must work"
        );
        eprintln!("SKIPPED repository::no_large_files_are_tracked: not a git checkout");
        return;
    };
    assert!(!files.is_empty());
    let large: Vec<String> = files
        .iter()
        .filter_map(|path| {
            let size = std::fs::metadata(path).ok()?.len();
            (size > MAX_TRACKED_FILE).then(|| format!("{} ({size} bytes)", path.display()))
        })
        .collect();
    assert!(
        large.is_empty(),
        "tools, packages and binaries stay out of the tree: {large:?}"
    );
}

#[test]
fn docker_build_context_excludes_build_outputs() {
    let ignore = read(".dockerignore");
    let patterns: Vec<&str> = ignore
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    for needed in ["target/", "**/node_modules/", ".git/"] {
        assert!(
            patterns.contains(&needed),
            ".dockerignore must exclude {needed}: {patterns:?}"
        );
    }
}

#[test]
fn dockerfile_copies_every_workspace_manifest() {
    let manifest: toml::Value = toml::from_str(&read("Cargo.toml")).expect("Cargo.toml parses");
    let members = manifest["workspace"]["members"]
        .as_array()
        .expect("workspace members");
    let dockerfile = read("Dockerfile");
    for member in members {
        let member = member.as_str().expect("member is a path");
        let copy = format!("COPY {member}/Cargo.toml {member}/Cargo.toml");
        assert!(
            dockerfile.contains(&copy),
            "the Dockerfile's dependency layer must copy {member}/Cargo.toml (`{copy}`)"
        );
    }
}
