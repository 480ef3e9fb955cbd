//! Server-sent events (`/eth/v1/events`): head, block, chain_reorg and finalized_checkpoint.
//!
//! Topics are sent as repeated `topics=` parameters (Lodestar ignores the comma form). The
//! [`EventService`] keeps one stream open to the best-ranked node, reconnecting with exponential
//! backoff (reset once an event arrives) and after [`EventsConfig::idle_timeout`] without any
//! data (a half-open connection would otherwise hang forever). Events go out on a tokio
//! broadcast channel; slow receivers lose the oldest events (they must re-query state, never
//! block the stream). Malformed events are logged and skipped; they never end the stream.

use std::sync::Arc;
use std::time::Duration;

use eventsource_stream::Eventsource;
use futures::{Stream, StreamExt};
use reqwest::header::ACCEPT;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use types::api::{BlockEvent, ChainReorgEvent, EventTopic, FinalizedCheckpointEvent, HeadEvent};

use super::client::{BeaconNodeClient, redact};
use super::error::{Error, Result};
use super::fallback::BeaconNodeFallback;
use crate::executor::{TaskExecutor, TaskKind};

/// The name of the event stream task.
pub const EVENTS_TASK: &str = "beacon-node-events";

/// A parsed beacon node event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BeaconEvent {
    /// `head`.
    Head(HeadEvent),
    /// `block`.
    Block(BlockEvent),
    /// `chain_reorg`.
    ChainReorg(ChainReorgEvent),
    /// `finalized_checkpoint`.
    FinalizedCheckpoint(FinalizedCheckpointEvent),
}

impl BeaconEvent {
    /// The event's topic.
    pub fn topic(&self) -> EventTopic {
        match self {
            BeaconEvent::Head(_) => EventTopic::Head,
            BeaconEvent::Block(_) => EventTopic::Block,
            BeaconEvent::ChainReorg(_) => EventTopic::ChainReorg,
            BeaconEvent::FinalizedCheckpoint(_) => EventTopic::FinalizedCheckpoint,
        }
    }

    /// Parses an SSE event by name; `Ok(None)` for topics not modelled here.
    pub fn parse(event: &str, data: &str) -> std::result::Result<Option<Self>, serde_json::Error> {
        let Some(topic) = EventTopic::from_name(event) else {
            return Ok(None);
        };
        Ok(Some(match topic {
            EventTopic::Head => BeaconEvent::Head(serde_json::from_str(data)?),
            EventTopic::Block => BeaconEvent::Block(serde_json::from_str(data)?),
            EventTopic::ChainReorg => BeaconEvent::ChainReorg(serde_json::from_str(data)?),
            EventTopic::FinalizedCheckpoint => {
                BeaconEvent::FinalizedCheckpoint(serde_json::from_str(data)?)
            }
        }))
    }
}

impl BeaconNodeClient {
    /// Opens `/eth/v1/events` for `topics`. The stream yields parsed events, `Err` items for
    /// malformed ones (the stream goes on), and ends when the connection does.
    pub async fn subscribe_events(
        &self,
        topics: &[EventTopic],
    ) -> Result<impl Stream<Item = Result<BeaconEvent>> + Send + 'static + use<>> {
        let query: Vec<(&'static str, String)> = topics
            .iter()
            .map(|topic| ("topics", topic.as_str().to_owned()))
            .collect();
        let url = self.endpoint("eth/v1/events", &query)?;
        let shown = redact(&url);
        let response = self
            .stream_request(url)
            .header(ACCEPT, "text/event-stream")
            .send()
            .await
            .map_err(|e| Error::Connection {
                url: shown.clone(),
                detail: e.without_url().to_string(),
            })?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            return Err(Error::Status {
                status: status.as_u16(),
                message: body.chars().take(512).collect(),
                url: shown,
                failures: Vec::new(),
            });
        }
        let stream = response
            .bytes_stream()
            .eventsource()
            .filter_map(move |item| {
                let shown = shown.clone();
                async move {
                    match item {
                        Ok(event) => match BeaconEvent::parse(&event.event, &event.data) {
                            Ok(Some(parsed)) => Some(Ok(parsed)),
                            Ok(None) => {
                                tracing::debug!(event = %event.event, "ignoring beacon node event");
                                None
                            }
                            Err(e) => Some(Err(Error::Decode {
                                url: shown,
                                detail: format!("event {:?}: {e}", event.event),
                            })),
                        },
                        Err(e) => Some(Err(Error::Connection {
                            url: shown,
                            detail: format!("event stream broke: {e}"),
                        })),
                    }
                }
            });
        Ok(stream)
    }
}

/// Event stream settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventsConfig {
    /// Topics to subscribe to.
    pub topics: Vec<EventTopic>,
    /// Reconnect after this long without any event.
    pub idle_timeout: Duration,
    /// First reconnection delay.
    pub min_backoff: Duration,
    /// Largest reconnection delay.
    pub max_backoff: Duration,
    /// Capacity of the broadcast channel.
    pub channel_capacity: usize,
}

impl EventsConfig {
    /// All modelled topics; idle timeout of one epoch; backoff from 250 ms up to one slot.
    pub fn new(slot_duration: Duration, slots_per_epoch: u64) -> Self {
        Self {
            topics: EventTopic::ALL.to_vec(),
            idle_timeout: slot_duration * u32::try_from(slots_per_epoch).unwrap_or(u32::MAX),
            min_backoff: Duration::from_millis(250),
            max_backoff: slot_duration.max(Duration::from_secs(1)),
            channel_capacity: 256,
        }
    }
}

/// Keeps an event stream open to the best node and broadcasts its events.
#[derive(Debug)]
pub struct EventService {
    fallback: Arc<BeaconNodeFallback>,
    config: EventsConfig,
    sender: broadcast::Sender<BeaconEvent>,
}

/// Why one connection ended.
enum StreamEnd {
    Shutdown,
    Failed { received: bool, reason: String },
}

impl EventService {
    /// A service over `fallback`'s nodes.
    pub fn new(fallback: Arc<BeaconNodeFallback>, config: EventsConfig) -> Self {
        let (sender, _) = broadcast::channel(config.channel_capacity.max(1));
        Self {
            fallback,
            config,
            sender,
        }
    }

    /// A new receiver of events.
    pub fn subscribe(&self) -> broadcast::Receiver<BeaconEvent> {
        self.sender.subscribe()
    }

    /// Spawns [`Self::run`] as the critical task [`EVENTS_TASK`].
    pub fn spawn(self, executor: &TaskExecutor) {
        let token = executor.shutdown_token();
        executor.spawn(EVENTS_TASK, TaskKind::Critical, self.run(token));
    }

    /// Streams events until `token` is cancelled.
    pub async fn run(self, token: CancellationToken) {
        let mut backoff = self.config.min_backoff;
        loop {
            let end = match self.fallback.best() {
                Some(client) => self.stream_once(&client, &token).await,
                None => StreamEnd::Failed {
                    received: false,
                    reason: "no usable beacon node".into(),
                },
            };
            let (received, reason) = match end {
                StreamEnd::Shutdown => return,
                StreamEnd::Failed { received, reason } => (received, reason),
            };
            if received {
                backoff = self.config.min_backoff;
            }
            tracing::warn!(%reason, retry_in = ?backoff, "beacon node event stream ended, reconnecting");
            tokio::select! {
                () = token.cancelled() => return,
                () = tokio::time::sleep(backoff) => {}
            }
            backoff = (backoff * 2).min(self.config.max_backoff);
        }
    }

    async fn stream_once(&self, client: &BeaconNodeClient, token: &CancellationToken) -> StreamEnd {
        let stream = tokio::select! {
            () = token.cancelled() => return StreamEnd::Shutdown,
            result = client.subscribe_events(&self.config.topics) => result,
        };
        let stream = match stream {
            Ok(stream) => stream,
            Err(error) => {
                return StreamEnd::Failed {
                    received: false,
                    reason: error.to_string(),
                };
            }
        };
        tracing::info!(node = %client, "subscribed to beacon node events");
        let mut stream = std::pin::pin!(stream);
        let mut received = false;
        loop {
            let next = tokio::select! {
                () = token.cancelled() => return StreamEnd::Shutdown,
                next = tokio::time::timeout(self.config.idle_timeout, stream.next()) => next,
            };
            match next {
                Err(_) => {
                    return StreamEnd::Failed {
                        received,
                        reason: format!(
                            "no event from {client} for {:?}",
                            self.config.idle_timeout
                        ),
                    };
                }
                Ok(None) => {
                    return StreamEnd::Failed {
                        received,
                        reason: format!("{client} closed the event stream"),
                    };
                }
                Ok(Some(Err(error @ Error::Decode { .. }))) => {
                    tracing::warn!(%error, "skipping a malformed beacon node event");
                }
                Ok(Some(Err(error))) => {
                    return StreamEnd::Failed {
                        received,
                        reason: error.to_string(),
                    };
                }
                Ok(Some(Ok(event))) => {
                    received = true;
                    // No receiver is fine: nobody listens yet.
                    let _ = self.sender.send(event);
                }
            }
        }
    }
}
