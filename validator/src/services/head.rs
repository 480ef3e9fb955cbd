//! The head monitor: turns the beacon node's `head` and `chain_reorg` events into a watched
//! [`HeadState`], so that services can act as soon as the head of their slot is known (the
//! attestation and sync committee triggers) and the duties service can see dependent-root
//! changes and reorgs.
//!
//! Invariant: the state only moves forward in slot, except after a reorg (whose count always
//! increases, so watchers never miss one).

use tokio::sync::{broadcast, watch};
use tokio_util::sync::CancellationToken;
use types::{Hash256, Slot};

use crate::beacon_node::BeaconEvent;
use crate::clock::SlotClock;
use crate::executor::{TaskExecutor, TaskKind};

/// The head monitor's task name.
pub const HEAD_TASK: &str = "head-monitor";

/// The latest head.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeadState {
    /// The head block's slot.
    pub slot: Slot,
    /// The head block root.
    pub block_root: Hash256,
    /// Dependent root of the head epoch's attester duties.
    pub previous_duty_dependent_root: Hash256,
    /// Dependent root of the next epoch's attester duties and the head epoch's proposer duties.
    pub current_duty_dependent_root: Hash256,
    /// Reorgs seen so far.
    pub reorgs: u64,
}

/// A watcher of the head (cheap to clone).
#[derive(Debug, Clone)]
pub struct HeadWatch {
    rx: watch::Receiver<Option<HeadState>>,
}

/// The sending side of a [`HeadWatch`].
#[derive(Debug)]
pub struct HeadSender {
    tx: watch::Sender<Option<HeadState>>,
}

impl HeadSender {
    /// Publishes a new head.
    pub fn send(&self, head: HeadState) {
        self.tx.send_replace(Some(head));
    }

    /// Counts a reorg (keeping the current head).
    pub fn reorg(&self) {
        self.tx.send_modify(|state| {
            let mut next = state.unwrap_or_default();
            next.reorgs += 1;
            *state = Some(next);
        });
    }
}

/// A new head channel.
pub fn head_channel() -> (HeadSender, HeadWatch) {
    let (tx, rx) = watch::channel(None);
    (HeadSender { tx }, HeadWatch { rx })
}

impl HeadWatch {
    /// The latest head, if any was seen.
    pub fn latest(&self) -> Option<HeadState> {
        *self.rx.borrow()
    }

    /// A receiver to await changes with.
    pub fn receiver(&self) -> watch::Receiver<Option<HeadState>> {
        self.rx.clone()
    }

    /// Waits until the head reaches `slot` or `deadline` (per `clock`) passes, whichever is
    /// first; `false` on shutdown.
    pub async fn wait_for_slot(
        &self,
        slot: Slot,
        deadline: std::time::Duration,
        clock: &SlotClock,
        token: &CancellationToken,
    ) -> bool {
        let mut rx = self.rx.clone();
        let reached = async move {
            // An error means the monitor is gone; fall back to the deadline.
            if rx
                .wait_for(|head| head.is_some_and(|h| h.slot >= slot))
                .await
                .is_err()
            {
                std::future::pending::<()>().await;
            }
        };
        tokio::select! {
            () = token.cancelled() => false,
            () = reached => true,
            () = tokio::time::sleep(clock.duration_until(deadline)) => true,
        }
    }
}

/// Feeds a [`HeadSender`] from the event stream.
#[derive(Debug)]
pub struct HeadMonitor {
    events: broadcast::Receiver<BeaconEvent>,
    sender: HeadSender,
}

impl HeadMonitor {
    /// A monitor of `events`.
    pub fn new(events: broadcast::Receiver<BeaconEvent>, sender: HeadSender) -> Self {
        Self { events, sender }
    }

    /// Spawns the critical task [`HEAD_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(HEAD_TASK, TaskKind::Critical, self.run(token));
    }

    /// Runs until shutdown.
    pub async fn run(mut self, token: CancellationToken) {
        loop {
            let event = tokio::select! {
                () = token.cancelled() => return,
                event = self.events.recv() => event,
            };
            match event {
                Ok(BeaconEvent::Head(head)) => {
                    let reorgs = self.sender.tx.borrow().map_or(0, |h| h.reorgs);
                    tracing::debug!(slot = %head.slot, root = %head.block, "new head");
                    self.sender.send(HeadState {
                        slot: head.slot,
                        block_root: head.block,
                        previous_duty_dependent_root: head.previous_duty_dependent_root,
                        current_duty_dependent_root: head.current_duty_dependent_root,
                        reorgs,
                    });
                }
                Ok(BeaconEvent::ChainReorg(reorg)) => {
                    tracing::info!(slot = %reorg.slot, depth = reorg.depth, old = %reorg.old_head_block, new = %reorg.new_head_block, "chain reorg");
                    self.sender.reorg();
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(missed)) => {
                    tracing::warn!(missed, "head monitor lagged behind the event stream");
                }
                Err(broadcast::error::RecvError::Closed) => {
                    // The event service is gone: wait for shutdown rather than exit (a critical
                    // task exiting would stop the client; the event service's own exit does).
                    token.cancelled().await;
                    return;
                }
            }
        }
    }
}
