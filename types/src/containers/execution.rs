//! Execution payloads and their headers (Bellatrix, Capella, Deneb; Electra and Fulu reuse
//! Deneb's).
//!
//! A blinded block carries the header instead of the payload; the header's roots of the
//! transactions and withdrawals lists make its hash tree root equal the payload's, so a blinded
//! block has the same root (and signature) as the full block it stands for.

use serde::{Deserialize, Serialize};
use ssz_derive::{Decode, Encode};
use ssz_types::{FixedVector, VariableList};
use tree_hash::TreeHash;
use tree_hash_derive::TreeHash;

use crate::containers::capella::Withdrawal;
use crate::eth_spec::EthSpec;
use crate::primitives::{ExecutionAddress, ExecutionBlockHash, Hash256, U256};

/// One opaque transaction (`Transaction = ByteList[MAX_BYTES_PER_TRANSACTION]`).
pub type Transaction<E> = VariableList<u8, <E as EthSpec>::MaxBytesPerTransaction>;
/// A payload's transactions.
pub type Transactions<E> = VariableList<Transaction<E>, <E as EthSpec>::MaxTransactionsPerPayload>;

/// Bellatrix `ExecutionPayload`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadBellatrix<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Opaque RLP-encoded transactions.
    #[serde(with = "ssz_types::serde_utils::list_of_hex_var_list")]
    pub transactions: Transactions<E>,
}

/// Bellatrix `ExecutionPayloadHeader`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadHeaderBellatrix<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Hash tree root of the transactions list.
    pub transactions_root: Hash256,
}

/// Capella `ExecutionPayload` (adds withdrawals).
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadCapella<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Opaque RLP-encoded transactions.
    #[serde(with = "ssz_types::serde_utils::list_of_hex_var_list")]
    pub transactions: Transactions<E>,
    /// Withdrawals processed in this payload.
    pub withdrawals: VariableList<Withdrawal, E::MaxWithdrawalsPerPayload>,
}

/// Capella `ExecutionPayloadHeader`.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadHeaderCapella<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Hash tree root of the transactions list.
    pub transactions_root: Hash256,
    /// Hash tree root of the withdrawals list.
    pub withdrawals_root: Hash256,
}

/// Deneb `ExecutionPayload` (adds blob gas); also Electra's and Fulu's.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadDeneb<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Opaque RLP-encoded transactions.
    #[serde(with = "ssz_types::serde_utils::list_of_hex_var_list")]
    pub transactions: Transactions<E>,
    /// Withdrawals processed in this payload.
    pub withdrawals: VariableList<Withdrawal, E::MaxWithdrawalsPerPayload>,
    /// Blob gas used (EIP-4844).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub blob_gas_used: u64,
    /// Excess blob gas (EIP-4844).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub excess_blob_gas: u64,
}

/// Deneb `ExecutionPayloadHeader`; also Electra's and Fulu's.
#[derive(
    Debug, Clone, Default, PartialEq, Eq, Encode, Decode, TreeHash, Serialize, Deserialize,
)]
#[serde(deny_unknown_fields)]
#[serde(bound = "E: EthSpec")]
pub struct ExecutionPayloadHeaderDeneb<E: EthSpec> {
    /// Parent execution block hash.
    pub parent_hash: ExecutionBlockHash,
    /// Where priority fees (and builder payments) go.
    pub fee_recipient: ExecutionAddress,
    /// Execution state root.
    pub state_root: Hash256,
    /// Receipts root.
    pub receipts_root: Hash256,
    /// Logs bloom filter.
    #[serde(with = "ssz_types::serde_utils::hex_fixed_vec")]
    pub logs_bloom: FixedVector<u8, E::BytesPerLogsBloom>,
    /// RANDAO mix of the previous slot.
    pub prev_randao: Hash256,
    /// Execution block number.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub block_number: u64,
    /// Gas limit.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_limit: u64,
    /// Gas used.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub gas_used: u64,
    /// Unix timestamp.
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub timestamp: u64,
    /// Extra data (at most `MAX_EXTRA_DATA_BYTES`).
    #[serde(with = "ssz_types::serde_utils::hex_var_list")]
    pub extra_data: VariableList<u8, E::MaxExtraDataBytes>,
    /// Base fee per gas (wei), a decimal string in JSON.
    #[serde(with = "::serde_utils::u256_dec")]
    pub base_fee_per_gas: U256,
    /// This execution block's hash.
    pub block_hash: ExecutionBlockHash,
    /// Hash tree root of the transactions list.
    pub transactions_root: Hash256,
    /// Hash tree root of the withdrawals list.
    pub withdrawals_root: Hash256,
    /// Blob gas used (EIP-4844).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub blob_gas_used: u64,
    /// Excess blob gas (EIP-4844).
    #[serde(with = "crate::serde_utils::quoted_u64")]
    pub excess_blob_gas: u64,
}

/// Electra `ExecutionPayload` (unchanged from Deneb).
pub type ExecutionPayloadElectra<E> = ExecutionPayloadDeneb<E>;
/// Electra `ExecutionPayloadHeader` (unchanged from Deneb).
pub type ExecutionPayloadHeaderElectra<E> = ExecutionPayloadHeaderDeneb<E>;
/// Fulu `ExecutionPayload` (unchanged from Deneb).
pub type ExecutionPayloadFulu<E> = ExecutionPayloadDeneb<E>;
/// Fulu `ExecutionPayloadHeader` (unchanged from Deneb).
pub type ExecutionPayloadHeaderFulu<E> = ExecutionPayloadHeaderDeneb<E>;

impl<E: EthSpec> ExecutionPayloadBellatrix<E> {
    /// The header of this payload (same hash tree root).
    pub fn to_header(&self) -> ExecutionPayloadHeaderBellatrix<E> {
        ExecutionPayloadHeaderBellatrix {
            parent_hash: self.parent_hash,
            fee_recipient: self.fee_recipient,
            state_root: self.state_root,
            receipts_root: self.receipts_root,
            logs_bloom: self.logs_bloom.clone(),
            prev_randao: self.prev_randao,
            block_number: self.block_number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: self.extra_data.clone(),
            base_fee_per_gas: self.base_fee_per_gas,
            block_hash: self.block_hash,
            transactions_root: self.transactions.tree_hash_root(),
        }
    }
}

impl<E: EthSpec> ExecutionPayloadCapella<E> {
    /// The header of this payload (same hash tree root).
    pub fn to_header(&self) -> ExecutionPayloadHeaderCapella<E> {
        ExecutionPayloadHeaderCapella {
            parent_hash: self.parent_hash,
            fee_recipient: self.fee_recipient,
            state_root: self.state_root,
            receipts_root: self.receipts_root,
            logs_bloom: self.logs_bloom.clone(),
            prev_randao: self.prev_randao,
            block_number: self.block_number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: self.extra_data.clone(),
            base_fee_per_gas: self.base_fee_per_gas,
            block_hash: self.block_hash,
            transactions_root: self.transactions.tree_hash_root(),
            withdrawals_root: self.withdrawals.tree_hash_root(),
        }
    }
}

impl<E: EthSpec> ExecutionPayloadDeneb<E> {
    /// The header of this payload (same hash tree root).
    pub fn to_header(&self) -> ExecutionPayloadHeaderDeneb<E> {
        ExecutionPayloadHeaderDeneb {
            parent_hash: self.parent_hash,
            fee_recipient: self.fee_recipient,
            state_root: self.state_root,
            receipts_root: self.receipts_root,
            logs_bloom: self.logs_bloom.clone(),
            prev_randao: self.prev_randao,
            block_number: self.block_number,
            gas_limit: self.gas_limit,
            gas_used: self.gas_used,
            timestamp: self.timestamp,
            extra_data: self.extra_data.clone(),
            base_fee_per_gas: self.base_fee_per_gas,
            block_hash: self.block_hash,
            transactions_root: self.transactions.tree_hash_root(),
            withdrawals_root: self.withdrawals.tree_hash_root(),
            blob_gas_used: self.blob_gas_used,
            excess_blob_gas: self.excess_blob_gas,
        }
    }
}
