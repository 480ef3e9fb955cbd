//! Per-key settings: fee recipient, gas limit and graffiti, each falling back to the client-wide
//! default, and the remote signer of keys imported as remote keys; persisted in
//! `datadir/validator_definitions.json` (no secrets: plain JSON; remote signer URLs with
//! credentials are refused).
//!
//! Invariants: the file is replaced atomically (temporary file, sync, rename), so a crash never
//! leaves a truncated file; a per-key fee recipient the pool policy would refuse at proposal time
//! is refused when set (and when the file is loaded), so the client never prepares a recipient
//! whose blocks it must then refuse to sign; entries of keys that are not loaded are kept
//! untouched.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use types::{ExecutionAddress, Graffiti, PublicKeyBytes};

use crate::config::FeePolicy;
use crate::error::{Error, Result};

/// The file format version.
const VERSION: u32 = 1;

/// One key's settings; `None` means "the client default".
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ValidatorDefinition {
    /// The validator.
    pub pubkey: PublicKeyBytes,
    /// Its fee recipient.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fee_recipient: Option<ExecutionAddress>,
    /// Its builder registration gas limit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gas_limit: Option<u64>,
    /// Its graffiti (UTF-8, at most 32 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub graffiti: Option<String>,
    /// The remote (Web3Signer-compatible) signer holding the key, for keys imported through
    /// the Keymanager API's remote keys; loaded again at every start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_signer_url: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct DefinitionsFile {
    version: u32,
    validators: Vec<ValidatorDefinition>,
}

/// Client-wide defaults.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Defaults {
    /// Fee recipient of keys without their own.
    pub fee_recipient: Option<ExecutionAddress>,
    /// Gas limit of keys without their own.
    pub gas_limit: u64,
    /// Graffiti of keys without their own.
    pub graffiti: Option<Graffiti>,
}

/// Encodes graffiti text as the 32 bytes a block carries (zero-padded); `None` when longer.
pub fn graffiti_from_str(text: &str) -> Option<Graffiti> {
    let bytes = text.as_bytes();
    if bytes.len() > 32 {
        return None;
    }
    let mut graffiti = [0u8; 32];
    graffiti[..bytes.len()].copy_from_slice(bytes);
    Some(Graffiti::from(graffiti))
}

/// The settings of every key, with persistence.
#[derive(Debug)]
pub struct Definitions {
    path: Option<PathBuf>,
    defaults: Defaults,
    policy: Option<FeePolicy>,
    entries: BTreeMap<PublicKeyBytes, ValidatorDefinition>,
}

fn check_recipient(
    policy: Option<&FeePolicy>,
    pubkey: &PublicKeyBytes,
    recipient: Option<ExecutionAddress>,
) -> Result<()> {
    if let (Some(policy), Some(recipient)) = (policy, recipient)
        && !policy.permits(recipient, Some(recipient))
    {
        return Err(Error::Config(format!(
            "fee recipient {recipient} of {pubkey} is not the pool vault {} and other \
             recipients are not allowed (--allow-other-fee-recipients)",
            policy.vault
        )));
    }
    Ok(())
}

fn check_graffiti(pubkey: &PublicKeyBytes, graffiti: Option<&str>) -> Result<()> {
    match graffiti {
        Some(text) if graffiti_from_str(text).is_none() => Err(Error::Config(format!(
            "graffiti of {pubkey} is {} bytes, at most 32 are allowed",
            text.len()
        ))),
        _ => Ok(()),
    }
}

impl Definitions {
    /// Settings kept in memory only (tests, tools).
    pub fn in_memory(defaults: Defaults, policy: Option<FeePolicy>) -> Self {
        Self {
            path: None,
            defaults,
            policy,
            entries: BTreeMap::new(),
        }
    }

    /// Loads `path` (if it exists), checks every entry, adds an entry for each of `pubkeys`
    /// not yet present, and writes the file back when it changed.
    pub fn load_or_create(
        path: &Path,
        defaults: Defaults,
        policy: Option<FeePolicy>,
        pubkeys: &[PublicKeyBytes],
    ) -> Result<Self> {
        let mut entries = BTreeMap::new();
        let existed = path.exists();
        if existed {
            let bytes = std::fs::read(path).map_err(|e| Error::io("read", path, e))?;
            let file: DefinitionsFile =
                serde_json::from_slice(&bytes).map_err(|source| Error::Json {
                    path: path.to_path_buf(),
                    source,
                })?;
            if file.version != VERSION {
                return Err(Error::Config(format!(
                    "{} has version {}, this client reads version {VERSION}",
                    path.display(),
                    file.version
                )));
            }
            for definition in file.validators {
                check_recipient(
                    policy.as_ref(),
                    &definition.pubkey,
                    definition.fee_recipient,
                )
                .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                check_graffiti(&definition.pubkey, definition.graffiti.as_deref())
                    .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
                if let Some(url) = &definition.remote_signer_url {
                    signer::remote::check_url(url).map_err(|e| {
                        Error::Config(format!(
                            "{}: remote signer of {}: {e}",
                            path.display(),
                            definition.pubkey
                        ))
                    })?;
                }
                if entries.contains_key(&definition.pubkey) {
                    return Err(Error::Config(format!(
                        "{} lists {} twice",
                        path.display(),
                        definition.pubkey
                    )));
                }
                entries.insert(definition.pubkey, definition);
            }
        }
        let mut changed = !existed;
        for pubkey in pubkeys {
            entries.entry(*pubkey).or_insert_with(|| {
                changed = true;
                ValidatorDefinition {
                    pubkey: *pubkey,
                    ..Default::default()
                }
            });
        }
        let definitions = Self {
            path: Some(path.to_path_buf()),
            defaults,
            policy,
            entries,
        };
        if changed {
            definitions.save()?;
        }
        Ok(definitions)
    }

    /// Writes the file atomically (no-op for in-memory settings).
    fn save(&self) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = DefinitionsFile {
            version: VERSION,
            validators: self.entries.values().cloned().collect(),
        };
        let mut json = serde_json::to_vec_pretty(&file).map_err(|source| Error::Json {
            path: path.clone(),
            source,
        })?;
        json.push(b'\n');
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.tmp-{}", std::process::id()));
        let write = || -> std::io::Result<()> {
            let mut out = std::fs::File::create(&tmp)?;
            out.write_all(&json)?;
            out.sync_all()?;
            std::fs::rename(&tmp, path)
        };
        write().map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            Error::io("write", path, e)
        })
    }

    /// The client-wide defaults.
    pub fn defaults(&self) -> Defaults {
        self.defaults
    }

    /// A key's own settings (`None` for keys without an entry).
    pub fn get(&self, pubkey: &PublicKeyBytes) -> Option<&ValidatorDefinition> {
        self.entries.get(pubkey)
    }

    /// The key's own fee recipient, else the default.
    pub fn fee_recipient(&self, pubkey: &PublicKeyBytes) -> Option<ExecutionAddress> {
        self.entries
            .get(pubkey)
            .and_then(|d| d.fee_recipient)
            .or(self.defaults.fee_recipient)
    }

    /// The key's own gas limit, else the default.
    pub fn gas_limit(&self, pubkey: &PublicKeyBytes) -> u64 {
        self.entries
            .get(pubkey)
            .and_then(|d| d.gas_limit)
            .unwrap_or(self.defaults.gas_limit)
    }

    /// The key's own graffiti, else the default.
    pub fn graffiti(&self, pubkey: &PublicKeyBytes) -> Option<Graffiti> {
        self.entries
            .get(pubkey)
            .and_then(|d| d.graffiti.as_deref())
            .and_then(graffiti_from_str)
            .or(self.defaults.graffiti)
    }

    /// Sets (or clears, with `None`) a key's fee recipient and persists it.
    pub fn set_fee_recipient(
        &mut self,
        pubkey: PublicKeyBytes,
        recipient: Option<ExecutionAddress>,
    ) -> Result<()> {
        check_recipient(self.policy.as_ref(), &pubkey, recipient)?;
        self.update(pubkey, |d| d.fee_recipient = recipient)
    }

    /// Sets (or clears) a key's gas limit and persists it.
    pub fn set_gas_limit(&mut self, pubkey: PublicKeyBytes, gas_limit: Option<u64>) -> Result<()> {
        self.update(pubkey, |d| d.gas_limit = gas_limit)
    }

    /// Sets (or clears) a key's graffiti and persists it.
    pub fn set_graffiti(&mut self, pubkey: PublicKeyBytes, graffiti: Option<String>) -> Result<()> {
        check_graffiti(&pubkey, graffiti.as_deref())?;
        self.update(pubkey, |d| d.graffiti = graffiti)
    }

    /// The keys recorded as held by a remote signer, with its URL.
    pub fn remote_keys(&self) -> Vec<(PublicKeyBytes, String)> {
        self.entries
            .values()
            .filter_map(|d| d.remote_signer_url.clone().map(|url| (d.pubkey, url)))
            .collect()
    }

    /// Records (or clears, with `None`) the remote signer of a key and persists it.
    pub fn set_remote_signer(&mut self, pubkey: PublicKeyBytes, url: Option<String>) -> Result<()> {
        if let Some(url) = &url {
            signer::remote::check_url(url)
                .map_err(|e| Error::Config(format!("remote signer of {pubkey}: {e}")))?;
        }
        self.update(pubkey, |d| d.remote_signer_url = url)
    }

    /// Applies `change` to a key's entry (created if absent) and persists; on a write failure
    /// the in-memory settings are left as they were.
    fn update(
        &mut self,
        pubkey: PublicKeyBytes,
        change: impl FnOnce(&mut ValidatorDefinition),
    ) -> Result<()> {
        let previous = self.entries.get(&pubkey).cloned();
        let entry = self
            .entries
            .entry(pubkey)
            .or_insert_with(|| ValidatorDefinition {
                pubkey,
                ..Default::default()
            });
        change(entry);
        if let Err(error) = self.save() {
            match previous {
                Some(previous) => self.entries.insert(pubkey, previous),
                None => self.entries.remove(&pubkey),
            };
            return Err(error);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pk(byte: u8) -> PublicKeyBytes {
        PublicKeyBytes::repeat_byte(byte)
    }

    fn defaults() -> Defaults {
        Defaults {
            fee_recipient: Some(ExecutionAddress::repeat_byte(0xaa)),
            gas_limit: 30_000_000,
            graffiti: graffiti_from_str("pool"),
        }
    }

    #[test]
    fn persists_and_falls_back_to_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("validator_definitions.json");
        let mut defs =
            Definitions::load_or_create(&path, defaults(), None, &[pk(1), pk(2)]).unwrap();
        assert_eq!(
            defs.fee_recipient(&pk(1)),
            Some(ExecutionAddress::repeat_byte(0xaa))
        );
        defs.set_fee_recipient(pk(1), Some(ExecutionAddress::repeat_byte(0xbb)))
            .unwrap();
        defs.set_gas_limit(pk(2), Some(45_000_000)).unwrap();
        defs.set_graffiti(pk(2), Some("hello".into())).unwrap();
        assert!(defs.set_graffiti(pk(2), Some("x".repeat(33))).is_err());

        let reloaded = Definitions::load_or_create(&path, defaults(), None, &[pk(1)]).unwrap();
        assert_eq!(
            reloaded.fee_recipient(&pk(1)),
            Some(ExecutionAddress::repeat_byte(0xbb))
        );
        assert_eq!(reloaded.gas_limit(&pk(2)), 45_000_000);
        assert_eq!(reloaded.gas_limit(&pk(1)), 30_000_000);
        assert_eq!(reloaded.graffiti(&pk(2)), graffiti_from_str("hello"));
        assert_eq!(reloaded.graffiti(&pk(1)), graffiti_from_str("pool"));
        assert!(
            reloaded.get(&pk(2)).is_some(),
            "entries of absent keys are kept"
        );

        let mut defs = reloaded;
        defs.set_remote_signer(pk(3), Some("http://127.0.0.1:9000".into()))
            .unwrap();
        assert!(
            defs.set_remote_signer(pk(3), Some("ftp://x".into()))
                .is_err()
        );
        let reloaded = Definitions::load_or_create(&path, defaults(), None, &[]).unwrap();
        assert_eq!(
            reloaded.remote_keys(),
            vec![(pk(3), "http://127.0.0.1:9000".to_owned())]
        );
    }

    #[test]
    fn policy_and_bad_files_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("defs.json");
        let policy = FeePolicy {
            vault: ExecutionAddress::repeat_byte(1),
            allow_other: false,
        };
        let mut defs =
            Definitions::load_or_create(&path, defaults(), Some(policy), &[pk(1)]).unwrap();
        let err = defs
            .set_fee_recipient(pk(1), Some(ExecutionAddress::repeat_byte(2)))
            .unwrap_err();
        assert!(err.to_string().contains("not the pool vault"), "{err}");
        assert_eq!(defs.get(&pk(1)).unwrap().fee_recipient, None);

        std::fs::write(&path, b"{\"version\": 1, \"validators\": [").unwrap();
        let err = Definitions::load_or_create(&path, defaults(), None, &[]).unwrap_err();
        assert!(err.to_string().contains("defs.json"), "{err}");
        let before = std::fs::read(&path).unwrap();
        assert_eq!(
            before, b"{\"version\": 1, \"validators\": [",
            "a bad file is not overwritten"
        );

        let entry = format!(
            "{{\"version\":1,\"validators\":[{{\"pubkey\":\"{}\",\"fee_recipient\":\"{}\"}}]}}",
            pk(1),
            ExecutionAddress::repeat_byte(2)
        );
        std::fs::write(&path, entry).unwrap();
        let err = Definitions::load_or_create(&path, defaults(), Some(policy), &[]).unwrap_err();
        assert!(err.to_string().contains("not the pool vault"), "{err}");
    }
}
