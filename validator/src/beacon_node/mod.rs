//! The beacon node side of the client: one node ([`BeaconNodeClient`]), several with health
//! ranking ([`BeaconNodeFallback`]), and the SSE event stream ([`events`]).

pub mod client;
pub mod error;
pub mod events;
pub mod fallback;
pub mod health;

pub use client::{
    BeaconNodeClient, BlockProductionRoute, Encoding, ProduceBlockRequest, ProducedBlockResponse,
    PublishOutcome, Timeouts, VersionedRoute,
};
pub use error::{Error, NodeFailure, Result};
pub use events::{BeaconEvent, EventService, EventsConfig};
pub use fallback::{BeaconNodeFallback, BroadcastTopic, FallbackConfig, NodeStats, NodeStatus};
pub use health::{ChainReference, IncompatibleReason, NodeHealth};
