//! Blocks of every fork behind fork-dispatching enums.
//!
//! `BeaconBlock<E>`, `BlindedBeaconBlock<E>`, `SignedBeaconBlock<E>` and
//! `SignedBlindedBeaconBlock<E>` hold the per-fork container of the fork they were decoded as;
//! the variant always equals the fork (`fork_name()`), and the enum's hash tree root is the inner
//! container's. Decoding needs the fork (from the `version` field or the
//! `Eth-Consensus-Version` header): SSZ carries no type tag and JSON shapes overlap.
//!
//! Phase0 and Altair blocks have no execution payload, so their "blinded" form is the full block.

pub mod body;
pub mod contents;
pub mod per_fork;
pub mod produced;

use serde::{Serialize, Serializer};
use ssz::Encode;
use tree_hash::TreeHash;

pub use body::*;
pub use contents::*;
pub use per_fork::*;
pub use produced::*;

use crate::containers::{BeaconBlockHeader, SignedBeaconBlockHeader};
use crate::error::{Result, from_json_value, from_ssz_bytes};
use crate::eth_spec::EthSpec;
use crate::fork_name::ForkName;
use crate::primitives::{ExecutionAddress, Graffiti, Hash256, KzgCommitment, SignatureBytes, Slot};

/// Runs `$body` with `$inner` bound to the variant's content, for every fork variant.
macro_rules! map_fork {
    ($enum:ident, $value:expr, $inner:ident => $body:expr) => {
        match $value {
            $enum::Phase0($inner) => $body,
            $enum::Altair($inner) => $body,
            $enum::Bellatrix($inner) => $body,
            $enum::Capella($inner) => $body,
            $enum::Deneb($inner) => $body,
            $enum::Electra($inner) => $body,
            $enum::Fulu($inner) => $body,
        }
    };
}

/// Defines a fork enum with decoding, encoding and hashing that dispatch on the fork.
macro_rules! fork_enum {
    ($(#[$meta:meta])* $name:ident, $what:literal, {
        $($variant:ident => $ty:ident),+ $(,)?
    }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub enum $name<E: EthSpec> {
            $(
                #[doc = concat!("A ", stringify!($variant), " ", $what, ".")]
                $variant($ty<E>),
            )+
        }

        impl<E: EthSpec> $name<E> {
            /// The fork of the contained container.
            pub fn fork_name(&self) -> ForkName {
                match self {
                    $(Self::$variant(_) => ForkName::$variant,)+
                }
            }

            /// Decodes SSZ bytes as the container of `fork`.
            pub fn from_ssz_bytes(bytes: &[u8], fork: ForkName) -> Result<Self> {
                Ok(match fork {
                    $(ForkName::$variant => Self::$variant(from_ssz_bytes($what, fork, bytes)?),)+
                })
            }

            /// Decodes Beacon API JSON as the container of `fork`.
            pub fn from_json_value(fork: ForkName, value: serde_json::Value) -> Result<Self> {
                Ok(match fork {
                    $(ForkName::$variant => Self::$variant(from_json_value($what, Some(fork), value)?),)+
                })
            }

            /// The SSZ encoding of the contained container.
            pub fn as_ssz_bytes(&self) -> Vec<u8> {
                map_fork!($name, self, inner => inner.as_ssz_bytes())
            }

            /// The hash tree root of the contained container.
            pub fn tree_hash_root(&self) -> Hash256 {
                map_fork!($name, self, inner => inner.tree_hash_root())
            }
        }

        impl<E: EthSpec> Serialize for $name<E> {
            fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
                map_fork!($name, self, inner => inner.serialize(serializer))
            }
        }

        impl<E: EthSpec> ssz::Encode for $name<E> {
            fn is_ssz_fixed_len() -> bool {
                false
            }

            fn ssz_append(&self, buf: &mut Vec<u8>) {
                map_fork!($name, self, inner => inner.ssz_append(buf))
            }

            fn ssz_bytes_len(&self) -> usize {
                map_fork!($name, self, inner => inner.ssz_bytes_len())
            }
        }
    };
}

fork_enum!(
    /// An unsigned block of any fork.
    BeaconBlock, "block", {
        Phase0 => BeaconBlockPhase0,
        Altair => BeaconBlockAltair,
        Bellatrix => BeaconBlockBellatrix,
        Capella => BeaconBlockCapella,
        Deneb => BeaconBlockDeneb,
        Electra => BeaconBlockElectra,
        Fulu => BeaconBlockFulu,
    }
);

fork_enum!(
    /// An unsigned blinded block of any fork (execution payload replaced by its header).
    BlindedBeaconBlock, "blinded block", {
        Phase0 => BeaconBlockPhase0,
        Altair => BeaconBlockAltair,
        Bellatrix => BlindedBeaconBlockBellatrix,
        Capella => BlindedBeaconBlockCapella,
        Deneb => BlindedBeaconBlockDeneb,
        Electra => BlindedBeaconBlockElectra,
        Fulu => BlindedBeaconBlockFulu,
    }
);

fork_enum!(
    /// A signed block of any fork.
    SignedBeaconBlock, "signed block", {
        Phase0 => SignedBeaconBlockPhase0,
        Altair => SignedBeaconBlockAltair,
        Bellatrix => SignedBeaconBlockBellatrix,
        Capella => SignedBeaconBlockCapella,
        Deneb => SignedBeaconBlockDeneb,
        Electra => SignedBeaconBlockElectra,
        Fulu => SignedBeaconBlockFulu,
    }
);

fork_enum!(
    /// A signed blinded block of any fork.
    SignedBlindedBeaconBlock, "signed blinded block", {
        Phase0 => SignedBeaconBlockPhase0,
        Altair => SignedBeaconBlockAltair,
        Bellatrix => SignedBlindedBeaconBlockBellatrix,
        Capella => SignedBlindedBeaconBlockCapella,
        Deneb => SignedBlindedBeaconBlockDeneb,
        Electra => SignedBlindedBeaconBlockElectra,
        Fulu => SignedBlindedBeaconBlockFulu,
    }
);

/// Accessors shared by all four enums; `$path` leads from the variant's content to the block
/// (empty for unsigned enums, `message` for signed ones).
macro_rules! block_accessors {
    ($name:ident, $payload:ident, [$($path:ident)?]) => {
        impl<E: EthSpec> $name<E> {
            /// The block's slot.
            pub fn slot(&self) -> Slot {
                map_fork!($name, self, b => b$(.$path)?.slot)
            }

            /// The proposer's validator index.
            pub fn proposer_index(&self) -> u64 {
                map_fork!($name, self, b => b$(.$path)?.proposer_index)
            }

            /// The parent block root.
            pub fn parent_root(&self) -> Hash256 {
                map_fork!($name, self, b => b$(.$path)?.parent_root)
            }

            /// The post-state root.
            pub fn state_root(&self) -> Hash256 {
                map_fork!($name, self, b => b$(.$path)?.state_root)
            }

            /// The hash tree root of the body.
            pub fn body_root(&self) -> Hash256 {
                map_fork!($name, self, b => b$(.$path)?.body.tree_hash_root())
            }

            /// The block header (its root equals the block root).
            pub fn block_header(&self) -> BeaconBlockHeader {
                map_fork!($name, self, b => b$(.$path)?.block_header())
            }

            /// The RANDAO reveal in the body.
            pub fn randao_reveal(&self) -> SignatureBytes {
                map_fork!($name, self, b => b$(.$path)?.body.randao_reveal)
            }

            /// The graffiti in the body.
            pub fn graffiti(&self) -> Graffiti {
                map_fork!($name, self, b => b$(.$path)?.body.graffiti)
            }

            /// The execution payload's fee recipient; `None` before Bellatrix.
            pub fn fee_recipient(&self) -> Option<ExecutionAddress> {
                match self {
                    Self::Phase0(_) | Self::Altair(_) => None,
                    Self::Bellatrix(b) => Some(b$(.$path)?.body.$payload.fee_recipient),
                    Self::Capella(b) => Some(b$(.$path)?.body.$payload.fee_recipient),
                    Self::Deneb(b) => Some(b$(.$path)?.body.$payload.fee_recipient),
                    Self::Electra(b) => Some(b$(.$path)?.body.$payload.fee_recipient),
                    Self::Fulu(b) => Some(b$(.$path)?.body.$payload.fee_recipient),
                }
            }

            /// The execution payload's gas limit; `None` before Bellatrix.
            pub fn execution_gas_limit(&self) -> Option<u64> {
                match self {
                    Self::Phase0(_) | Self::Altair(_) => None,
                    Self::Bellatrix(b) => Some(b$(.$path)?.body.$payload.gas_limit),
                    Self::Capella(b) => Some(b$(.$path)?.body.$payload.gas_limit),
                    Self::Deneb(b) => Some(b$(.$path)?.body.$payload.gas_limit),
                    Self::Electra(b) => Some(b$(.$path)?.body.$payload.gas_limit),
                    Self::Fulu(b) => Some(b$(.$path)?.body.$payload.gas_limit),
                }
            }

            /// The blob KZG commitments; empty before Deneb.
            pub fn blob_kzg_commitments(&self) -> &[KzgCommitment] {
                match self {
                    Self::Phase0(_) | Self::Altair(_) | Self::Bellatrix(_) | Self::Capella(_) => &[],
                    Self::Deneb(b) => &b$(.$path)?.body.blob_kzg_commitments,
                    Self::Electra(b) => &b$(.$path)?.body.blob_kzg_commitments,
                    Self::Fulu(b) => &b$(.$path)?.body.blob_kzg_commitments,
                }
            }
        }
    };
}

block_accessors!(BeaconBlock, execution_payload, []);
block_accessors!(BlindedBeaconBlock, execution_payload_header, []);
block_accessors!(SignedBeaconBlock, execution_payload, [message]);
block_accessors!(
    SignedBlindedBeaconBlock,
    execution_payload_header,
    [message]
);

/// Signing and splitting between an unsigned enum and its signed counterpart.
macro_rules! sign_conversions {
    ($unsigned:ident, $signed:ident, { $($variant:ident => $signed_ty:ident),+ $(,)? }) => {
        impl<E: EthSpec> $unsigned<E> {
            /// Attaches the proposer's signature.
            pub fn into_signed(self, signature: SignatureBytes) -> $signed<E> {
                match self {
                    $(Self::$variant(message) => $signed::$variant($signed_ty { message, signature }),)+
                }
            }
        }

        impl<E: EthSpec> $signed<E> {
            /// The block root (hash tree root of the message, what the signature covers).
            pub fn block_root(&self) -> Hash256 {
                map_fork!($signed, self, b => b.message.tree_hash_root())
            }

            /// The proposer's signature.
            pub fn signature(&self) -> SignatureBytes {
                map_fork!($signed, self, b => b.signature)
            }

            /// The signed header (for slashing protection and proposer slashings).
            pub fn signed_block_header(&self) -> SignedBeaconBlockHeader {
                map_fork!($signed, self, b => b.signed_block_header())
            }

            /// A copy of the unsigned block.
            pub fn message(&self) -> $unsigned<E> {
                match self {
                    $(Self::$variant(b) => $unsigned::$variant(b.message.clone()),)+
                }
            }

            /// Splits into the unsigned block and the signature.
            pub fn into_parts(self) -> ($unsigned<E>, SignatureBytes) {
                match self {
                    $(Self::$variant(b) => ($unsigned::$variant(b.message), b.signature),)+
                }
            }
        }
    };
}

sign_conversions!(BeaconBlock, SignedBeaconBlock, {
    Phase0 => SignedBeaconBlockPhase0,
    Altair => SignedBeaconBlockAltair,
    Bellatrix => SignedBeaconBlockBellatrix,
    Capella => SignedBeaconBlockCapella,
    Deneb => SignedBeaconBlockDeneb,
    Electra => SignedBeaconBlockElectra,
    Fulu => SignedBeaconBlockFulu,
});

sign_conversions!(BlindedBeaconBlock, SignedBlindedBeaconBlock, {
    Phase0 => SignedBeaconBlockPhase0,
    Altair => SignedBeaconBlockAltair,
    Bellatrix => SignedBlindedBeaconBlockBellatrix,
    Capella => SignedBlindedBeaconBlockCapella,
    Deneb => SignedBlindedBeaconBlockDeneb,
    Electra => SignedBlindedBeaconBlockElectra,
    Fulu => SignedBlindedBeaconBlockFulu,
});

#[cfg(test)]
mod tests;
