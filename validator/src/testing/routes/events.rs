//! `/eth/v1/events` and the slot ticker that emits `block`/`head` (and, at epoch boundaries,
//! `finalized_checkpoint`) events.

use std::convert::Infallible;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, Sse};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::{self, Stream};
use tokio_util::sync::CancellationToken;
use types::{EthSpec, Slot};

use super::{error, query_pairs};
use crate::testing::{ApiMode, Shared};

/// Emits the `block` and `head` events of `slot`.
pub(crate) fn emit_slot<E: EthSpec>(shared: &Shared<E>, slot: Slot) {
    let (block, state, previous, current, epoch_transition, finalized) = {
        let mut chain = shared.chain.lock();
        let block = chain.block_at(slot);
        let epoch = chain.epoch_of(slot);
        let spe = chain.spec.slots_per_epoch;
        let previous = chain.dependent_root(epoch.saturating_sub(1));
        let current = chain.dependent_root(epoch);
        let transition = slot.as_u64().is_multiple_of(spe);
        let finalized = transition.then(|| chain.checkpoint(epoch.saturating_sub(2)));
        (
            block.root,
            block.block.state_root(),
            previous,
            current,
            transition,
            finalized,
        )
    };
    shared.emit(
        "block",
        serde_json::json!({ "slot": slot, "block": block, "execution_optimistic": false })
            .to_string(),
    );
    shared.emit(
        "head",
        serde_json::json!({
            "slot": slot, "block": block, "state": state, "epoch_transition": epoch_transition,
            "previous_duty_dependent_root": previous, "current_duty_dependent_root": current,
            "execution_optimistic": false,
        })
        .to_string(),
    );
    if let Some(checkpoint) = finalized {
        let state = shared.chain.lock().block_at(slot).block.state_root();
        shared.emit(
            "finalized_checkpoint",
            serde_json::json!({
                "block": checkpoint.root, "state": state, "epoch": checkpoint.epoch,
                "execution_optimistic": false,
            })
            .to_string(),
        );
    }
}

/// Emits slot events at the start of every slot until `token` is cancelled.
pub(crate) async fn slot_ticker<E: EthSpec>(shared: Arc<Shared<E>>, token: CancellationToken) {
    loop {
        let wait = shared.clock.duration_to_next_slot();
        tokio::select! {
            () = token.cancelled() => return,
            () = tokio::time::sleep(wait) => {}
        }
        if let Some(slot) = shared.clock.now_slot() {
            emit_slot(&shared, slot);
        }
    }
}

pub(crate) async fn events<E: EthSpec>(
    State(shared): State<Arc<Shared<E>>>,
    RawQuery(query): RawQuery,
) -> Response {
    let legacy = shared.faults.lock().api == ApiMode::Legacy;
    let topics: Vec<String> = query_pairs(query.as_deref())
        .into_iter()
        .filter(|(k, _)| k == "topics")
        .flat_map(|(_, v)| {
            if legacy {
                // Lodestar 1.5.1 takes "head,block" as one unknown topic.
                vec![v]
            } else {
                v.split(',').map(str::to_owned).collect()
            }
        })
        .collect();
    if topics.is_empty() {
        return error(StatusCode::BAD_REQUEST, "missing topics").into_response();
    }
    let receiver = shared.events.subscribe();
    let closed = shared.streams.lock().clone();
    let stream = stream::unfold((receiver, topics), |(mut receiver, topics)| async move {
        loop {
            match receiver.recv().await {
                Ok(event) if topics.contains(&event.name) => {
                    let sse = Event::default().event(event.name).data(event.data);
                    return Some((Ok::<Event, Infallible>(sse), (receiver, topics)));
                }
                Ok(_) | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {}
                Err(tokio::sync::broadcast::error::RecvError::Closed) => return None,
            }
        }
    });
    let stream: std::pin::Pin<Box<dyn Stream<Item = Result<Event, Infallible>> + Send>> =
        Box::pin(stream.take_until(async move { closed.cancelled_owned().await }));
    Sse::new(stream).into_response()
}
