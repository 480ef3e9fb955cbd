//! `BeaconBlock` and `SignedBeaconBlock` per fork, full and blinded.
//!
//! All share the phase0 layout `{slot, proposer_index, parent_root, state_root, body}` and differ
//! only in the body type, so one macro defines each pair.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;

use super::body::{
    BeaconBlockBodyAltair, BeaconBlockBodyBellatrix, BeaconBlockBodyCapella, BeaconBlockBodyDeneb,
    BeaconBlockBodyElectra, BeaconBlockBodyPhase0, BlindedBeaconBlockBodyBellatrix,
    BlindedBeaconBlockBodyCapella, BlindedBeaconBlockBodyDeneb, BlindedBeaconBlockBodyElectra,
};
use crate::containers::{BeaconBlockHeader, SignedBeaconBlockHeader};
use crate::eth_spec::EthSpec;
use crate::primitives::{Hash256, SignatureBytes, Slot};

macro_rules! block_pair {
    ($block:ident, $signed:ident, $body:ident, $doc:literal) => {
        #[doc = concat!($doc, " `BeaconBlock`.")]
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
        )]
        #[serde(deny_unknown_fields)]
        #[serde(bound = "E: EthSpec")]
        pub struct $block<E: EthSpec> {
            /// The block's slot.
            pub slot: Slot,
            /// The proposer's validator index.
            #[serde(with = "crate::serde_utils::quoted_u64")]
            pub proposer_index: u64,
            /// The parent block root.
            pub parent_root: Hash256,
            /// The post-state root.
            pub state_root: Hash256,
            /// The body.
            pub body: $body<E>,
        }

        impl<E: EthSpec> $block<E> {
            /// The header of this block (same hash tree root as the block).
            pub fn block_header(&self) -> BeaconBlockHeader {
                BeaconBlockHeader {
                    slot: self.slot,
                    proposer_index: self.proposer_index,
                    parent_root: self.parent_root,
                    state_root: self.state_root,
                    body_root: self.body.tree_hash_root(),
                }
            }
        }

        #[doc = concat!($doc, " `SignedBeaconBlock`.")]
        #[derive(
            Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
        )]
        #[serde(deny_unknown_fields)]
        #[serde(bound = "E: EthSpec")]
        pub struct $signed<E: EthSpec> {
            /// The block.
            pub message: $block<E>,
            /// The proposer's signature over the block root.
            pub signature: SignatureBytes,
        }

        impl<E: EthSpec> $signed<E> {
            /// The signed header of this block (what proposer slashings are made of).
            pub fn signed_block_header(&self) -> SignedBeaconBlockHeader {
                SignedBeaconBlockHeader {
                    message: self.message.block_header(),
                    signature: self.signature,
                }
            }
        }
    };
}

block_pair!(
    BeaconBlockPhase0,
    SignedBeaconBlockPhase0,
    BeaconBlockBodyPhase0,
    "Phase0"
);
block_pair!(
    BeaconBlockAltair,
    SignedBeaconBlockAltair,
    BeaconBlockBodyAltair,
    "Altair"
);
block_pair!(
    BeaconBlockBellatrix,
    SignedBeaconBlockBellatrix,
    BeaconBlockBodyBellatrix,
    "Bellatrix"
);
block_pair!(
    BeaconBlockCapella,
    SignedBeaconBlockCapella,
    BeaconBlockBodyCapella,
    "Capella"
);
block_pair!(
    BeaconBlockDeneb,
    SignedBeaconBlockDeneb,
    BeaconBlockBodyDeneb,
    "Deneb"
);
block_pair!(
    BeaconBlockElectra,
    SignedBeaconBlockElectra,
    BeaconBlockBodyElectra,
    "Electra"
);
block_pair!(
    BlindedBeaconBlockBellatrix,
    SignedBlindedBeaconBlockBellatrix,
    BlindedBeaconBlockBodyBellatrix,
    "Bellatrix blinded"
);
block_pair!(
    BlindedBeaconBlockCapella,
    SignedBlindedBeaconBlockCapella,
    BlindedBeaconBlockBodyCapella,
    "Capella blinded"
);
block_pair!(
    BlindedBeaconBlockDeneb,
    SignedBlindedBeaconBlockDeneb,
    BlindedBeaconBlockBodyDeneb,
    "Deneb blinded"
);
block_pair!(
    BlindedBeaconBlockElectra,
    SignedBlindedBeaconBlockElectra,
    BlindedBeaconBlockBodyElectra,
    "Electra blinded"
);

/// Fulu `BeaconBlock` (unchanged from Electra).
pub type BeaconBlockFulu<E> = BeaconBlockElectra<E>;
/// Fulu `SignedBeaconBlock` (unchanged from Electra).
pub type SignedBeaconBlockFulu<E> = SignedBeaconBlockElectra<E>;
/// Fulu blinded `BeaconBlock` (unchanged from Electra).
pub type BlindedBeaconBlockFulu<E> = BlindedBeaconBlockElectra<E>;
/// Fulu blinded `SignedBeaconBlock` (unchanged from Electra).
pub type SignedBlindedBeaconBlockFulu<E> = SignedBlindedBeaconBlockElectra<E>;
