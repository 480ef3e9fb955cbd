//! The pool registry: pool parameters, operators and the keys each operator runs.
//!
//! Invariants of a [`Registry`] (established by [`Registry::load`], never broken afterwards, as
//! a registry is immutable): operator ids are unique; every key belongs to exactly one
//! operator; `protocol_bps + operator_bps ≤ 10000` for the pool default and every override;
//! withdrawal credentials are `0x01`/`0x02` + 11 zero bytes + address; `frame_epochs ≥ 1`.
//!
//! Assignment changes (a key moving to another operator, a new key, a fee override) take
//! effect from the next frame only: [`Registry::snapshot`] captures what a frame uses when it
//! starts, and the ledger keeps that snapshot for the frame.

mod file;
mod handle;
mod parameters;
mod oracle;
mod snapshot;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use types::{Address, Epoch, Hash256, PublicKeyBytes, U256};

use crate::error::Result;
use crate::oracle::{OracleConfig, OracleMembership};

pub use handle::{RegistryHandle, ReloadOutcome};
pub use parameters::FrameParameters;
pub use snapshot::{FrameSnapshot, OperatorTerms};

/// Default frame length: 225 epochs (one day on mainnet).
pub const DEFAULT_FRAME_EPOCHS: u64 = 225;

/// An operator's id.
pub type OperatorId = u64;

/// Frame geometry: frame `i` covers epochs `[start_epoch + i·epochs, start_epoch + (i+1)·epochs)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameConfig {
    /// First epoch of frame 0.
    pub start_epoch: u64,
    /// Epochs per frame (≥ 1).
    pub epochs: u64,
}

impl FrameConfig {
    /// The frame containing `epoch`, `None` before the first frame.
    pub fn frame_of(&self, epoch: Epoch) -> Option<u64> {
        epoch
            .as_u64()
            .checked_sub(self.start_epoch)
            .map(|d| d / self.epochs)
    }

    /// First epoch of frame `i`.
    pub fn first_epoch(&self, frame: u64) -> Epoch {
        Epoch(self.start_epoch + frame * self.epochs)
    }

    /// Last epoch (inclusive) of frame `i`.
    pub fn last_epoch(&self, frame: u64) -> Epoch {
        Epoch(self.start_epoch + (frame + 1) * self.epochs - 1)
    }
}

/// Pool-wide fee rates in basis points of rewards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeeConfig {
    /// The protocol's (treasury's) share.
    pub protocol_bps: u16,
    /// The default operator share.
    pub operator_bps: u16,
}

/// Sanity limits a report must pass before it is final (defaults: Lido mainnet's). Published
/// with every report (integers as decimal strings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SanityLimits {
    /// Maximum annualised CL balance increase, in basis points.
    #[serde(with = "serde_utils::quoted_u64")]
    pub annual_balance_increase_bps: u64,
    /// Maximum positive rebase (exchange-rate increase) per report, in 1e-9 of the rate.
    #[serde(with = "serde_utils::quoted_u64")]
    pub max_positive_rebase_1e9: u64,
    /// Allowed loss per newly slashed validator, in pWei (1e15 wei).
    #[serde(with = "serde_utils::quoted_u64")]
    pub initial_slashing_amount_pwei: u64,
    /// Allowed inactivity loss per validator, in pWei.
    #[serde(with = "serde_utils::quoted_u64")]
    pub inactivity_penalties_amount_pwei: u64,
    /// Window of the negative-rebase check, in epochs.
    #[serde(with = "serde_utils::quoted_u64")]
    pub negative_rebase_window_epochs: u64,
}

impl SanityLimits {
    /// Lido's mainnet oracle limits.
    pub const LIDO_MAINNET: SanityLimits = SanityLimits {
        annual_balance_increase_bps: 1000,
        max_positive_rebase_1e9: 750_000,
        initial_slashing_amount_pwei: 1000,
        inactivity_penalties_amount_pwei: 101,
        negative_rebase_window_epochs: 8100,
    };
}

/// The `[pool]` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolConfig {
    /// Display name.
    pub name: String,
    /// The withdrawal credentials every pool validator must have.
    pub withdrawal_credentials: Hash256,
    /// The fee recipient every pool block must pay.
    pub el_rewards_vault: Address,
    /// Whether the keymanager API may set other fee recipients.
    pub allow_other_fee_recipients: bool,
    /// Frame geometry.
    pub frame: FrameConfig,
    /// Fee rates.
    pub fees: FeeConfig,
    /// The token's share supply when no report input overrides it.
    pub initial_total_shares: U256,
    /// Report sanity limits.
    pub sanity: SanityLimits,
}

/// One node operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Operator {
    /// Unique id (the Merkle leaf's first value).
    pub id: OperatorId,
    /// Display name.
    pub name: String,
    /// Where the operator's fees are paid.
    pub reward_address: Address,
    /// Fee override; `None` uses the pool default.
    pub operator_bps: Option<u16>,
    /// Validator public keys, in file order.
    pub keys: Vec<PublicKeyBytes>,
}

/// A validated, immutable registry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    source: PathBuf,
    pool: PoolConfig,
    operators: Vec<Operator>,
    by_id: HashMap<OperatorId, usize>,
    by_key: HashMap<PublicKeyBytes, OperatorId>,
    oracle: Option<OracleConfig>,
}

impl Registry {
    fn new(
        source: PathBuf,
        pool: PoolConfig,
        operators: Vec<Operator>,
        oracle: Option<OracleConfig>,
    ) -> Self {
        let by_id = operators
            .iter()
            .enumerate()
            .map(|(i, o)| (o.id, i))
            .collect();
        let by_key = operators
            .iter()
            .flat_map(|o| o.keys.iter().map(move |k| (*k, o.id)))
            .collect();
        Self {
            source,
            pool,
            operators,
            by_id,
            by_key,
            oracle,
        }
    }

    /// Loads and validates a registry file. Errors name the file, line and field.
    pub fn load(path: impl AsRef<Path>) -> Result<Self> {
        file::load(path.as_ref())
    }

    /// Parses registry text as if read from `path` (which anchors relative `keys_file`s).
    pub fn parse(path: impl AsRef<Path>, text: &str) -> Result<Self> {
        file::parse(path.as_ref(), text)
    }

    /// The file this registry was loaded from.
    pub fn source(&self) -> &Path {
        &self.source
    }

    /// Pool parameters.
    pub fn pool(&self) -> &PoolConfig {
        &self.pool
    }

    /// Operators sorted by id.
    pub fn operators(&self) -> &[Operator] {
        &self.operators
    }

    /// An operator by id.
    pub fn operator(&self, id: OperatorId) -> Option<&Operator> {
        self.by_id.get(&id).map(|&i| &self.operators[i])
    }

    /// The operator running `pubkey`.
    pub fn operator_of(&self, pubkey: &PublicKeyBytes) -> Option<&Operator> {
        self.by_key.get(pubkey).and_then(|id| self.operator(*id))
    }

    /// Whether `pubkey` is a pool key.
    pub fn contains_key(&self, pubkey: &PublicKeyBytes) -> bool {
        self.by_key.contains_key(pubkey)
    }

    /// Number of keys over all operators.
    pub fn key_count(&self) -> usize {
        self.by_key.len()
    }

    /// Every pool key.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKeyBytes> {
        self.by_key.keys()
    }

    /// The operator fee rate of `id` (its override or the pool default).
    pub fn operator_bps(&self, id: OperatorId) -> Option<u16> {
        self.operator(id)
            .map(|o| o.operator_bps.unwrap_or(self.pool.fees.operator_bps))
    }

    /// The assignment and fee terms a frame starting now would use.
    pub fn snapshot(&self, frame: u64) -> FrameSnapshot {
        FrameSnapshot::capture(self, frame)
    }

    /// The pool parameters a frame starting now would be accounted with.
    pub fn frame_parameters(&self, frame: u64) -> FrameParameters {
        FrameParameters::capture(self, frame)
    }

    /// The oracle committee (`[oracle]`), when the pool has one.
    pub fn oracle(&self) -> Option<&OracleConfig> {
        self.oracle.as_ref()
    }

    /// The committee membership a frame starting now would use.
    pub fn oracle_membership(&self, frame: u64) -> Option<OracleMembership> {
        self.oracle.as_ref().map(|o| o.snapshot(frame))
    }
}

#[cfg(test)]
mod tests;
