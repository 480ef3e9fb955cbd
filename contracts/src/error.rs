//! The crate's errors, and [`Rejection`]: why a contract refused a call, decoded from its custom
//! error (the same enum is the off-chain verifier's verdict, so both can be compared).

use types::{Address, Hash256, U256};

use crate::bindings::{PoolOracle, PoolShares};

/// Why `PoolOracle` or `PoolShares` refused a call (one variant per custom error of the
/// contracts, same names and fields).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The report's format version is not the one the contract reads.
    #[error("report version {version} is not supported")]
    UnsupportedVersion {
        /// The report's version.
        version: u64,
    },
    /// The report names another chain.
    #[error("report is for the chain with genesis validators root {genesis_validators_root}")]
    WrongChain {
        /// The report's genesis validators root.
        genesis_validators_root: Hash256,
    },
    /// The frame was already reported or is older than the last accepted one.
    #[error("frame {frame} is stale: the next frame must be at least {next_frame}")]
    StaleFrame {
        /// The report's frame.
        frame: u64,
        /// The oracle's next frame.
        next_frame: u64,
    },
    /// The report does not extend the last accepted report.
    #[error("previous report root {got} is not the last accepted root {expected}")]
    BrokenChain {
        /// The last accepted root.
        expected: Hash256,
        /// The report's previous root.
        got: Hash256,
    },
    /// The report's previous rate is not the last accepted rate.
    #[error("previous rate {got} is not the last accepted rate {expected}")]
    PreviousRateMismatch {
        /// The accepted rate.
        expected: U256,
        /// The report's previous rate.
        got: U256,
    },
    /// The new rate is zero or does not fit 128 bits.
    #[error("rate {rate} is zero or does not fit 128 bits")]
    InvalidRate {
        /// The report's rate.
        rate: U256,
    },
    /// The rate grows more than the positive-rebase limit.
    #[error("positive rebase {rebase_1e9}/1e9 exceeds the limit {limit_1e9}/1e9")]
    PositiveRebaseTooHigh {
        /// The report's rebase (1e9 = 100 %).
        rebase_1e9: U256,
        /// The limit.
        limit_1e9: U256,
    },
    /// No committee with this id.
    #[error("no committee {committee_id}")]
    UnknownCommittee {
        /// The membership epoch named.
        committee_id: u32,
    },
    /// The committee does not apply to the report's frame.
    #[error("committee {committee_id} does not apply to frame {frame}")]
    CommitteeNotForFrame {
        /// The membership epoch named.
        committee_id: u32,
        /// The report's frame.
        frame: u64,
    },
    /// Signer bits beyond the committee's members.
    #[error("signer bits {bits:#x} are not committee members")]
    NotAMember {
        /// The offending bits.
        bits: U256,
    },
    /// Fewer signers than the quorum.
    #[error("{signers} signers are below the quorum of {quorum}")]
    BelowQuorum {
        /// Signers in the certificate.
        signers: U256,
        /// The committee's quorum.
        quorum: U256,
    },
    /// The aggregate signature does not verify for the signers and the report's root.
    #[error("the aggregate signature does not verify")]
    InvalidSignature,
    /// A BLS precompile call failed (a chain without EIP-2537).
    #[error("a BLS12-381 precompile call failed")]
    PrecompileFailed,
    /// The caller is not the admin.
    #[error("the caller is not the admin")]
    NotAdmin,
    /// Committee size or quorum out of range.
    #[error(
        "committee of {size} with quorum {quorum} is invalid (1 <= size <= 256, size/2 < quorum <= size)"
    )]
    InvalidCommittee {
        /// Size.
        size: U256,
        /// Quorum.
        quorum: U256,
    },
    /// The committee's first frame is not after the previous committee's and the accepted frames.
    #[error("a committee cannot start at frame {from_frame}")]
    InvalidFromFrame {
        /// The refused first frame.
        from_frame: u64,
    },
    /// A member key is invalid (index `U256::MAX`: a key failed the precompile's group check).
    #[error("member key {index} is invalid")]
    InvalidMemberKey {
        /// The member index.
        index: U256,
    },
    /// Storing the committee's keys failed.
    #[error("storing the committee keys failed")]
    KeyStoreFailed,
    /// No report has been accepted yet.
    #[error("no report has been accepted yet")]
    NoReport,
    /// The claim's proof does not prove the leaf under the rewards root.
    #[error("the proof does not prove operator {operator_id} with cumulative {cumulative}")]
    InvalidProof {
        /// Operator id.
        operator_id: U256,
        /// Claimed cumulative fees (wei).
        cumulative: U256,
    },
    /// Nothing beyond what was already paid.
    #[error(
        "operator {operator_id}: cumulative {cumulative} does not exceed the {claimed} already paid"
    )]
    NothingToClaim {
        /// Operator id.
        operator_id: U256,
        /// Claimed cumulative fees (wei).
        cumulative: U256,
        /// Already paid (wei).
        claimed: U256,
    },
    /// The operator has no reward address.
    #[error("operator {operator_id} has no reward address")]
    NoRewardAddress {
        /// Operator id.
        operator_id: U256,
    },
    /// The payment failed.
    #[error("paying {amount} wei to {to} failed")]
    TransferFailed {
        /// Recipient.
        to: Address,
        /// Amount (wei).
        amount: U256,
    },
}

impl From<PoolOracle::PoolOracleErrors> for Rejection {
    fn from(e: PoolOracle::PoolOracleErrors) -> Self {
        use PoolOracle::PoolOracleErrors as E;
        match e {
            E::UnsupportedVersion(e) => Self::UnsupportedVersion { version: e.version },
            E::WrongChain(e) => Self::WrongChain {
                genesis_validators_root: e.genesisValidatorsRoot,
            },
            E::StaleFrame(e) => Self::StaleFrame {
                frame: e.frame,
                next_frame: e.nextFrame,
            },
            E::BrokenChain(e) => Self::BrokenChain {
                expected: e.expected,
                got: e.got,
            },
            E::PreviousRateMismatch(e) => Self::PreviousRateMismatch {
                expected: e.expected,
                got: e.got,
            },
            E::InvalidRate(e) => Self::InvalidRate { rate: e.rate },
            E::PositiveRebaseTooHigh(e) => Self::PositiveRebaseTooHigh {
                rebase_1e9: e.rebase1e9,
                limit_1e9: e.limit1e9,
            },
            E::UnknownCommittee(e) => Self::UnknownCommittee {
                committee_id: e.committeeId,
            },
            E::CommitteeNotForFrame(e) => Self::CommitteeNotForFrame {
                committee_id: e.committeeId,
                frame: e.frame,
            },
            E::NotAMember(e) => Self::NotAMember { bits: e.bits },
            E::BelowQuorum(e) => Self::BelowQuorum {
                signers: e.signers,
                quorum: e.quorum,
            },
            E::InvalidSignature(_) => Self::InvalidSignature,
            E::PrecompileFailed(_) => Self::PrecompileFailed,
            E::NotAdmin(_) => Self::NotAdmin,
            E::InvalidCommittee(e) => Self::InvalidCommittee {
                size: e.size,
                quorum: e.quorum,
            },
            E::InvalidFromFrame(e) => Self::InvalidFromFrame {
                from_frame: e.fromFrame,
            },
            E::InvalidMemberKey(e) => Self::InvalidMemberKey { index: e.index },
            E::KeyStoreFailed(_) => Self::KeyStoreFailed,
        }
    }
}

impl From<PoolShares::PoolSharesErrors> for Rejection {
    fn from(e: PoolShares::PoolSharesErrors) -> Self {
        use PoolShares::PoolSharesErrors as E;
        match e {
            E::NoReport(_) => Self::NoReport,
            E::InvalidProof(e) => Self::InvalidProof {
                operator_id: e.operatorId,
                cumulative: e.cumulative,
            },
            E::NothingToClaim(e) => Self::NothingToClaim {
                operator_id: e.operatorId,
                cumulative: e.cumulative,
                claimed: e.claimed,
            },
            E::NoRewardAddress(e) => Self::NoRewardAddress {
                operator_id: e.operatorId,
            },
            E::TransferFailed(e) => Self::TransferFailed {
                to: e.to,
                amount: e.amount,
            },
            E::NotAdmin(_) => Self::NotAdmin,
        }
    }
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A contract refused the call (decoded custom error).
    #[error("refused by the contract: {0}")]
    Rejected(Rejection),
    /// A transaction was mined but reverted without a decodable reason.
    #[error("transaction {tx_hash} reverted")]
    Reverted {
        /// The transaction.
        tx_hash: Hash256,
    },
    /// The node or the contract call failed (transport, ABI, pending transaction).
    #[error("contract call {call} failed: {source}")]
    Contract {
        /// The call.
        call: &'static str,
        /// The cause.
        #[source]
        source: Box<alloy::contract::Error>,
    },
    /// A provider call failed.
    #[error("RPC {call} failed: {source}")]
    Rpc {
        /// The call.
        call: &'static str,
        /// The cause.
        #[source]
        source: Box<alloy::transports::TransportError>,
    },
    /// A receipt could not be obtained for a sent transaction.
    #[error("waiting for the receipt of {call} failed: {source}")]
    Pending {
        /// The call.
        call: &'static str,
        /// The cause.
        #[source]
        source: Box<alloy::providers::PendingTransactionError>,
    },
    /// A public key of the committee is not a valid BLS key.
    #[error("committee member {index}: invalid public key {public_key}")]
    InvalidPublicKey {
        /// Member index.
        index: usize,
        /// The key.
        public_key: types::PublicKeyBytes,
    },
    /// A member's proof of possession does not verify.
    #[error("committee member {index}: the proof of possession of {public_key} does not verify")]
    InvalidProofOfPossession {
        /// Member index.
        index: usize,
        /// The key.
        public_key: types::PublicKeyBytes,
    },
    /// Two members have the same key (or a key and its negation).
    #[error("committee members {first} and {second} have the same key")]
    DuplicateMember {
        /// First index.
        first: usize,
        /// Second index.
        second: usize,
    },
    /// Committee size or quorum out of range.
    #[error(
        "a committee of {size} members with quorum {quorum} is invalid (1 <= size <= 256, size/2 < quorum <= size)"
    )]
    InvalidCommittee {
        /// Members.
        size: usize,
        /// Quorum.
        quorum: usize,
    },
    /// A signature is not a valid compressed G2 point.
    #[error("the signature {signature} is not a valid BLS signature")]
    InvalidSignatureEncoding {
        /// The signature.
        signature: types::SignatureBytes,
    },
    /// The certificate is for another report.
    #[error(
        "the certificate (frame {cert_frame}, root {cert_root}) is not for the report (frame {frame}, root {root})"
    )]
    CertificateMismatch {
        /// Certificate frame.
        cert_frame: u64,
        /// Certificate root.
        cert_root: Hash256,
        /// Report frame.
        frame: u64,
        /// Report root.
        root: Hash256,
    },
    /// The report cannot be encoded.
    #[error("report: {0}")]
    Report(#[from] pool_registry::Error),
    /// The EVM kit (anvil) is missing or failed.
    #[error("EVM kit: {message}")]
    Kit {
        /// What went wrong.
        message: String,
    },
}

/// The crate's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// The contract's refusal, when this is one.
    pub fn rejection(&self) -> Option<&Rejection> {
        match self {
            Self::Rejected(r) => Some(r),
            _ => None,
        }
    }
}
