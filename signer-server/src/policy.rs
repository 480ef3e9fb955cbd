//! The pool's fee-recipient policy: a pool block pays the pool's vault.
//!
//! A block's fee recipient is visible only when the request carries the body (`BLOCK_V2` with
//! a whole or blinded block). From Bellatrix on, the validator clients in use send only the
//! header (`block_header`), whose body is known by its root alone: such a block cannot be
//! checked, and [`HeaderOnlyBlocks`] decides what happens to it — refused by default, signed
//! only when the operator says so.
//!
//! Invariants (with a policy configured): a block of a slot where the configured chain has
//! execution payloads is signed only if the request shows a fee recipient equal to the vault,
//! or shows none and [`HeaderOnlyBlocks::Sign`] is set; a builder registration is signed only
//! with the vault as its fee recipient. The fork used is the configured chain's fork at the
//! block's slot, never the request's `version`.

use types::{ChainSpec, EthSpec, ExecutionAddress, ForkName};

use crate::message::{BlockToSign, Message};

/// What to do with a block whose fee recipient the request does not show.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum HeaderOnlyBlocks {
    /// Refuse it (the default): the pool's policy cannot be checked.
    #[default]
    Refuse,
    /// Sign it: the operator relies on the validator client's fee recipient setting.
    Sign,
}

/// The pool's fee-recipient policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeePolicy {
    /// The pool's vault: every block must pay it.
    pub vault: ExecutionAddress,
    /// Blocks sent as headers only.
    pub header_only: HeaderOnlyBlocks,
}

/// Why the policy refuses a message (a 412 answer, counted).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PolicyRefusal {
    /// The block pays someone else.
    #[error(
        "pool safety: the block at slot {slot} pays fee recipient {found}, not the pool's vault \
         {vault}: not signed"
    )]
    WrongFeeRecipient {
        /// The block's slot.
        slot: types::Slot,
        /// Its fee recipient.
        found: ExecutionAddress,
        /// The vault.
        vault: ExecutionAddress,
    },
    /// The block's fee recipient cannot be seen.
    #[error(
        "pool safety: the request for the block at slot {slot} carries only the block header, so \
         its fee recipient cannot be checked against the pool's vault {vault}: not signed (send \
         the whole block, or run the signer with --header-only-blocks sign to rely on the \
         validator client's fee recipient)"
    )]
    Unverifiable {
        /// The block's slot.
        slot: types::Slot,
        /// The vault.
        vault: ExecutionAddress,
    },
    /// A builder registration names someone else.
    #[error(
        "pool safety: the builder registration names fee recipient {found}, not the pool's vault \
         {vault}: not signed"
    )]
    WrongRegistration {
        /// Its fee recipient.
        found: ExecutionAddress,
        /// The vault.
        vault: ExecutionAddress,
    },
}

impl FeePolicy {
    /// Checks a message against the policy on the chain `spec`.
    pub fn check<E: EthSpec>(
        &self,
        spec: &ChainSpec,
        message: &Message<E>,
    ) -> Result<(), PolicyRefusal> {
        match message {
            Message::Block(block) => self.check_block(spec, block),
            Message::ValidatorRegistration(registration)
                if registration.fee_recipient != self.vault =>
            {
                Err(PolicyRefusal::WrongRegistration {
                    found: registration.fee_recipient,
                    vault: self.vault,
                })
            }
            _ => Ok(()),
        }
    }

    fn check_block<E: EthSpec>(
        &self,
        spec: &ChainSpec,
        block: &BlockToSign<E>,
    ) -> Result<(), PolicyRefusal> {
        let slot = block.header.slot;
        if spec.fork_name_at_slot(slot) < ForkName::Bellatrix {
            return Ok(());
        }
        match block.fee_recipient() {
            Some(found) if found == self.vault => Ok(()),
            Some(found) => Err(PolicyRefusal::WrongFeeRecipient {
                slot,
                found,
                vault: self.vault,
            }),
            None => match self.header_only {
                HeaderOnlyBlocks::Sign => Ok(()),
                HeaderOnlyBlocks::Refuse => Err(PolicyRefusal::Unverifiable {
                    slot,
                    vault: self.vault,
                }),
            },
        }
    }
}
