//! Fork-versioned API payloads.
//!
//! Many Beacon API responses wrap fork-dependent data as
//! `{"version": "<fork>", "execution_optimistic": .., "finalized": .., "data": ..}`; the same
//! fork travels as the `Eth-Consensus-Version` header with SSZ bodies. [`ForkVersioned`] is that
//! envelope; [`ForkVersionedDecode`] is implemented by every type whose decoding depends on the
//! fork. Operation types whose shape changed at Electra (attestations, aggregates, attester
//! slashings) get enums here, mapping phase0..deneb to the phase0 shape and Electra+ to the new
//! one.

use serde::{Deserialize, Serialize, Serializer};
use serde_json::{Map, Value};
use ssz::Encode;
use tree_hash::TreeHash;

use crate::block::{
    BeaconBlock, BlindedBeaconBlock, BlockContents, SignedBeaconBlock, SignedBlindedBeaconBlock,
    SignedBlockContents,
};
use crate::containers::{
    AggregateAndProofElectra, AggregateAndProofPhase0, AttestationData, AttestationElectra,
    AttestationPhase0, AttesterSlashingElectra, AttesterSlashingPhase0,
    SignedAggregateAndProofElectra, SignedAggregateAndProofPhase0,
};
use crate::error::{Error, Result, from_json_value, from_ssz_bytes};
use crate::eth_spec::EthSpec;
use crate::fork_name::ForkName;
use crate::primitives::{Hash256, SignatureBytes};

/// Types whose SSZ and JSON decoding depends on the fork.
pub trait ForkVersionedDecode: Sized {
    /// Decodes Beacon API JSON as of `fork`.
    fn decode_json(fork: ForkName, value: Value) -> Result<Self>;
    /// Decodes SSZ as of `fork`.
    fn decode_ssz(bytes: &[u8], fork: ForkName) -> Result<Self>;
}

macro_rules! impl_fork_versioned_decode {
    ($($ty:ident),+) => {
        $(
            impl<E: EthSpec> ForkVersionedDecode for $ty<E> {
                fn decode_json(fork: ForkName, value: Value) -> Result<Self> {
                    $ty::from_json_value(fork, value)
                }
                fn decode_ssz(bytes: &[u8], fork: ForkName) -> Result<Self> {
                    $ty::from_ssz_bytes(bytes, fork)
                }
            }
        )+
    };
}

impl_fork_versioned_decode!(
    BeaconBlock,
    BlindedBeaconBlock,
    SignedBeaconBlock,
    SignedBlindedBeaconBlock,
    BlockContents,
    SignedBlockContents,
    Attestation,
    AttesterSlashing,
    AggregateAndProof,
    SignedAggregateAndProof
);

/// The `{"version", "execution_optimistic", "finalized", "data"}` envelope.
///
/// Other top-level fields (e.g. `execution_payload_value` of `produceBlockV3`) are kept in
/// `metadata` and written back on encoding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ForkVersioned<T> {
    /// The fork of `data`.
    pub version: ForkName,
    /// Whether the data references an optimistically imported block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_optimistic: Option<bool>,
    /// Whether the data is finalized.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finalized: Option<bool>,
    /// The payload.
    pub data: T,
    /// Any other top-level fields.
    #[serde(flatten)]
    pub metadata: Map<String, Value>,
}

impl<T: ForkVersionedDecode> ForkVersioned<T> {
    /// Decodes the envelope, then `data` according to `version`.
    pub fn decode_json(value: Value) -> Result<Self> {
        let envelope: ForkVersioned<Value> =
            from_json_value("fork-versioned response", None, value)?;
        let data = T::decode_json(envelope.version, envelope.data).map_err(|e| match e {
            Error::Json {
                what,
                fork,
                path,
                source,
            } => Error::Json {
                what,
                fork,
                path: if path == "." {
                    "data".into()
                } else {
                    format!("data.{path}")
                },
                source,
            },
            other => other,
        })?;
        Ok(ForkVersioned {
            version: envelope.version,
            execution_optimistic: envelope.execution_optimistic,
            finalized: envelope.finalized,
            data,
            metadata: envelope.metadata,
        })
    }
}

/// Defines a two-shape operation enum: `Phase0` up to Deneb, `Electra` from Electra on.
macro_rules! electra_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, $phase0:ident, $electra:ident) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name<E: EthSpec> {
            #[doc = concat!("The phase0..deneb ", $what, ".")]
            Phase0($phase0<E>),
            #[doc = concat!("The Electra+ ", $what, ".")]
            Electra($electra<E>),
        }

        impl<E: EthSpec> $name<E> {
            /// Decodes Beacon API JSON in the shape used at `fork`.
            pub fn from_json_value(fork: ForkName, value: Value) -> Result<Self> {
                Ok(if fork.is_electra_or_later() {
                    Self::Electra(from_json_value($what, Some(fork), value)?)
                } else {
                    Self::Phase0(from_json_value($what, Some(fork), value)?)
                })
            }

            /// Decodes SSZ in the shape used at `fork`.
            pub fn from_ssz_bytes(bytes: &[u8], fork: ForkName) -> Result<Self> {
                Ok(if fork.is_electra_or_later() {
                    Self::Electra(from_ssz_bytes($what, fork, bytes)?)
                } else {
                    Self::Phase0(from_ssz_bytes($what, fork, bytes)?)
                })
            }

            /// The SSZ encoding.
            pub fn as_ssz_bytes(&self) -> Vec<u8> {
                match self {
                    Self::Phase0(inner) => inner.as_ssz_bytes(),
                    Self::Electra(inner) => inner.as_ssz_bytes(),
                }
            }

            /// The hash tree root.
            pub fn tree_hash_root(&self) -> Hash256 {
                match self {
                    Self::Phase0(inner) => inner.tree_hash_root(),
                    Self::Electra(inner) => inner.tree_hash_root(),
                }
            }

            /// Whether this is the Electra shape.
            pub fn is_electra(&self) -> bool {
                matches!(self, Self::Electra(_))
            }
        }

        impl<E: EthSpec> Serialize for $name<E> {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                match self {
                    Self::Phase0(inner) => inner.serialize(serializer),
                    Self::Electra(inner) => inner.serialize(serializer),
                }
            }
        }
    };
}

electra_enum!(
    /// An aggregate attestation of either shape.
    Attestation, "attestation", AttestationPhase0, AttestationElectra
);
electra_enum!(
    /// An attester slashing of either shape.
    AttesterSlashing, "attester slashing", AttesterSlashingPhase0, AttesterSlashingElectra
);
electra_enum!(
    /// An aggregate-and-proof of either shape.
    AggregateAndProof, "aggregate and proof", AggregateAndProofPhase0, AggregateAndProofElectra
);
electra_enum!(
    /// A signed aggregate-and-proof of either shape.
    SignedAggregateAndProof,
    "signed aggregate and proof",
    SignedAggregateAndProofPhase0,
    SignedAggregateAndProofElectra
);

impl<E: EthSpec> Attestation<E> {
    /// The attestation data (what slashing protection checks).
    pub fn data(&self) -> &AttestationData {
        match self {
            Self::Phase0(a) => &a.data,
            Self::Electra(a) => &a.data,
        }
    }

    /// The aggregate signature.
    pub fn signature(&self) -> SignatureBytes {
        match self {
            Self::Phase0(a) => a.signature,
            Self::Electra(a) => a.signature,
        }
    }

    /// The number of set aggregation bits (attesters included).
    pub fn num_attesters(&self) -> usize {
        match self {
            Self::Phase0(a) => a.aggregation_bits.num_set_bits(),
            Self::Electra(a) => a.aggregation_bits.num_set_bits(),
        }
    }
}

impl<E: EthSpec> AggregateAndProof<E> {
    /// The aggregator's validator index.
    pub fn aggregator_index(&self) -> u64 {
        match self {
            Self::Phase0(a) => a.aggregator_index,
            Self::Electra(a) => a.aggregator_index,
        }
    }

    /// The aggregate's attestation data.
    pub fn attestation_data(&self) -> &AttestationData {
        match self {
            Self::Phase0(a) => &a.aggregate.data,
            Self::Electra(a) => &a.aggregate.data,
        }
    }

    /// Attaches the aggregator's signature.
    pub fn into_signed(self, signature: SignatureBytes) -> SignedAggregateAndProof<E> {
        match self {
            Self::Phase0(message) => {
                SignedAggregateAndProof::Phase0(SignedAggregateAndProofPhase0 {
                    message,
                    signature,
                })
            }
            Self::Electra(message) => {
                SignedAggregateAndProof::Electra(SignedAggregateAndProofElectra {
                    message,
                    signature,
                })
            }
        }
    }
}

impl<E: EthSpec> Attestation<E> {
    /// Builds the aggregate-and-proof for this aggregate.
    pub fn into_aggregate_and_proof(
        self,
        aggregator_index: u64,
        selection_proof: SignatureBytes,
    ) -> AggregateAndProof<E> {
        match self {
            Self::Phase0(aggregate) => AggregateAndProof::Phase0(AggregateAndProofPhase0 {
                aggregator_index,
                aggregate,
                selection_proof,
            }),
            Self::Electra(aggregate) => AggregateAndProof::Electra(AggregateAndProofElectra {
                aggregator_index,
                aggregate,
                selection_proof,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::eth_spec::MinimalEthSpec;

    type E = MinimalEthSpec;

    #[test]
    fn envelope_keeps_metadata_and_decodes_by_version() {
        let block = BeaconBlock::<E>::Capella(Default::default());
        let response = json!({
            "version": "capella",
            "execution_payload_blinded": false,
            "execution_payload_value": "12345",
            "data": serde_json::to_value(&block).unwrap(),
        });
        let decoded = ForkVersioned::<BeaconBlock<E>>::decode_json(response.clone()).unwrap();
        assert_eq!(decoded.version, ForkName::Capella);
        assert_eq!(decoded.data, block);
        assert_eq!(decoded.execution_optimistic, None);
        assert_eq!(decoded.metadata["execution_payload_value"], json!("12345"));
        assert_eq!(serde_json::to_value(&decoded).unwrap(), response);
    }

    #[test]
    fn envelope_errors_name_version_and_data_path() {
        let err =
            ForkVersioned::<BeaconBlock<E>>::decode_json(json!({"version": "gloas", "data": {}}))
                .unwrap_err()
                .to_string();
        assert!(err.contains("gloas"), "{err}");
        let mut data = serde_json::to_value(BeaconBlock::<E>::Deneb(Default::default())).unwrap();
        data["proposer_index"] = json!("-3");
        let err =
            ForkVersioned::<BeaconBlock<E>>::decode_json(json!({"version": "deneb", "data": data}))
                .unwrap_err()
                .to_string();
        assert!(
            err.contains("data.proposer_index") && err.contains("-3"),
            "{err}"
        );
        let err = ForkVersioned::<BeaconBlock<E>>::decode_json(json!({"data": {}}))
            .unwrap_err()
            .to_string();
        assert!(err.contains("version"), "{err}");
    }

    #[test]
    fn attestation_shape_follows_fork() {
        let mut electra = AttestationElectra::<E> {
            aggregation_bits: ssz_types::BitList::with_capacity(3).unwrap(),
            data: AttestationData::default(),
            signature: SignatureBytes::repeat_byte(1),
            committee_bits: Default::default(),
        };
        electra.committee_bits.set(2, true).unwrap();
        electra.aggregation_bits.set(1, true).unwrap();
        assert_eq!(electra.committee_indices(), vec![2]);
        let json = serde_json::to_value(&electra).unwrap();
        let decoded = Attestation::<E>::from_json_value(ForkName::Fulu, json.clone()).unwrap();
        assert!(decoded.is_electra());
        assert_eq!(decoded.num_attesters(), 1);
        let err = Attestation::<E>::from_json_value(ForkName::Deneb, json).unwrap_err();
        assert!(err.to_string().contains("committee_bits"), "{err}");
        let bytes = decoded.as_ssz_bytes();
        assert_eq!(
            Attestation::<E>::from_ssz_bytes(&bytes, ForkName::Electra).unwrap(),
            decoded
        );

        let aggregate = decoded.into_aggregate_and_proof(7, SignatureBytes::repeat_byte(2));
        assert_eq!(aggregate.aggregator_index(), 7);
        let signed = aggregate.into_signed(SignatureBytes::repeat_byte(3));
        assert!(signed.is_electra());
    }
}
