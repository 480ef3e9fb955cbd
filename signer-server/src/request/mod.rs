//! Parsing a `POST /api/v1/eth2/sign/{identifier}` body into a typed [`SignRequest`].
//!
//! The body is a JSON object with `type`, `fork_info` (every type but `DEPOSIT` and
//! `VALIDATOR_REGISTRATION`), an optional `signingRoot` and the object of that type under its
//! own member (`attestation`, `beacon_block`, …, see [`RequestType::object_field`]). Objects
//! are decoded into the consensus containers of [`types`] with the preset `E`, so a list or
//! bitfield longer than the preset allows is refused like any other malformed field.
//!
//! Leniency, on purpose: object keys written in camelCase (`signingRoot`, `previousVersion`,
//! `proposerIndex`, as some of the specification's own examples do) are read as their
//! snake_case names; members the type does not use are ignored at the top level (inside a
//! consensus object an unknown member is an error). Every refusal names the member and, for a
//! bad field, its JSON path.

mod block;

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};
use types::{
    AggregateAndProof, AttestationData, ContributionAndProof, DepositMessage, Epoch, EthSpec, Fork,
    ForkName, Hash256, PublicKeyBytes, Slot, SyncAggregatorSelectionData, ValidatorRegistrationV1,
    Version, VoluntaryExit,
};

use crate::message::Message;

/// A request body that cannot be signed as sent: what was wrong, for a 400 answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadRequest(pub String);

impl BadRequest {
    fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}

/// The request `type`s of the specification.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RequestType {
    /// `AGGREGATION_SLOT`.
    AggregationSlot,
    /// `AGGREGATE_AND_PROOF` (deprecated: phase0 shape).
    AggregateAndProof,
    /// `AGGREGATE_AND_PROOF_V2` (versioned).
    AggregateAndProofV2,
    /// `ATTESTATION`.
    Attestation,
    /// `BLOCK` (deprecated: a phase0 or Altair block).
    Block,
    /// `BLOCK_V2` (versioned: a block, a blinded block or a header).
    BlockV2,
    /// `DEPOSIT`.
    Deposit,
    /// `RANDAO_REVEAL`.
    RandaoReveal,
    /// `VOLUNTARY_EXIT`.
    VoluntaryExit,
    /// `SYNC_COMMITTEE_MESSAGE`.
    SyncCommitteeMessage,
    /// `SYNC_COMMITTEE_SELECTION_PROOF`.
    SyncCommitteeSelectionProof,
    /// `SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF`.
    SyncCommitteeContributionAndProof,
    /// `VALIDATOR_REGISTRATION`.
    ValidatorRegistration,
}

impl RequestType {
    /// Every type of the specification.
    pub const ALL: [RequestType; 13] = [
        RequestType::AggregationSlot,
        RequestType::AggregateAndProof,
        RequestType::AggregateAndProofV2,
        RequestType::Attestation,
        RequestType::Block,
        RequestType::BlockV2,
        RequestType::Deposit,
        RequestType::RandaoReveal,
        RequestType::VoluntaryExit,
        RequestType::SyncCommitteeMessage,
        RequestType::SyncCommitteeSelectionProof,
        RequestType::SyncCommitteeContributionAndProof,
        RequestType::ValidatorRegistration,
    ];

    /// The `type` value.
    pub const fn as_str(self) -> &'static str {
        match self {
            RequestType::AggregationSlot => "AGGREGATION_SLOT",
            RequestType::AggregateAndProof => "AGGREGATE_AND_PROOF",
            RequestType::AggregateAndProofV2 => "AGGREGATE_AND_PROOF_V2",
            RequestType::Attestation => "ATTESTATION",
            RequestType::Block => "BLOCK",
            RequestType::BlockV2 => "BLOCK_V2",
            RequestType::Deposit => "DEPOSIT",
            RequestType::RandaoReveal => "RANDAO_REVEAL",
            RequestType::VoluntaryExit => "VOLUNTARY_EXIT",
            RequestType::SyncCommitteeMessage => "SYNC_COMMITTEE_MESSAGE",
            RequestType::SyncCommitteeSelectionProof => "SYNC_COMMITTEE_SELECTION_PROOF",
            RequestType::SyncCommitteeContributionAndProof => {
                "SYNC_COMMITTEE_CONTRIBUTION_AND_PROOF"
            }
            RequestType::ValidatorRegistration => "VALIDATOR_REGISTRATION",
        }
    }

    /// The member holding the type's object.
    pub const fn object_field(self) -> &'static str {
        match self {
            RequestType::AggregationSlot => "aggregation_slot",
            RequestType::AggregateAndProof | RequestType::AggregateAndProofV2 => {
                "aggregate_and_proof"
            }
            RequestType::Attestation => "attestation",
            RequestType::Block => "block",
            RequestType::BlockV2 => "beacon_block",
            RequestType::Deposit => "deposit",
            RequestType::RandaoReveal => "randao_reveal",
            RequestType::VoluntaryExit => "voluntary_exit",
            RequestType::SyncCommitteeMessage => "sync_committee_message",
            RequestType::SyncCommitteeSelectionProof => "sync_aggregator_selection_data",
            RequestType::SyncCommitteeContributionAndProof => "contribution_and_proof",
            RequestType::ValidatorRegistration => "validator_registration",
        }
    }

    /// Whether the type is signed under a fork-dependent domain (and so needs `fork_info`).
    pub const fn needs_fork_info(self) -> bool {
        !matches!(
            self,
            RequestType::Deposit | RequestType::ValidatorRegistration
        )
    }

    fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == text)
    }
}

/// `fork_info`: the fork the message is signed under and the chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ForkInfo {
    /// The fork: `previous_version` applies before `epoch`, `current_version` from it on.
    pub fork: Fork,
    /// The chain.
    pub genesis_validators_root: Hash256,
}

impl ForkInfo {
    /// The version this fork information gives a message about `epoch` (as `get_domain` does
    /// with a state's fork).
    pub fn version_at(&self, epoch: Epoch) -> Version {
        if epoch < self.fork.epoch {
            self.fork.previous_version
        } else {
            self.fork.current_version
        }
    }
}

/// A parsed signing request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignRequest<E: EthSpec> {
    /// The `type` it was sent as.
    pub request_type: RequestType,
    /// `fork_info`, when sent.
    pub fork_info: Option<ForkInfo>,
    /// `signingRoot`, when sent (checked against the computed root).
    pub signing_root: Option<Hash256>,
    /// The message.
    pub message: Message<E>,
}

/// Parses a path `identifier`: a 0x-prefixed 48-byte hex public key (any case).
pub fn parse_identifier(identifier: &str) -> Result<PublicKeyBytes, BadRequest> {
    let digits = identifier
        .strip_prefix("0x")
        .or_else(|| identifier.strip_prefix("0X"))
        .unwrap_or(identifier);
    let mut bytes = [0u8; 48];
    hex::decode_to_slice(digits, &mut bytes).map_err(|_| {
        BadRequest::new(format!(
            "identifier {:?} is not a BLS public key (0x and 96 hex digits)",
            shorten(identifier)
        ))
    })?;
    Ok(PublicKeyBytes::from(bytes))
}

fn shorten(text: &str) -> String {
    let mut out: String = text.chars().take(104).collect();
    if text.chars().count() > 104 {
        out.push('…');
    }
    out
}

/// `camelCase` to `snake_case`; other spellings unchanged.
fn snake_case(key: &str) -> Option<String> {
    let mut chars = key.chars();
    let first = chars.next()?;
    if !first.is_ascii_lowercase() || !key.bytes().any(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut out = String::with_capacity(key.len() + 4);
    for c in key.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Rewrites camelCase object keys as snake_case, recursively; a key given both ways is an error.
fn normalise_keys(value: Value, at: &str) -> Result<Value, BadRequest> {
    match value {
        Value::Object(map) => {
            let mut out = Map::with_capacity(map.len());
            for (key, inner) in map {
                let key = snake_case(&key).unwrap_or(key);
                let path = format!("{at}.{key}");
                let inner = normalise_keys(inner, &path)?;
                if out.insert(key, inner).is_some() {
                    return Err(BadRequest::new(format!(
                        "`{}` is given twice (in camelCase and snake_case)",
                        path.trim_start_matches('.')
                    )));
                }
            }
            Ok(Value::Object(out))
        }
        Value::Array(items) => items
            .into_iter()
            .enumerate()
            .map(|(i, item)| normalise_keys(item, &format!("{at}[{i}]")))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array),
        other => Ok(other),
    }
}

/// Decodes `value` (the member `field`) into `T`, naming the member and the path on failure.
pub(crate) fn decode<T: DeserializeOwned>(field: &str, value: Value) -> Result<T, BadRequest> {
    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let location = if path == "." {
            format!("`{field}`")
        } else {
            format!("`{field}.{path}`")
        };
        BadRequest::new(format!("invalid {location}: {}", error.into_inner()))
    })
}

/// Decodes a consensus error of the types crate (blocks, aggregates) as a refusal naming
/// `field`.
pub(crate) fn types_error(field: &str, error: types::Error) -> BadRequest {
    BadRequest::new(format!("invalid `{field}`: {error}"))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotObject {
    slot: Slot,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EpochObject {
    epoch: Epoch,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SyncMessageObject {
    beacon_block_root: Hash256,
    slot: Slot,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct DepositObject {
    pubkey: PublicKeyBytes,
    withdrawal_credentials: Hash256,
    #[serde(with = "types::serde_utils::quoted_u64")]
    amount: u64,
    genesis_fork_version: Version,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Versioned {
    version: String,
    data: Value,
}

/// Parses a fork name as the specification writes it (`PHASE0`, `DENEB`, any case).
pub(crate) fn parse_fork(field: &str, text: &str) -> Result<ForkName, BadRequest> {
    text.parse::<ForkName>().map_err(|_| {
        BadRequest::new(format!(
            "`{field}` {:?} is not a fork (PHASE0, ALTAIR, BELLATRIX, CAPELLA, DENEB, ELECTRA, FULU)",
            shorten(text)
        ))
    })
}

impl<E: EthSpec> SignRequest<E> {
    /// Parses a request body.
    pub fn from_slice(body: &[u8]) -> Result<Self, BadRequest> {
        let value: Value = serde_json::from_slice(body)
            .map_err(|e| BadRequest::new(format!("the body is not JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Parses a request given as JSON.
    pub fn from_value(value: Value) -> Result<Self, BadRequest> {
        let Value::Object(map) = normalise_keys(value, "")? else {
            return Err(BadRequest::new("the body must be a JSON object"));
        };
        let mut map = map;
        let type_text = match map.remove("type") {
            Some(Value::String(text)) => text,
            Some(other) => {
                return Err(BadRequest::new(format!(
                    "`type` must be a string, got {}",
                    shorten(&other.to_string())
                )));
            }
            None => return Err(BadRequest::new("`type` is missing")),
        };
        let request_type = RequestType::parse(&type_text).ok_or_else(|| {
            let known: Vec<&str> = RequestType::ALL.iter().map(|t| t.as_str()).collect();
            BadRequest::new(format!(
                "unknown `type` {:?}; the types are {}",
                shorten(&type_text),
                known.join(", ")
            ))
        })?;
        let signing_root = match map.remove("signing_root") {
            None | Some(Value::Null) => None,
            Some(value) => Some(decode::<Hash256>("signingRoot", value)?),
        };
        let fork_info = match map.remove("fork_info") {
            None | Some(Value::Null) => None,
            Some(value) => Some(decode::<ForkInfo>("fork_info", value)?),
        };
        if request_type.needs_fork_info() && fork_info.is_none() {
            return Err(BadRequest::new(format!(
                "`fork_info` is required for type {}",
                request_type.as_str()
            )));
        }
        let field = request_type.object_field();
        let object = match map.remove(field) {
            None | Some(Value::Null) => {
                return Err(BadRequest::new(format!(
                    "`{field}` is required for type {}",
                    request_type.as_str()
                )));
            }
            Some(object) => object,
        };
        let message = Self::message(request_type, field, object)?;
        Ok(SignRequest {
            request_type,
            fork_info,
            signing_root,
            message,
        })
    }

    fn message(
        request_type: RequestType,
        field: &str,
        object: Value,
    ) -> Result<Message<E>, BadRequest> {
        Ok(match request_type {
            RequestType::AggregationSlot => {
                Message::AggregationSlot(decode::<SlotObject>(field, object)?.slot)
            }
            RequestType::AggregateAndProof => Message::AggregateAndProof(Box::new(
                AggregateAndProof::from_json_value(ForkName::Phase0, object)
                    .map_err(|e| types_error(field, e))?,
            )),
            RequestType::AggregateAndProofV2 => {
                let versioned = decode::<Versioned>(field, object)?;
                let fork = parse_fork(&format!("{field}.version"), &versioned.version)?;
                let field = format!("{field}.data");
                Message::AggregateAndProof(Box::new(
                    AggregateAndProof::from_json_value(fork, versioned.data)
                        .map_err(|e| types_error(&field, e))?,
                ))
            }
            RequestType::Attestation => {
                Message::Attestation(decode::<AttestationData>(field, object)?)
            }
            RequestType::Block => Message::Block(block::parse_block_v1(field, object)?),
            RequestType::BlockV2 => Message::Block(block::parse_block_v2(field, object)?),
            RequestType::Deposit => {
                let deposit = decode::<DepositObject>(field, object)?;
                Message::Deposit {
                    message: DepositMessage {
                        pubkey: deposit.pubkey,
                        withdrawal_credentials: deposit.withdrawal_credentials,
                        amount: deposit.amount,
                    },
                    genesis_fork_version: deposit.genesis_fork_version,
                }
            }
            RequestType::RandaoReveal => {
                Message::RandaoReveal(decode::<EpochObject>(field, object)?.epoch)
            }
            RequestType::VoluntaryExit => {
                Message::VoluntaryExit(decode::<VoluntaryExit>(field, object)?)
            }
            RequestType::SyncCommitteeMessage => {
                let message = decode::<SyncMessageObject>(field, object)?;
                Message::SyncCommitteeMessage {
                    beacon_block_root: message.beacon_block_root,
                    slot: message.slot,
                }
            }
            RequestType::SyncCommitteeSelectionProof => Message::SyncCommitteeSelectionProof(
                decode::<SyncAggregatorSelectionData>(field, object)?,
            ),
            RequestType::SyncCommitteeContributionAndProof => Message::ContributionAndProof(
                Box::new(decode::<ContributionAndProof<E>>(field, object)?),
            ),
            RequestType::ValidatorRegistration => {
                Message::ValidatorRegistration(decode::<ValidatorRegistrationV1>(field, object)?)
            }
        })
    }
}

#[cfg(test)]
mod tests;
