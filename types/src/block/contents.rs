//! Deneb+ block production and publication: a block with its blobs and KZG proofs.
//!
//! `BlockContents` is what `produceBlockV3` returns for an unblinded Deneb+ block;
//! `SignedBlockContents` is what `publishBlockV2` takes. Up to Electra there is one blob proof
//! per blob (limit `MAX_BLOB_COMMITMENTS_PER_BLOCK`); from Fulu the proofs are cell proofs,
//! `CELLS_PER_EXT_BLOB` per blob (limit `FIELD_ELEMENTS_PER_EXT_BLOB *
//! MAX_BLOB_COMMITMENTS_PER_BLOCK`). Limits are checked on every decode.
//!
//! Blobs are 128 KiB each and live on the heap.

use std::marker::PhantomData;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use ssz::{Decode, DecodeError, Encode};
use typenum::Unsigned;

use super::{BeaconBlock, SignedBeaconBlock};
use crate::error::{Error, Result, from_json_value};
use crate::eth_spec::EthSpec;
use crate::fork_name::ForkName;
use crate::primitives::{KzgProof, SignatureBytes};

/// A blob: `BYTES_PER_BLOB` opaque bytes (0x-hex in JSON).
///
/// SSZ decoding copies the bytes in one go instead of decoding them one by one as a generic
/// `FixedVector<u8, _>` would.
#[derive(Clone, PartialEq, Eq)]
pub struct Blob<E: EthSpec> {
    bytes: Box<[u8]>,
    _preset: PhantomData<E>,
}

impl<E: EthSpec> Blob<E> {
    /// Wraps exactly `BYTES_PER_BLOB` bytes.
    pub fn new(bytes: Vec<u8>) -> Result<Self> {
        let expected = E::BytesPerBlob::to_usize();
        if bytes.len() != expected {
            return Err(Error::WrongLength {
                what: "blob",
                len: bytes.len(),
                expected,
            });
        }
        Ok(Self {
            bytes: bytes.into_boxed_slice(),
            _preset: PhantomData,
        })
    }

    /// The blob's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

impl<E: EthSpec> std::fmt::Debug for Blob<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // 128 KiB of hex helps nobody in a log line.
        write!(
            f,
            "Blob(0x{}..)",
            hex::encode(&self.bytes[..8.min(self.bytes.len())])
        )
    }
}

impl<E: EthSpec> Encode for Blob<E> {
    fn is_ssz_fixed_len() -> bool {
        true
    }

    fn ssz_fixed_len() -> usize {
        E::BytesPerBlob::to_usize()
    }

    fn ssz_append(&self, buf: &mut Vec<u8>) {
        buf.extend_from_slice(&self.bytes);
    }

    fn ssz_bytes_len(&self) -> usize {
        self.bytes.len()
    }
}

impl<E: EthSpec> Decode for Blob<E> {
    fn is_ssz_fixed_len() -> bool {
        true
    }

    fn ssz_fixed_len() -> usize {
        E::BytesPerBlob::to_usize()
    }

    fn from_ssz_bytes(bytes: &[u8]) -> std::result::Result<Self, DecodeError> {
        let expected = E::BytesPerBlob::to_usize();
        if bytes.len() != expected {
            return Err(DecodeError::InvalidByteLength {
                len: bytes.len(),
                expected,
            });
        }
        Ok(Self {
            bytes: bytes.into(),
            _preset: PhantomData,
        })
    }
}

impl<E: EthSpec> Serialize for Blob<E> {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.serialize_str(&::serde_utils::hex::encode(&self.bytes))
    }
}

impl<'de, E: EthSpec> Deserialize<'de> for Blob<E> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let bytes = deserializer.deserialize_str(::serde_utils::hex::PrefixedHexVisitor)?;
        Blob::new(bytes).map_err(D::Error::custom)
    }
}

/// Checks the list limits of block contents at `fork`.
fn check_limits<E: EthSpec>(fork: ForkName, proofs: usize, blobs: usize) -> Result<()> {
    if fork < ForkName::Deneb {
        return Err(Error::UnsupportedFork {
            what: "block contents",
            fork,
        });
    }
    let max_blobs = E::MaxBlobCommitmentsPerBlock::to_usize();
    let max_proofs = if fork >= ForkName::Fulu {
        E::MaxCellProofsPerBlock::to_usize()
    } else {
        max_blobs
    };
    if blobs > max_blobs {
        return Err(Error::TooManyItems {
            what: "blobs",
            len: blobs,
            max: max_blobs,
        });
    }
    if proofs > max_proofs {
        return Err(Error::TooManyItems {
            what: "kzg_proofs",
            len: proofs,
            max: max_proofs,
        });
    }
    Ok(())
}

/// Takes a required field out of a JSON object, naming it when absent.
fn take_field(
    what: &'static str,
    fork: ForkName,
    object: &mut serde_json::Map<String, serde_json::Value>,
    field: &'static str,
) -> Result<serde_json::Value> {
    object.remove(field).ok_or_else(|| Error::Json {
        what,
        fork: Some(fork),
        path: ".".into(),
        source: serde_json::Error::missing_field(field),
    })
}

/// Prefixes the JSON path of a nested decoding error with the field it came from.
fn nest_error(field: &str, error: Error) -> Error {
    match error {
        Error::Json {
            what,
            fork,
            path,
            source,
        } => Error::Json {
            what,
            fork,
            path: if path == "." {
                field.to_owned()
            } else {
                format!("{field}.{path}")
            },
            source,
        },
        other => other,
    }
}

fn into_object(
    what: &'static str,
    fork: ForkName,
    value: serde_json::Value,
) -> Result<serde_json::Map<String, serde_json::Value>> {
    match value {
        serde_json::Value::Object(object) => Ok(object),
        other => Err(Error::Json {
            what,
            fork: Some(fork),
            path: ".".into(),
            source: serde_json::Error::invalid_type(
                serde::de::Unexpected::Other(&other.to_string()),
                &"an object",
            ),
        }),
    }
}

/// Encodes the 3-field container `{block, kzg_proofs, blobs}`.
fn encode_contents<B: Encode, E: EthSpec>(
    block: &B,
    proofs: &Vec<KzgProof>,
    blobs: &Vec<Blob<E>>,
) -> Vec<u8> {
    let mut buf = Vec::with_capacity(
        3 * ssz::BYTES_PER_LENGTH_OFFSET
            + block.ssz_bytes_len()
            + proofs.ssz_bytes_len()
            + blobs.ssz_bytes_len(),
    );
    let mut encoder = ssz::SszEncoder::container(&mut buf, 3 * ssz::BYTES_PER_LENGTH_OFFSET);
    encoder.append(block);
    encoder.append(proofs);
    encoder.append(blobs);
    encoder.finalize();
    buf
}

/// Decodes the 3-field container `{block, kzg_proofs, blobs}`.
fn decode_contents<B, E: EthSpec>(
    what: &'static str,
    fork: ForkName,
    bytes: &[u8],
    decode_block: impl FnOnce(&[u8]) -> Result<B>,
) -> Result<(B, Vec<KzgProof>, Vec<Blob<E>>)> {
    let ssz_error = |e: DecodeError| Error::SszDecode {
        what,
        fork,
        reason: format!("{e:?}"),
    };
    let mut builder = ssz::SszDecoderBuilder::new(bytes);
    for _ in 0..3 {
        builder
            .register_anonymous_variable_length_item()
            .map_err(ssz_error)?;
    }
    let mut decoder = builder.build().map_err(ssz_error)?;
    let mut block_error = None;
    let block = decoder
        .decode_next_with(|b| {
            decode_block(b).map_err(|e| {
                let reason = e.to_string();
                block_error = Some(e);
                DecodeError::BytesInvalid(reason)
            })
        })
        .map_err(|e| block_error.take().unwrap_or_else(|| ssz_error(e)))?;
    let proofs: Vec<KzgProof> = decoder.decode_next().map_err(ssz_error)?;
    let blobs: Vec<Blob<E>> = decoder.decode_next().map_err(ssz_error)?;
    check_limits::<E>(fork, proofs.len(), blobs.len())?;
    Ok((block, proofs, blobs))
}

/// An unsigned Deneb+ block with its blobs and proofs (`BlockContents`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "E: EthSpec")]
pub struct BlockContents<E: EthSpec> {
    /// The block (Deneb or later).
    pub block: BeaconBlock<E>,
    /// Blob proofs (Deneb, Electra) or cell proofs (Fulu).
    pub kzg_proofs: Vec<KzgProof>,
    /// The blobs.
    pub blobs: Vec<Blob<E>>,
}

impl<E: EthSpec> BlockContents<E> {
    /// The block's fork.
    pub fn fork_name(&self) -> ForkName {
        self.block.fork_name()
    }

    /// Decodes Beacon API JSON (`{"block", "kzg_proofs", "blobs"}`) at `fork` (Deneb or later).
    pub fn from_json_value(fork: ForkName, value: serde_json::Value) -> Result<Self> {
        const WHAT: &str = "block contents";
        check_limits::<E>(fork, 0, 0)?;
        let mut object = into_object(WHAT, fork, value)?;
        let block =
            BeaconBlock::from_json_value(fork, take_field(WHAT, fork, &mut object, "block")?)
                .map_err(|e| nest_error("block", e))?;
        let kzg_proofs: Vec<KzgProof> = from_json_value(
            WHAT,
            Some(fork),
            take_field(WHAT, fork, &mut object, "kzg_proofs")?,
        )
        .map_err(|e| nest_error("kzg_proofs", e))?;
        let blobs: Vec<Blob<E>> = from_json_value(
            WHAT,
            Some(fork),
            take_field(WHAT, fork, &mut object, "blobs")?,
        )
        .map_err(|e| nest_error("blobs", e))?;
        check_limits::<E>(fork, kzg_proofs.len(), blobs.len())?;
        Ok(Self {
            block,
            kzg_proofs,
            blobs,
        })
    }

    /// Decodes SSZ at `fork` (Deneb or later).
    pub fn from_ssz_bytes(bytes: &[u8], fork: ForkName) -> Result<Self> {
        check_limits::<E>(fork, 0, 0)?;
        let (block, kzg_proofs, blobs) = decode_contents("block contents", fork, bytes, |b| {
            BeaconBlock::from_ssz_bytes(b, fork)
        })?;
        Ok(Self {
            block,
            kzg_proofs,
            blobs,
        })
    }

    /// The SSZ encoding.
    pub fn as_ssz_bytes(&self) -> Vec<u8> {
        encode_contents(&self.block, &self.kzg_proofs, &self.blobs)
    }

    /// Attaches the proposer's signature to the block.
    pub fn into_signed(self, signature: SignatureBytes) -> SignedBlockContents<E> {
        SignedBlockContents {
            signed_block: self.block.into_signed(signature),
            kzg_proofs: self.kzg_proofs,
            blobs: self.blobs,
        }
    }
}

/// A signed Deneb+ block with its blobs and proofs (`SignedBlockContents`), for publishing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(bound = "E: EthSpec")]
pub struct SignedBlockContents<E: EthSpec> {
    /// The signed block (Deneb or later).
    pub signed_block: SignedBeaconBlock<E>,
    /// Blob proofs (Deneb, Electra) or cell proofs (Fulu).
    pub kzg_proofs: Vec<KzgProof>,
    /// The blobs.
    pub blobs: Vec<Blob<E>>,
}

impl<E: EthSpec> SignedBlockContents<E> {
    /// The block's fork.
    pub fn fork_name(&self) -> ForkName {
        self.signed_block.fork_name()
    }

    /// Decodes Beacon API JSON (`{"signed_block", "kzg_proofs", "blobs"}`) at `fork`.
    pub fn from_json_value(fork: ForkName, value: serde_json::Value) -> Result<Self> {
        const WHAT: &str = "signed block contents";
        check_limits::<E>(fork, 0, 0)?;
        let mut object = into_object(WHAT, fork, value)?;
        let signed_block = SignedBeaconBlock::from_json_value(
            fork,
            take_field(WHAT, fork, &mut object, "signed_block")?,
        )
        .map_err(|e| nest_error("signed_block", e))?;
        let kzg_proofs: Vec<KzgProof> = from_json_value(
            WHAT,
            Some(fork),
            take_field(WHAT, fork, &mut object, "kzg_proofs")?,
        )
        .map_err(|e| nest_error("kzg_proofs", e))?;
        let blobs: Vec<Blob<E>> = from_json_value(
            WHAT,
            Some(fork),
            take_field(WHAT, fork, &mut object, "blobs")?,
        )
        .map_err(|e| nest_error("blobs", e))?;
        check_limits::<E>(fork, kzg_proofs.len(), blobs.len())?;
        Ok(Self {
            signed_block,
            kzg_proofs,
            blobs,
        })
    }

    /// Decodes SSZ at `fork` (Deneb or later).
    pub fn from_ssz_bytes(bytes: &[u8], fork: ForkName) -> Result<Self> {
        check_limits::<E>(fork, 0, 0)?;
        let (signed_block, kzg_proofs, blobs) =
            decode_contents("signed block contents", fork, bytes, |b| {
                SignedBeaconBlock::from_ssz_bytes(b, fork)
            })?;
        Ok(Self {
            signed_block,
            kzg_proofs,
            blobs,
        })
    }

    /// The SSZ encoding.
    pub fn as_ssz_bytes(&self) -> Vec<u8> {
        encode_contents(&self.signed_block, &self.kzg_proofs, &self.blobs)
    }
}
