//! Parsing the `/eth/v1/config/spec` key/value map into a [`ChainSpec`].
//!
//! The Beacon API returns every value as a string (numbers quoted, bytes 0x-hex) except arrays
//! such as `BLOB_SCHEDULE`. Bare JSON numbers are accepted too. Which keys are required follows
//! what the spec needs: phase0 config and preset keys always, a later fork's keys once that fork
//! is scheduled; absent keys of unscheduled forks, and absent spec constants (`DOMAIN_*`,
//! `TARGET_AGGREGATORS_*`, `SYNC_COMMITTEE_SUBNET_COUNT`), take the consensus-spec values.

use serde_json::{Map, Value};

use super::{
    BlobParameters, ChainSpec, DomainTypes, DutyTimings, ForkParams, SYNC_COMMITTEE_SUBNET_COUNT,
    TARGET_AGGREGATORS_PER_COMMITTEE, TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE,
};
use crate::error::{Error, Result};
use crate::fork_name::ForkName;
use crate::preset::Preset;
use crate::primitives::{Address, DomainType, Epoch, FAR_FUTURE_EPOCH, FixedBytes, Version};

fn invalid(key: &str, value: &Value, reason: impl Into<String>) -> Error {
    Error::InvalidConfigValue {
        key: key.to_owned(),
        value: value.to_string(),
        reason: reason.into(),
    }
}

/// Parses a config value as `u64`: a quoted decimal string or a JSON number.
pub fn parse_u64_value(key: &str, value: &Value) -> Result<u64> {
    match value {
        Value::String(s) => s
            .trim()
            .parse::<u64>()
            .map_err(|e| invalid(key, value, format!("not a u64: {e}"))),
        Value::Number(n) => n.as_u64().ok_or_else(|| invalid(key, value, "not a u64")),
        _ => Err(invalid(key, value, "expected a quoted integer")),
    }
}

fn parse_bytes<const N: usize>(key: &str, value: &Value) -> Result<FixedBytes<N>> {
    let Value::String(s) = value else {
        return Err(invalid(key, value, "expected a 0x-prefixed hex string"));
    };
    let Some(hex_digits) = s.strip_prefix("0x") else {
        return Err(invalid(key, value, "missing 0x prefix"));
    };
    let mut bytes = [0u8; N];
    hex::decode_to_slice(hex_digits, &mut bytes)
        .map_err(|e| invalid(key, value, format!("expected {N} hex-encoded bytes: {e}")))?;
    Ok(FixedBytes::from(bytes))
}

/// Typed access to the raw map with key-naming errors.
struct Reader<'a> {
    map: &'a Map<String, Value>,
}

impl Reader<'_> {
    fn get(&self, key: &str) -> Option<&Value> {
        self.map.get(key)
    }

    fn require(&self, key: &str) -> Result<&Value> {
        self.get(key).ok_or_else(|| Error::MissingConfigKey {
            key: key.to_owned(),
        })
    }

    fn opt_u64(&self, key: &str) -> Result<Option<u64>> {
        self.get(key).map(|v| parse_u64_value(key, v)).transpose()
    }

    fn u64(&self, key: &str) -> Result<u64> {
        parse_u64_value(key, self.require(key)?)
    }

    /// A positive `u64` (used as a divisor).
    fn positive_u64(&self, key: &str) -> Result<u64> {
        let value = self.u64(key)?;
        if value == 0 {
            return Err(invalid(
                key,
                self.require(key)?,
                "must be greater than zero",
            ));
        }
        Ok(value)
    }

    /// Required when `required`, else the value if present, else `default`.
    fn u64_or(&self, key: &str, required: bool, default: u64) -> Result<u64> {
        if required {
            self.positive_u64(key)
        } else {
            match self.opt_u64(key)? {
                Some(0) => Err(invalid(
                    key,
                    self.require(key)?,
                    "must be greater than zero",
                )),
                Some(v) => Ok(v),
                None => Ok(default),
            }
        }
    }

    fn version(&self, key: &str) -> Result<Version> {
        parse_bytes::<4>(key, self.require(key)?)
    }

    fn opt_version(&self, key: &str) -> Result<Option<Version>> {
        self.get(key).map(|v| parse_bytes::<4>(key, v)).transpose()
    }

    /// A `DOMAIN_*` value: when reported it must equal the spec constant.
    fn domain(&self, key: &str, spec: DomainType) -> Result<DomainType> {
        let Some(value) = self.get(key) else {
            return Ok(spec);
        };
        let reported = parse_bytes::<4>(key, value)?;
        if reported != spec {
            return Err(invalid(
                key,
                value,
                format!("the consensus specs fix this domain type to {spec}"),
            ));
        }
        Ok(reported)
    }
}

fn parse_forks(r: &Reader<'_>) -> Result<[Option<ForkParams>; 7]> {
    let mut forks = [None; 7];
    forks[ForkName::Phase0.index()] = Some(ForkParams {
        version: r.version("GENESIS_FORK_VERSION")?,
        epoch: Epoch(0),
    });
    for fork in ForkName::ALL.into_iter().skip(1) {
        let Some(prefix) = fork.config_prefix() else {
            continue;
        };
        let version_key = format!("{prefix}_FORK_VERSION");
        let epoch_key = format!("{prefix}_FORK_EPOCH");
        let version = r.opt_version(&version_key)?;
        let epoch = r.opt_u64(&epoch_key)?.map(Epoch);
        forks[fork.index()] = match (version, epoch) {
            (Some(version), Some(epoch)) => Some(ForkParams { version, epoch }),
            // A node that predates the fork reports neither key: the fork is unknown to it.
            (None, None) => None,
            (Some(_), None) => return Err(Error::MissingConfigKey { key: epoch_key }),
            (None, Some(_)) => return Err(Error::MissingConfigKey { key: version_key }),
        };
    }
    // Each scheduled fork needs its predecessor scheduled no later.
    let mut previous: Option<(ForkName, Epoch)> = Some((ForkName::Phase0, Epoch(0)));
    for fork in ForkName::ALL.into_iter().skip(1) {
        let epoch = forks[fork.index()]
            .map(|p| p.epoch)
            .filter(|e| *e != FAR_FUTURE_EPOCH);
        match (previous, epoch) {
            (Some((prev, prev_epoch)), Some(epoch)) if epoch < prev_epoch => {
                return Err(Error::InconsistentConfig(format!(
                    "{fork} is scheduled at epoch {epoch}, before {prev} at epoch {prev_epoch}"
                )));
            }
            (None, Some(epoch)) => {
                return Err(Error::InconsistentConfig(format!(
                    "{fork} is scheduled at epoch {epoch} but an earlier fork is not scheduled"
                )));
            }
            _ => {}
        }
        previous = epoch.map(|e| (fork, e));
    }
    Ok(forks)
}

fn parse_blob_schedule(r: &Reader<'_>) -> Result<Vec<BlobParameters>> {
    const KEY: &str = "BLOB_SCHEDULE";
    let Some(value) = r.get(KEY) else {
        return Ok(Vec::new());
    };
    let Value::Array(entries) = value else {
        return Err(invalid(KEY, value, "expected a JSON array"));
    };
    let mut schedule = Vec::with_capacity(entries.len());
    for (i, entry) in entries.iter().enumerate() {
        let field = |name: &str| -> Result<u64> {
            let key = format!("{KEY}[{i}].{name}");
            let v = entry
                .get(name)
                .ok_or_else(|| Error::MissingConfigKey { key: key.clone() })?;
            parse_u64_value(&key, v)
        };
        schedule.push(BlobParameters {
            epoch: Epoch(field("EPOCH")?),
            max_blobs_per_block: field("MAX_BLOBS_PER_BLOCK")?,
        });
    }
    schedule.sort_unstable();
    if let Some(pair) = schedule.windows(2).find(|w| w[0].epoch == w[1].epoch) {
        return Err(invalid(
            KEY,
            value,
            format!("two entries for epoch {}", pair[0].epoch),
        ));
    }
    Ok(schedule)
}

fn parse_slot_duration_ms(r: &Reader<'_>) -> Result<u64> {
    let seconds = r.opt_u64("SECONDS_PER_SLOT")?;
    let millis = r.opt_u64("SLOT_DURATION_MS")?;
    let duration_ms = match (seconds, millis) {
        (_, Some(ms)) => {
            if let Some(s) = seconds.filter(|s| s.checked_mul(1000) != Some(ms)) {
                return Err(Error::InconsistentConfig(format!(
                    "SECONDS_PER_SLOT is {s} but SLOT_DURATION_MS is {ms}"
                )));
            }
            ms
        }
        (Some(s), None) => s.checked_mul(1000).ok_or_else(|| {
            invalid(
                "SECONDS_PER_SLOT",
                r.get("SECONDS_PER_SLOT").unwrap_or(&Value::Null),
                "too large",
            )
        })?,
        (None, None) => {
            return Err(Error::MissingConfigKey {
                key: "SECONDS_PER_SLOT".into(),
            });
        }
    };
    if duration_ms == 0 {
        return Err(Error::InconsistentConfig(
            "the slot duration is zero".into(),
        ));
    }
    Ok(duration_ms)
}

fn parse_duty_timings(r: &Reader<'_>) -> Result<DutyTimings> {
    let bps = |key: &str, default: u64| -> Result<u64> {
        let value = r.opt_u64(key)?.unwrap_or(default);
        if value > 10_000 {
            return Err(invalid(
                key,
                r.require(key)?,
                "basis points must be at most 10000",
            ));
        }
        Ok(value)
    };
    Ok(DutyTimings {
        attestation_due_bps: bps("ATTESTATION_DUE_BPS", 3333)?,
        aggregate_due_bps: bps("AGGREGATE_DUE_BPS", 6667)?,
        sync_message_due_bps: bps("SYNC_MESSAGE_DUE_BPS", 3333)?,
        contribution_due_bps: bps("CONTRIBUTION_DUE_BPS", 6667)?,
    })
}

fn parse_domain_types(r: &Reader<'_>) -> Result<DomainTypes> {
    let spec = DomainTypes::SPEC;
    Ok(DomainTypes {
        beacon_proposer: r.domain("DOMAIN_BEACON_PROPOSER", spec.beacon_proposer)?,
        beacon_attester: r.domain("DOMAIN_BEACON_ATTESTER", spec.beacon_attester)?,
        randao: r.domain("DOMAIN_RANDAO", spec.randao)?,
        deposit: r.domain("DOMAIN_DEPOSIT", spec.deposit)?,
        voluntary_exit: r.domain("DOMAIN_VOLUNTARY_EXIT", spec.voluntary_exit)?,
        selection_proof: r.domain("DOMAIN_SELECTION_PROOF", spec.selection_proof)?,
        aggregate_and_proof: r.domain("DOMAIN_AGGREGATE_AND_PROOF", spec.aggregate_and_proof)?,
        sync_committee: r.domain("DOMAIN_SYNC_COMMITTEE", spec.sync_committee)?,
        sync_committee_selection_proof: r.domain(
            "DOMAIN_SYNC_COMMITTEE_SELECTION_PROOF",
            spec.sync_committee_selection_proof,
        )?,
        contribution_and_proof: r
            .domain("DOMAIN_CONTRIBUTION_AND_PROOF", spec.contribution_and_proof)?,
        bls_to_execution_change: r.domain(
            "DOMAIN_BLS_TO_EXECUTION_CHANGE",
            spec.bls_to_execution_change,
        )?,
        application_mask: r.domain("DOMAIN_APPLICATION_MASK", spec.application_mask)?,
        application_builder: r.domain("DOMAIN_APPLICATION_BUILDER", spec.application_builder)?,
    })
}

impl ChainSpec {
    /// Parses the `data` object of `/eth/v1/config/spec`.
    pub fn from_config_map(map: &Map<String, Value>) -> Result<Self> {
        let r = Reader { map };
        let preset_value = r.require("PRESET_BASE")?;
        let preset_base = match preset_value {
            Value::String(s) => s.parse::<Preset>()?,
            other => return Err(invalid("PRESET_BASE", other, "expected a string")),
        };
        let config_name = match r.get("CONFIG_NAME") {
            None => None,
            Some(Value::String(s)) => Some(s.trim_matches('\'').to_owned()),
            Some(other) => return Err(invalid("CONFIG_NAME", other, "expected a string")),
        };
        let forks = parse_forks(&r)?;
        let scheduled =
            |fork: ForkName| forks[fork.index()].is_some_and(|p| p.epoch != FAR_FUTURE_EPOCH);
        let altair = scheduled(ForkName::Altair);
        let default_sync_period = match preset_base {
            Preset::Mainnet => 256,
            Preset::Minimal => 8,
        };
        let deposit_contract_address = r
            .get("DEPOSIT_CONTRACT_ADDRESS")
            .map(|v| parse_bytes::<20>("DEPOSIT_CONTRACT_ADDRESS", v).map(Address::from))
            .transpose()?;
        Ok(ChainSpec {
            preset_base,
            config_name,
            forks,
            slot_duration_ms: parse_slot_duration_ms(&r)?,
            slots_per_epoch: r.positive_u64("SLOTS_PER_EPOCH")?,
            duty_timings: parse_duty_timings(&r)?,
            domain_types: parse_domain_types(&r)?,
            // Validator-spec constants: nodes usually report them, config files do not.
            target_aggregators_per_committee: r.u64_or(
                "TARGET_AGGREGATORS_PER_COMMITTEE",
                false,
                TARGET_AGGREGATORS_PER_COMMITTEE,
            )?,
            target_aggregators_per_sync_subcommittee: r.u64_or(
                "TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE",
                false,
                TARGET_AGGREGATORS_PER_SYNC_SUBCOMMITTEE,
            )?,
            sync_committee_subnet_count: r.u64_or(
                "SYNC_COMMITTEE_SUBNET_COUNT",
                false,
                SYNC_COMMITTEE_SUBNET_COUNT,
            )?,
            attestation_subnet_count: r.positive_u64("ATTESTATION_SUBNET_COUNT")?,
            epochs_per_sync_committee_period: r.u64_or(
                "EPOCHS_PER_SYNC_COMMITTEE_PERIOD",
                altair,
                default_sync_period,
            )?,
            shard_committee_period: r.u64("SHARD_COMMITTEE_PERIOD")?,
            max_effective_balance: r.positive_u64("MAX_EFFECTIVE_BALANCE")?,
            max_effective_balance_electra: r.u64_or(
                "MAX_EFFECTIVE_BALANCE_ELECTRA",
                scheduled(ForkName::Electra),
                2_048_000_000_000,
            )?,
            max_blobs_per_block: r.u64_or("MAX_BLOBS_PER_BLOCK", scheduled(ForkName::Deneb), 6)?,
            max_blobs_per_block_electra: r.u64_or(
                "MAX_BLOBS_PER_BLOCK_ELECTRA",
                scheduled(ForkName::Electra),
                9,
            )?,
            blob_schedule: parse_blob_schedule(&r)?,
            deposit_chain_id: r.opt_u64("DEPOSIT_CHAIN_ID")?,
            deposit_contract_address,
            raw: map.clone(),
        })
    }

    /// Parses a whole `/eth/v1/config/spec` response (`{"data": {...}}`).
    pub fn from_spec_response(response: &Value) -> Result<Self> {
        match response.get("data") {
            Some(Value::Object(map)) => Self::from_config_map(map),
            Some(other) => Err(invalid(
                "data",
                other,
                "expected an object of config values",
            )),
            None => Err(Error::MissingConfigKey { key: "data".into() }),
        }
    }
}
