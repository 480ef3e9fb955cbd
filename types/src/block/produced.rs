//! The `data` of `produceBlockV3`, whose shape depends on the fork and on whether the beacon node
//! returned a blinded (builder) or a full (local) payload.
//!
//! | fork          | full payload       | blinded payload        |
//! |---------------|--------------------|------------------------|
//! | phase0..capella | `BeaconBlock`    | `BlindedBeaconBlock`   |
//! | deneb..       | `BlockContents`    | `BlindedBeaconBlock`   |
//!
//! Phase0 and Altair have no payload: both kinds are the plain block.

use serde::{Serialize, Serializer};

use super::{BeaconBlock, BlindedBeaconBlock, BlockContents};
use crate::error::Result;
use crate::eth_spec::EthSpec;
use crate::fork_name::ForkName;
use crate::primitives::{ExecutionAddress, Hash256, SignatureBytes, Slot};

/// Whether the execution payload is included or only its header (the
/// `Eth-Execution-Payload-Blinded` header / `execution_payload_blinded` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadKind {
    /// The full payload (locally built).
    Full,
    /// Only the payload header (builder block, to be unblinded by the relay).
    Blinded,
}

impl PayloadKind {
    /// From the `execution_payload_blinded` flag.
    pub fn from_blinded_flag(blinded: bool) -> Self {
        if blinded {
            PayloadKind::Blinded
        } else {
            PayloadKind::Full
        }
    }
}

/// A block proposal as returned by `produceBlockV3`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProducedBlock<E: EthSpec> {
    /// A full block without blobs (before Deneb).
    Full(BeaconBlock<E>),
    /// A full block with blobs and proofs (Deneb and later).
    Contents(BlockContents<E>),
    /// A blinded block.
    Blinded(BlindedBeaconBlock<E>),
}

impl<E: EthSpec> ProducedBlock<E> {
    /// Decodes the JSON `data` for `fork` and payload kind.
    pub fn from_json_value(
        fork: ForkName,
        kind: PayloadKind,
        value: serde_json::Value,
    ) -> Result<Self> {
        Ok(match kind {
            PayloadKind::Blinded => {
                Self::Blinded(BlindedBeaconBlock::from_json_value(fork, value)?)
            }
            PayloadKind::Full if fork.has_blobs() => {
                Self::Contents(BlockContents::from_json_value(fork, value)?)
            }
            PayloadKind::Full => Self::Full(BeaconBlock::from_json_value(fork, value)?),
        })
    }

    /// Decodes an SSZ body for `fork` and payload kind.
    pub fn from_ssz_bytes(bytes: &[u8], fork: ForkName, kind: PayloadKind) -> Result<Self> {
        Ok(match kind {
            PayloadKind::Blinded => Self::Blinded(BlindedBeaconBlock::from_ssz_bytes(bytes, fork)?),
            PayloadKind::Full if fork.has_blobs() => {
                Self::Contents(BlockContents::from_ssz_bytes(bytes, fork)?)
            }
            PayloadKind::Full => Self::Full(BeaconBlock::from_ssz_bytes(bytes, fork)?),
        })
    }

    /// The SSZ encoding.
    pub fn as_ssz_bytes(&self) -> Vec<u8> {
        match self {
            Self::Full(block) => block.as_ssz_bytes(),
            Self::Contents(contents) => contents.as_ssz_bytes(),
            Self::Blinded(block) => block.as_ssz_bytes(),
        }
    }

    /// Whether the payload is blinded.
    pub fn payload_kind(&self) -> PayloadKind {
        match self {
            Self::Full(_) | Self::Contents(_) => PayloadKind::Full,
            Self::Blinded(_) => PayloadKind::Blinded,
        }
    }

    /// The block's fork.
    pub fn fork_name(&self) -> ForkName {
        match self {
            Self::Full(block) => block.fork_name(),
            Self::Contents(contents) => contents.fork_name(),
            Self::Blinded(block) => block.fork_name(),
        }
    }

    /// The block's slot.
    pub fn slot(&self) -> Slot {
        match self {
            Self::Full(block) => block.slot(),
            Self::Contents(contents) => contents.block.slot(),
            Self::Blinded(block) => block.slot(),
        }
    }

    /// The block's proposer index.
    pub fn proposer_index(&self) -> u64 {
        match self {
            Self::Full(block) => block.proposer_index(),
            Self::Contents(contents) => contents.block.proposer_index(),
            Self::Blinded(block) => block.proposer_index(),
        }
    }

    /// The block root the proposer signs (equal for full and blinded forms of one block).
    pub fn block_root(&self) -> Hash256 {
        match self {
            Self::Full(block) => block.tree_hash_root(),
            Self::Contents(contents) => contents.block.tree_hash_root(),
            Self::Blinded(block) => block.tree_hash_root(),
        }
    }

    /// The execution payload's fee recipient; `None` before Bellatrix.
    pub fn fee_recipient(&self) -> Option<ExecutionAddress> {
        match self {
            Self::Full(block) => block.fee_recipient(),
            Self::Contents(contents) => contents.block.fee_recipient(),
            Self::Blinded(block) => block.fee_recipient(),
        }
    }

    /// Attaches the proposer's signature.
    pub fn into_signed(self, signature: SignatureBytes) -> SignedProducedBlock<E> {
        match self {
            Self::Full(block) => SignedProducedBlock::Full(block.into_signed(signature)),
            Self::Contents(contents) => {
                SignedProducedBlock::Contents(contents.into_signed(signature))
            }
            Self::Blinded(block) => SignedProducedBlock::Blinded(block.into_signed(signature)),
        }
    }
}

impl<E: EthSpec> Serialize for ProducedBlock<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Full(block) => block.serialize(serializer),
            Self::Contents(contents) => contents.serialize(serializer),
            Self::Blinded(block) => block.serialize(serializer),
        }
    }
}

/// A signed proposal, ready for `publishBlockV2` or `publishBlindedBlockV2`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SignedProducedBlock<E: EthSpec> {
    /// A signed full block (before Deneb).
    Full(super::SignedBeaconBlock<E>),
    /// A signed block with blobs (Deneb and later).
    Contents(super::SignedBlockContents<E>),
    /// A signed blinded block.
    Blinded(super::SignedBlindedBeaconBlock<E>),
}

impl<E: EthSpec> SignedProducedBlock<E> {
    /// The block's fork (the `Eth-Consensus-Version` to publish with).
    pub fn fork_name(&self) -> ForkName {
        match self {
            Self::Full(block) => block.fork_name(),
            Self::Contents(contents) => contents.fork_name(),
            Self::Blinded(block) => block.fork_name(),
        }
    }

    /// Whether it goes to the blinded publishing endpoint.
    pub fn payload_kind(&self) -> PayloadKind {
        match self {
            Self::Full(_) | Self::Contents(_) => PayloadKind::Full,
            Self::Blinded(_) => PayloadKind::Blinded,
        }
    }

    /// The SSZ encoding.
    pub fn as_ssz_bytes(&self) -> Vec<u8> {
        match self {
            Self::Full(block) => block.as_ssz_bytes(),
            Self::Contents(contents) => contents.as_ssz_bytes(),
            Self::Blinded(block) => block.as_ssz_bytes(),
        }
    }
}

impl<E: EthSpec> Serialize for SignedProducedBlock<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        match self {
            Self::Full(block) => block.serialize(serializer),
            Self::Contents(contents) => contents.serialize(serializer),
            Self::Blinded(block) => block.serialize(serializer),
        }
    }
}
