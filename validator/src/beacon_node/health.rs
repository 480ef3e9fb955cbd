//! Beacon node health: is the node on our chain, with our config and preset, and synced?
//!
//! A node is [`NodeHealth::Incompatible`] when its genesis (validators root, time, fork version),
//! its fork schedule or slot timing differ from the reference chain, or its preset differs from
//! the compiled one: signing with its data could produce signatures for the wrong chain or fork,
//! so such a node is never used. Otherwise its sync status ranks it: synced before optimistic
//! before syncing (closest first), unknown (not yet checked) before offline.

use std::fmt;

use types::api::{GenesisData, SyncingData};
use types::{ChainSpec, ForkName, Hash256};

use super::client::BeaconNodeClient;
use super::error::Error;

/// A node's health, as of its last check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NodeHealth {
    /// Not checked yet.
    Unknown,
    /// Synced and fully verified.
    Synced,
    /// Synced, head imported optimistically (EL has not verified it).
    Optimistic,
    /// Syncing: it will refuse duties.
    Syncing {
        /// Slots behind the wall clock.
        distance: u64,
    },
    /// Unreachable or answering errors.
    Offline,
    /// On another chain or with another config: never used.
    Incompatible(IncompatibleReason),
}

impl NodeHealth {
    /// A short label for logs and metrics.
    pub fn as_str(&self) -> &'static str {
        match self {
            NodeHealth::Unknown => "unknown",
            NodeHealth::Synced => "synced",
            NodeHealth::Optimistic => "optimistic",
            NodeHealth::Syncing { .. } => "syncing",
            NodeHealth::Offline => "offline",
            NodeHealth::Incompatible(_) => "incompatible",
        }
    }

    /// The ranking key (lower is better); `None` for nodes that must not be used.
    pub fn rank(&self) -> Option<(u8, u64)> {
        match self {
            NodeHealth::Synced => Some((0, 0)),
            NodeHealth::Optimistic => Some((1, 0)),
            NodeHealth::Unknown => Some((2, 0)),
            NodeHealth::Syncing { distance } => Some((3, *distance)),
            NodeHealth::Offline => Some((4, 0)),
            NodeHealth::Incompatible(_) => None,
        }
    }

    /// Whether the node is believed able to serve duties now.
    pub fn is_healthy(&self) -> bool {
        matches!(self, NodeHealth::Synced | NodeHealth::Optimistic)
    }
}

impl fmt::Display for NodeHealth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            NodeHealth::Syncing { distance } => write!(f, "syncing ({distance} slots behind)"),
            NodeHealth::Incompatible(reason) => write!(f, "incompatible: {reason}"),
            other => f.write_str(other.as_str()),
        }
    }
}

/// Why a node is incompatible.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IncompatibleReason {
    /// Another genesis validators root: another chain.
    WrongGenesis {
        /// Ours.
        expected: Hash256,
        /// The node's.
        actual: Hash256,
    },
    /// Another genesis time.
    WrongGenesisParameters(String),
    /// Another fork schedule or slot timing.
    WrongConfig(String),
    /// Another preset (list limits differ, so roots would differ).
    WrongPreset(String),
}

impl fmt::Display for IncompatibleReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            IncompatibleReason::WrongGenesis { expected, actual } => {
                write!(
                    f,
                    "wrong genesis validators root {actual} (expected {expected})"
                )
            }
            IncompatibleReason::WrongGenesisParameters(detail) => {
                write!(f, "wrong genesis: {detail}")
            }
            IncompatibleReason::WrongConfig(detail) => write!(f, "wrong config: {detail}"),
            IncompatibleReason::WrongPreset(detail) => write!(f, "wrong preset: {detail}"),
        }
    }
}

/// The chain every node must be on.
#[derive(Debug, Clone, PartialEq)]
pub struct ChainReference {
    /// Genesis validators root, time and fork version.
    pub genesis: GenesisData,
    /// The chain config.
    pub spec: ChainSpec,
}

/// Checks a node's preset against the compiled one (`types::verify_preset::<E>`).
pub type PresetCheck = fn(&ChainSpec) -> types::Result<()>;

/// Compares a node's genesis (validators root and time) with the reference.
pub fn compare_genesis(reference: &GenesisData, node: &GenesisData) -> Option<IncompatibleReason> {
    if node.genesis_validators_root != reference.genesis_validators_root {
        return Some(IncompatibleReason::WrongGenesis {
            expected: reference.genesis_validators_root,
            actual: node.genesis_validators_root,
        });
    }
    if node.genesis_time != reference.genesis_time {
        return Some(IncompatibleReason::WrongGenesisParameters(format!(
            "genesis time {} (expected {})",
            node.genesis_time, reference.genesis_time
        )));
    }
    // `genesis_fork_version` is not compared: Lodestar 1.5.1 reports the genesis state's fork
    // version there (e.g. Capella's on a chain started at Capella) where other nodes report
    // GENESIS_FORK_VERSION. The config comparison checks GENESIS_FORK_VERSION instead.
    None
}

/// Compares a node's config with the reference: preset name, slot timing, and every fork's
/// version and epoch as far as either side schedules it. A fork the node does not know is only
/// acceptable if the reference does not schedule it either (old nodes predate future forks).
pub fn compare_specs(reference: &ChainSpec, node: &ChainSpec) -> Option<IncompatibleReason> {
    if node.preset_base != reference.preset_base {
        return Some(IncompatibleReason::WrongPreset(format!(
            "PRESET_BASE {} (expected {})",
            node.preset_base, reference.preset_base
        )));
    }
    let mut differences = Vec::new();
    if node.slot_duration_ms != reference.slot_duration_ms {
        differences.push(format!(
            "slot duration {} ms (expected {} ms)",
            node.slot_duration_ms, reference.slot_duration_ms
        ));
    }
    if node.slots_per_epoch != reference.slots_per_epoch {
        differences.push(format!(
            "SLOTS_PER_EPOCH {} (expected {})",
            node.slots_per_epoch, reference.slots_per_epoch
        ));
    }
    if node.genesis_fork_version() != reference.genesis_fork_version() {
        differences.push(format!(
            "GENESIS_FORK_VERSION {} (expected {})",
            node.genesis_fork_version(),
            reference.genesis_fork_version()
        ));
    }
    for fork in ForkName::ALL.into_iter().skip(1) {
        let ours = reference
            .fork_epoch(fork)
            .map(|epoch| (epoch, reference.fork_version(fork)));
        let theirs = node
            .fork_epoch(fork)
            .map(|epoch| (epoch, node.fork_version(fork)));
        if ours != theirs {
            let show = |side: Option<(types::Epoch, Option<types::Version>)>| match side {
                Some((epoch, Some(version))) => format!("epoch {epoch} version {version}"),
                Some((epoch, None)) => format!("epoch {epoch}"),
                None => "not scheduled".to_owned(),
            };
            differences.push(format!(
                "{fork}: {} (expected {})",
                show(theirs),
                show(ours)
            ));
        }
    }
    (!differences.is_empty()).then(|| IncompatibleReason::WrongConfig(differences.join(", ")))
}

/// Health from a sync status: syncing beyond `tolerance` slots counts as syncing.
pub fn health_from_syncing(syncing: &SyncingData, tolerance: u64) -> NodeHealth {
    if syncing.is_syncing && syncing.sync_distance > tolerance {
        NodeHealth::Syncing {
            distance: syncing.sync_distance,
        }
    } else if syncing.optimistic() {
        NodeHealth::Optimistic
    } else {
        NodeHealth::Synced
    }
}

/// The outcome of one health check.
#[derive(Debug)]
pub(crate) struct CheckOutcome {
    pub(crate) health: NodeHealth,
    pub(crate) el_offline: bool,
    /// Whether the node's config has been verified (so later checks may skip it).
    pub(crate) config_verified: bool,
    /// Why the node is not healthy, when it is not.
    pub(crate) error: Option<Error>,
}

impl CheckOutcome {
    fn failed(health: NodeHealth, error: Error) -> Self {
        Self {
            health,
            el_offline: false,
            config_verified: false,
            error: Some(error),
        }
    }
}

/// Checks one node against `reference`. The config is fetched only when not yet verified.
pub(crate) async fn check_node(
    client: &BeaconNodeClient,
    reference: &ChainReference,
    preset_check: PresetCheck,
    sync_tolerance: u64,
    config_verified: bool,
) -> CheckOutcome {
    let incompatible = |reason: IncompatibleReason| {
        let error = match &reason {
            IncompatibleReason::WrongGenesis { expected, actual } => Error::WrongGenesis {
                url: client.url().to_owned(),
                expected: *expected,
                actual: *actual,
            },
            other => Error::Incompatible {
                url: client.url().to_owned(),
                reason: other.to_string(),
            },
        };
        CheckOutcome::failed(NodeHealth::Incompatible(reason), error)
    };
    let genesis = match client.get_genesis().await {
        Ok(genesis) => genesis,
        Err(error) => return CheckOutcome::failed(NodeHealth::Offline, error),
    };
    if let Some(reason) = compare_genesis(&reference.genesis, &genesis) {
        return incompatible(reason);
    }
    if !config_verified {
        let spec = match client.get_config_spec().await {
            Ok(spec) => spec,
            Err(error) => return CheckOutcome::failed(NodeHealth::Offline, error),
        };
        if let Err(error) = preset_check(&spec) {
            return incompatible(IncompatibleReason::WrongPreset(error.to_string()));
        }
        if let Some(reason) = compare_specs(&reference.spec, &spec) {
            return incompatible(reason);
        }
    }
    let syncing = match client.get_node_syncing().await {
        Ok(syncing) => syncing,
        Err(error) => {
            return CheckOutcome {
                health: NodeHealth::Offline,
                el_offline: false,
                config_verified: true,
                error: Some(error),
            };
        }
    };
    let health = health_from_syncing(&syncing, sync_tolerance);
    let error = match health {
        NodeHealth::Syncing { distance } => Some(Error::NotSynced {
            url: client.url().to_owned(),
            distance,
        }),
        _ => None,
    };
    CheckOutcome {
        health,
        el_offline: syncing.execution_offline(),
        config_verified: true,
        error,
    }
}

#[cfg(test)]
mod tests {
    use serde_json::Value;
    use types::{Slot, Version};

    use super::*;

    fn spec_with(changes: &[(&str, &str)]) -> ChainSpec {
        let mut map = ChainSpec::minimal().raw_config().clone();
        for (key, value) in changes {
            map.insert((*key).to_owned(), Value::String((*value).to_owned()));
        }
        ChainSpec::from_config_map(&map).unwrap()
    }

    #[test]
    fn configs_compare_by_schedule_and_timing() {
        let ours = spec_with(&[
            ("ELECTRA_FORK_EPOCH", "0"),
            ("DENEB_FORK_EPOCH", "0"),
            ("CAPELLA_FORK_EPOCH", "0"),
            ("BELLATRIX_FORK_EPOCH", "0"),
            ("ALTAIR_FORK_EPOCH", "0"),
        ]);
        assert_eq!(compare_specs(&ours, &ours), None);
        let later = spec_with(&[
            ("ELECTRA_FORK_EPOCH", "5"),
            ("DENEB_FORK_EPOCH", "0"),
            ("CAPELLA_FORK_EPOCH", "0"),
            ("BELLATRIX_FORK_EPOCH", "0"),
            ("ALTAIR_FORK_EPOCH", "0"),
        ]);
        let Some(IncompatibleReason::WrongConfig(detail)) = compare_specs(&ours, &later) else {
            panic!("schedule difference not found");
        };
        assert!(detail.contains("electra: epoch 5"), "{detail}");
        let slow = spec_with(&[("SECONDS_PER_SLOT", "12"), ("SLOT_DURATION_MS", "12000")]);
        let reason = compare_specs(&ChainSpec::minimal(), &slow)
            .unwrap()
            .to_string();
        assert!(reason.contains("slot duration 12000 ms"), "{reason}");
        let reason = compare_specs(&ChainSpec::minimal(), &ChainSpec::mainnet())
            .unwrap()
            .to_string();
        assert!(reason.contains("PRESET_BASE mainnet"), "{reason}");
    }

    #[test]
    fn node_unaware_of_unscheduled_fork_is_compatible() {
        // Lodestar 1.5.1 predates Deneb: it reports EIP4844_* keys, so Deneb is unknown to it.
        let mut map = ChainSpec::minimal().raw_config().clone();
        for fork in ["DENEB", "ELECTRA", "FULU"] {
            map.remove(&format!("{fork}_FORK_EPOCH"));
            map.remove(&format!("{fork}_FORK_VERSION"));
        }
        map.retain(|key, _| !key.starts_with("BLOB_SCHEDULE"));
        let old = ChainSpec::from_config_map(&map).unwrap();
        assert_eq!(old.fork_version(ForkName::Deneb), None);
        assert_eq!(compare_specs(&ChainSpec::minimal(), &old), None);
        let scheduled = spec_with(&[
            ("ALTAIR_FORK_EPOCH", "0"),
            ("BELLATRIX_FORK_EPOCH", "0"),
            ("CAPELLA_FORK_EPOCH", "0"),
            ("DENEB_FORK_EPOCH", "100"),
        ]);
        assert!(compare_specs(&scheduled, &old).is_some());
    }

    #[test]
    fn genesis_and_sync_rules() {
        let genesis = GenesisData {
            genesis_time: 100,
            genesis_validators_root: Hash256::repeat_byte(1),
            genesis_fork_version: Version::ZERO,
        };
        assert_eq!(compare_genesis(&genesis, &genesis), None);
        let other = GenesisData {
            genesis_validators_root: Hash256::repeat_byte(2),
            ..genesis
        };
        assert!(matches!(
            compare_genesis(&genesis, &other),
            Some(IncompatibleReason::WrongGenesis { .. })
        ));
        let later = GenesisData {
            genesis_time: 101,
            ..genesis
        };
        assert!(
            compare_genesis(&genesis, &later)
                .unwrap()
                .to_string()
                .contains("genesis time 101")
        );

        let syncing = |is_syncing, distance, optimistic| SyncingData {
            head_slot: Slot(0),
            sync_distance: distance,
            is_syncing,
            is_optimistic: Some(optimistic),
            el_offline: None,
        };
        assert_eq!(
            health_from_syncing(&syncing(false, 0, false), 2),
            NodeHealth::Synced
        );
        assert_eq!(
            health_from_syncing(&syncing(false, 0, true), 2),
            NodeHealth::Optimistic
        );
        assert_eq!(
            health_from_syncing(&syncing(true, 2, false), 2),
            NodeHealth::Synced
        );
        assert_eq!(
            health_from_syncing(&syncing(true, 900, false), 2),
            NodeHealth::Syncing { distance: 900 }
        );
        let mut ranks: Vec<_> = [
            NodeHealth::Offline,
            NodeHealth::Syncing { distance: 9 },
            NodeHealth::Syncing { distance: 3 },
            NodeHealth::Unknown,
            NodeHealth::Synced,
            NodeHealth::Optimistic,
        ]
        .into_iter()
        .map(|h| (h.rank().unwrap(), h))
        .collect();
        ranks.sort_by_key(|(rank, _)| *rank);
        let order: Vec<String> = ranks.into_iter().map(|(_, h)| h.to_string()).collect();
        assert_eq!(
            order,
            [
                "synced",
                "optimistic",
                "unknown",
                "syncing (3 slots behind)",
                "syncing (9 slots behind)",
                "offline"
            ]
        );
        assert_eq!(
            NodeHealth::Incompatible(IncompatibleReason::WrongPreset("x".into())).rank(),
            None
        );
    }
}
