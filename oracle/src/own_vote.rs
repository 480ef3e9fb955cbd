//! The node's own vote: one root per frame, recorded durably before it leaves the process
//! (the oracle's slashing protection).
//!
//! Invariants: a vote is returned only after [`OracleStore::record_own_vote`] committed it;
//! asking for another root in a recorded frame is refused (before any signing); asking again
//! for the recorded root returns the recorded vote, so a restart re-sends the same vote and
//! never a second one.

use std::sync::Arc;

use pool_registry::OracleStore;
use pool_registry::oracle::OracleVote;
use pool_registry::report::ReportSigner;
use types::Hash256;

use crate::error::{Error, Result};
use crate::membership::Membership;
use crate::verify::VoteDomain;

/// Signs the node's votes with its oracle key, durably recorded first.
#[derive(Clone)]
pub struct OwnVoter {
    store: Arc<dyn OracleStore>,
    signer: Arc<dyn ReportSigner>,
    domain: VoteDomain,
}

impl std::fmt::Debug for OwnVoter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OwnVoter")
            .field("pubkey", &self.signer.public_key())
            .finish()
    }
}

impl OwnVoter {
    /// A voter signing with `signer` in `domain`, recording in `store`.
    pub fn new(
        store: Arc<dyn OracleStore>,
        signer: Arc<dyn ReportSigner>,
        domain: VoteDomain,
    ) -> Self {
        Self {
            store,
            signer,
            domain,
        }
    }

    /// The oracle public key.
    pub fn public_key(&self) -> types::PublicKeyBytes {
        self.signer.public_key()
    }

    /// The node's vote for `report_root` in `membership`'s frame: the recorded one when the
    /// frame was voted with that root, an error when it was voted with another, otherwise a
    /// new signature, recorded before it is returned.
    pub async fn vote(&self, membership: &Membership, report_root: Hash256) -> Result<OracleVote> {
        let frame = membership.frame();
        if let Some(recorded) = self.store.own_vote(frame).await? {
            if recorded.report_root == report_root {
                return Ok(recorded);
            }
            return Err(Error::Store(pool_registry::Error::OracleVoteConflict {
                frame,
                recorded: recorded.report_root,
                requested: report_root,
            }));
        }
        let pubkey = self.signer.public_key();
        let member = membership
            .index_of_pubkey(&pubkey)
            .ok_or(Error::NotAMember { frame, pubkey })?;
        let signing_root = self.domain.signing_root(report_root);
        let signer = Arc::clone(&self.signer);
        let signature = tokio::task::spawn_blocking(move || signer.sign(signing_root))
            .await?
            .map_err(|e| Error::Signing {
                frame,
                message: e.to_string(),
            })?;
        let vote = OracleVote {
            frame,
            report_root,
            member: u64::from(member),
            signature,
        };
        // Durable before anyone sees it; a concurrent vote for another root loses here.
        Ok(self.store.record_own_vote(&vote).await?)
    }
}
