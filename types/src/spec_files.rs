//! Reading the OpenAPI specifications among the conformance vectors (Beacon API, Keymanager
//! API) for tests: each YAML file parsed once, `$ref`s resolved across files (enabled by the
//! `test-vectors` feature, used only as a dev-dependency).

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

/// A specification document that could not be read or a reference that does not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecError(pub String);

impl std::fmt::Display for SpecError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for SpecError {}

/// `path` with `.` and `..` components resolved lexically.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The YAML (or JSON) files of an OpenAPI specification, loaded once each, and `$ref`
/// resolution across them.
#[derive(Debug, Default)]
pub struct SpecFiles {
    cache: Mutex<HashMap<PathBuf, Arc<Value>>>,
}

impl SpecFiles {
    /// The parsed document at `path`.
    pub fn load(&self, path: &Path) -> Result<Arc<Value>, SpecError> {
        let path = normalise(path);
        let mut cache = self
            .cache
            .lock()
            .map_err(|_| SpecError("the document cache was poisoned".to_owned()))?;
        if let Some(value) = cache.get(&path) {
            return Ok(value.clone());
        }
        let text = std::fs::read_to_string(&path)
            .map_err(|e| SpecError(format!("{}: {e}", path.display())))?;
        let value: Value = serde_yaml::from_str(&text)
            .map_err(|e| SpecError(format!("{}: {e}", path.display())))?;
        let value = Arc::new(value);
        cache.insert(path, value.clone());
        Ok(value)
    }

    /// Resolves `file.yaml#/A/B` (or `#/A/B`) relative to the document `from`; pointer
    /// segments use JSON pointer escapes (`~1` for `/`). Returns the node and its document.
    pub fn resolve(&self, reference: &str, from: &Path) -> Result<(Value, PathBuf), SpecError> {
        let (file_part, pointer) = reference.split_once('#').unwrap_or((reference, ""));
        let file = if file_part.is_empty() {
            from.to_path_buf()
        } else {
            from.parent().unwrap_or(Path::new(".")).join(file_part)
        };
        let document = self.load(&file)?;
        let mut node: &Value = &document;
        for segment in pointer.split('/').filter(|s| !s.is_empty()) {
            let segment = segment.replace("~1", "/").replace("~0", "~");
            node = node.get(&segment).ok_or_else(|| {
                SpecError(format!("{reference}: no `{segment}` in {}", file.display()))
            })?;
        }
        Ok((node.clone(), normalise(&file)))
    }

    /// Follows a chain of `$ref`s from `node` (in the document `file`) to its target.
    pub fn deref(&self, node: &Value, file: &Path) -> Result<(Value, PathBuf), SpecError> {
        let mut node = node.clone();
        let mut file = file.to_path_buf();
        for _ in 0..16 {
            match node.get("$ref").and_then(Value::as_str) {
                Some(reference) => (node, file) = self.resolve(reference, &file)?,
                None => return Ok((node, file)),
            }
        }
        Err(SpecError("$ref chain too long".to_owned()))
    }
}
