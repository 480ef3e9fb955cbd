//! The pool parameters in force for one frame besides its assignment snapshot: the frame
//! geometry, the withdrawal credentials (whose last 20 bytes are the pool's address) and the
//! EL rewards vault that every epoch of the frame is accounted with.
//!
//! Invariant: captured once, when the frame starts, stored beside the snapshot and never
//! changed; every ledger epoch of the frame uses the stored value, never the live registry.
//! A registry change (even one that needs a restart) therefore applies from the next frame
//! only, and an auditor reads the values from the reports API instead of the registry file.

use serde::{Deserialize, Serialize};
use types::{Address, Hash256};

use super::{FrameConfig, Registry};

/// The registry values a frame's ledger epochs depend on, as captured when the frame started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameParameters {
    /// The frame index.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame: u64,
    /// First epoch of frame 0.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame_start_epoch: u64,
    /// Epochs per frame.
    #[serde(with = "serde_utils::quoted_u64")]
    pub frame_epochs: u64,
    /// The withdrawal credentials pool validators must have (`0x01`/`0x02`, 11 zero bytes,
    /// the pool's address).
    pub withdrawal_credentials: Hash256,
    /// The fee recipient pool blocks must pay.
    pub el_rewards_vault: Address,
}

impl FrameParameters {
    /// The live registry's values for `frame`.
    pub fn capture(registry: &Registry, frame: u64) -> Self {
        let pool = registry.pool();
        Self {
            frame,
            frame_start_epoch: pool.frame.start_epoch,
            frame_epochs: pool.frame.epochs,
            withdrawal_credentials: pool.withdrawal_credentials,
            el_rewards_vault: pool.el_rewards_vault,
        }
    }

    /// The pool's address: the last 20 bytes of the withdrawal credentials.
    pub fn pool_address(&self) -> Address {
        Address::from_slice(&self.withdrawal_credentials[12..])
    }

    /// The frame geometry.
    pub fn frames(&self) -> FrameConfig {
        FrameConfig {
            start_epoch: self.frame_start_epoch,
            epochs: self.frame_epochs,
        }
    }
}
