//! The mock beacon node: an in-process Beacon API server (axum, `127.0.0.1:0`) over a
//! deterministic fake chain, for fault injection, fork paths the devnet cannot show (Electra,
//! Fulu), request counting and benches.
//!
//! It serves every endpoint [`crate::beacon_node::BeaconNodeClient`] calls with spec-shaped
//! JSON (and SSZ where the client may use it), records every request, verifies the signatures of
//! everything published against the right domain (rejecting and recording invalid items), and
//! offers knobs: down (connection refused or 503), latency, malformed JSON (all routes or one),
//! wrong genesis root, not synced, legacy API (the 404s of Lodestar 1.5.1), per-route failures,
//! builder (blinded) payloads and fee recipient override. BLS-to-execution credential changes
//! are checked like a node's pool checks them and applied to the registry at once.
//!
//! The mock is a fault-injection tool, never the only proof of a duty: real beacon nodes are.

mod chain;
mod faults;
pub mod harness;
mod inclusion;
pub mod keys;
mod logs;
mod routes;
mod verify;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use parking_lot::Mutex;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_util::sync::CancellationToken;
use types::api::{BeaconCommitteeSubscription, ProposerPreparationData, SyncCommitteeSubscription};
use types::block::PayloadKind;
use types::{
    AttestationData, ChainSpec, Epoch, EthSpec, ExecutionAddress, ForkName, Graffiti, Hash256,
    PublicKeyBytes, SignatureBytes, SignedAggregateAndProof, SignedBlsToExecutionChange,
    SignedContributionAndProof, SignedValidatorRegistrationV1, Slot, SyncCommitteeMessage,
};

pub use chain::MockValidator;
pub use harness::{TestNode, now_secs, spec_at, spec_with_slot_seconds};
pub use keys::InteropKeypair;
pub use logs::Logs;

use crate::beacon_node::Encoding;
use crate::clock::{SlotClock, SystemTimeSource, TimeSource};
use chain::MockChain;
use verify::KeyCache;

/// An item the mock refuses, with the reason it reports to the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Rejected(pub String);

impl Rejected {
    pub(crate) fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

/// How a down node fails.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DownMode {
    /// The listener is closed: connections are refused.
    Refused,
    /// Every request gets 503.
    Unavailable,
}

/// What the node says about its sync state.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncState {
    /// Synced.
    Synced,
    /// Synced, head optimistic.
    Optimistic,
    /// Syncing, `distance` slots behind; duty routes answer 503.
    Syncing {
        /// Slots behind.
        distance: u64,
    },
}

/// Which Beacon API generation the node speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApiMode {
    /// Every route.
    Current,
    /// Like Lodestar 1.5.1: 404 on v3 block production, v2 pool/publication routes, liveness and
    /// POST state validators/balances (415 first when the body is SSZ); comma-separated event
    /// topics are ignored; epoch committees come with `index` and `slot` swapped.
    Legacy,
}

/// Where malformed JSON is served.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Malformed {
    /// Nowhere.
    Off,
    /// On every JSON route.
    All,
    /// On one route template, e.g. `/eth/v1/node/syncing`.
    Route(String),
}

/// Where produced execution payloads come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PayloadSource {
    /// The local execution node: full blocks.
    Local,
    /// A builder: v3 answers blinded blocks unless `builder_boost_factor=0`.
    Builder,
}

/// Whether the mock emits `block`/`head` events at every slot start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotEvents {
    /// Emit, driven by the wall clock.
    Emit,
    /// Only events pushed by the test.
    Off,
}

/// The mock's chain and behaviour.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// The chain config served and used (fork epochs included).
    pub spec: ChainSpec,
    /// Genesis time (Unix seconds).
    pub genesis_time: u64,
    /// The registry.
    pub validators: Vec<MockValidator>,
    /// The genesis validators root served (and used in signing domains).
    pub genesis_validators_root: Hash256,
    /// Fee recipient for proposers without a preparation.
    pub fee_recipient: ExecutionAddress,
    /// The time source of the mock's clock.
    pub time: Arc<dyn TimeSource>,
    /// Slot events.
    pub slot_events: SlotEvents,
}

impl MockConfig {
    /// Validators `pubkeys`, all active since genesis; genesis validators root derived from the
    /// keys; wall-clock time; slot events on.
    pub fn new(spec: ChainSpec, genesis_time: u64, pubkeys: &[PublicKeyBytes]) -> Self {
        let mut preimage = b"mock genesis".to_vec();
        for pubkey in pubkeys {
            preimage.extend_from_slice(pubkey.as_slice());
        }
        Self {
            spec,
            genesis_time,
            validators: pubkeys.iter().copied().map(MockValidator::active).collect(),
            genesis_validators_root: Hash256::from_slice(&ethereum_hashing::hash(&preimage)),
            fee_recipient: ExecutionAddress::repeat_byte(0xfe),
            time: Arc::new(SystemTimeSource),
            slot_events: SlotEvents::Emit,
        }
    }
}

/// `spec` with the given forks scheduled at the given epochs (earlier forks at epoch 0 unless
/// listed), e.g. `[(ForkName::Electra, Epoch(0))]` for an Electra-from-genesis chain.
pub fn spec_with_forks(spec: &ChainSpec, forks: &[(ForkName, Epoch)]) -> types::Result<ChainSpec> {
    let mut map = spec.raw_config().clone();
    let latest = forks
        .iter()
        .map(|(fork, _)| *fork)
        .max()
        .unwrap_or(ForkName::Phase0);
    for fork in ForkName::ALL.into_iter().skip(1) {
        let Some(prefix) = fork.config_prefix() else {
            continue;
        };
        let key = format!("{prefix}_FORK_EPOCH");
        if let Some((_, epoch)) = forks.iter().find(|(f, _)| *f == fork) {
            map.insert(key, epoch.to_string().into());
        } else if fork < latest {
            map.insert(key, "0".into());
        } else {
            map.insert(key, u64::MAX.to_string().into());
        }
    }
    ChainSpec::from_config_map(&map)
}

/// One request the mock received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, ...
    pub method: String,
    /// The route template (`/eth/v1/validator/duties/attester/{epoch}`), or the path when no
    /// route matched.
    pub route: String,
    /// The full request URI (path and query).
    pub uri: String,
    /// The request body.
    pub body: Bytes,
    /// The `Eth-Consensus-Version` header, if sent.
    pub consensus_version: Option<String>,
    /// The `Content-Type` header, if sent.
    pub content_type: Option<String>,
    /// The mock's head slot when the request arrived (slot 0 before genesis).
    pub slot: Slot,
}

/// Which shape a published attestation had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AttestationShape {
    /// A phase0 `Attestation` with one aggregation bit.
    Phase0,
    /// An Electra `SingleAttestation`.
    Single,
}

/// A verified published attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedAttestation {
    /// The attester.
    pub validator_index: u64,
    /// Its committee.
    pub committee_index: u64,
    /// The vote.
    pub data: AttestationData,
    /// The signature.
    pub signature: SignatureBytes,
    /// How it was published.
    pub shape: AttestationShape,
}

/// A verified published block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PublishedBlock {
    /// Its slot.
    pub slot: Slot,
    /// Its proposer.
    pub proposer_index: u64,
    /// Its root.
    pub root: Hash256,
    /// Its fork.
    pub fork: ForkName,
    /// Full or blinded.
    pub payload: PayloadKind,
    /// The payload's fee recipient (Bellatrix on).
    pub fee_recipient: Option<ExecutionAddress>,
    /// Its graffiti.
    pub graffiti: Graffiti,
    /// The body encoding it arrived in.
    pub encoding: Encoding,
}

/// Everything published and accepted.
#[derive(Debug, Clone)]
pub struct Published<E: EthSpec> {
    /// Attestations.
    pub attestations: Vec<PublishedAttestation>,
    /// Aggregates.
    pub aggregates: Vec<SignedAggregateAndProof<E>>,
    /// Blocks.
    pub blocks: Vec<PublishedBlock>,
    /// Sync committee messages.
    pub sync_messages: Vec<SyncCommitteeMessage>,
    /// Sync contributions.
    pub contributions: Vec<SignedContributionAndProof<E>>,
    /// Builder registrations.
    pub registrations: Vec<SignedValidatorRegistrationV1>,
    /// Proposer preparations.
    pub preparations: Vec<ProposerPreparationData>,
    /// Beacon committee subscriptions.
    pub beacon_committee_subscriptions: Vec<BeaconCommitteeSubscription>,
    /// Sync committee subscriptions.
    pub sync_committee_subscriptions: Vec<SyncCommitteeSubscription>,
}

impl<E: EthSpec> Default for Published<E> {
    fn default() -> Self {
        Self {
            attestations: Vec::new(),
            aggregates: Vec::new(),
            blocks: Vec::new(),
            sync_messages: Vec::new(),
            contributions: Vec::new(),
            registrations: Vec::new(),
            preparations: Vec::new(),
            beacon_committee_subscriptions: Vec::new(),
            sync_committee_subscriptions: Vec::new(),
        }
    }
}

/// An item the mock refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    /// The route template.
    pub route: String,
    /// The item's position in the request, for batches.
    pub index: Option<usize>,
    /// Why.
    pub reason: String,
}

#[derive(Debug, Clone)]
pub(crate) struct Faults {
    pub(crate) down: Option<DownMode>,
    pub(crate) latency: Option<Duration>,
    pub(crate) malformed: Malformed,
    pub(crate) genesis_root_override: Option<Hash256>,
    pub(crate) sync: SyncState,
    pub(crate) api: ApiMode,
    pub(crate) route_failures: HashMap<(String, String), u16>,
    pub(crate) payload: PayloadSource,
    pub(crate) fee_recipient_override: Option<ExecutionAddress>,
    /// Whether published signatures (and attestation targets) are checked.
    pub(crate) verify: bool,
}

impl Default for Faults {
    fn default() -> Self {
        Self {
            down: None,
            latency: None,
            malformed: Malformed::Off,
            genesis_root_override: None,
            sync: SyncState::Synced,
            api: ApiMode::Current,
            route_failures: HashMap::new(),
            payload: PayloadSource::Local,
            fee_recipient_override: None,
            verify: true,
        }
    }
}

#[derive(Debug)]
pub(crate) struct Records<E: EthSpec> {
    pub(crate) requests: Vec<RecordedRequest>,
    pub(crate) published: Published<E>,
    pub(crate) rejected: Vec<Rejection>,
    /// Latest fee recipient per validator (from proposer preparation).
    pub(crate) fee_recipients: HashMap<u64, ExecutionAddress>,
    /// (epoch, validator) pairs seen active through publications.
    pub(crate) live: HashSet<(Epoch, u64)>,
    /// Accepted (and applied) BLS-to-execution credential changes.
    pub(crate) bls_changes: Vec<SignedBlsToExecutionChange>,
}

/// A raw SSE event.
#[derive(Debug, Clone)]
pub(crate) struct RawEvent {
    pub(crate) name: String,
    pub(crate) data: String,
}

/// State shared by the handlers.
#[derive(Debug)]
pub(crate) struct Shared<E: EthSpec> {
    pub(crate) chain: Mutex<MockChain<E>>,
    pub(crate) clock: SlotClock,
    pub(crate) faults: Mutex<Faults>,
    pub(crate) records: Mutex<Records<E>>,
    pub(crate) keys: KeyCache,
    pub(crate) events: broadcast::Sender<RawEvent>,
    pub(crate) streams: Mutex<CancellationToken>,
}

impl<E: EthSpec> Shared<E> {
    /// The head slot (the current slot; 0 before genesis).
    pub(crate) fn head_slot(&self) -> Slot {
        self.clock.now_slot_or_genesis()
    }

    pub(crate) fn reject(&self, route: &str, index: Option<usize>, reason: &Rejected) {
        self.records.lock().rejected.push(Rejection {
            route: route.to_owned(),
            index,
            reason: reason.0.clone(),
        });
    }

    pub(crate) fn emit(&self, name: &str, data: String) {
        // No subscriber is fine.
        let _ = self.events.send(RawEvent {
            name: name.to_owned(),
            data,
        });
    }
}

/// The running mock beacon node. Dropping it stops the server.
#[derive(Debug)]
pub struct MockBeaconNode<E: EthSpec> {
    shared: Arc<Shared<E>>,
    addr: SocketAddr,
    server: Mutex<Option<CancellationToken>>,
    background: CancellationToken,
}

impl<E: EthSpec> MockBeaconNode<E> {
    /// Starts the server on `127.0.0.1` at a free port.
    pub async fn start(config: MockConfig) -> std::io::Result<Self> {
        let clock = SlotClock::from_spec(config.genesis_time, &config.spec)
            .with_time_source(config.time.clone());
        let (events, _) = broadcast::channel(1024);
        let shared = Arc::new(Shared {
            chain: Mutex::new(MockChain::new(
                config.spec.clone(),
                config.genesis_time,
                config.genesis_validators_root,
                config.validators.clone(),
                config.fee_recipient,
            )),
            clock,
            faults: Mutex::new(Faults::default()),
            records: Mutex::new(Records {
                requests: Vec::new(),
                published: Published::default(),
                rejected: Vec::new(),
                fee_recipients: HashMap::new(),
                live: HashSet::new(),
                bls_changes: Vec::new(),
            }),
            keys: KeyCache::default(),
            events,
            streams: Mutex::new(CancellationToken::new()),
        });
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let node = Self {
            shared,
            addr,
            server: Mutex::new(None),
            background: CancellationToken::new(),
        };
        node.serve(listener);
        if config.slot_events == SlotEvents::Emit {
            tokio::spawn(routes::events::slot_ticker(
                node.shared.clone(),
                node.background.clone(),
            ));
        }
        Ok(node)
    }

    fn serve(&self, listener: TcpListener) {
        let token = CancellationToken::new();
        let router = routes::router(self.shared.clone());
        let shutdown = token.clone();
        tokio::spawn(async move {
            let server = axum::serve(listener, router)
                .with_graceful_shutdown(async move { shutdown.cancelled().await });
            if let Err(error) = server.await {
                tracing::warn!(%error, "mock beacon node server stopped");
            }
        });
        *self.server.lock() = Some(token);
    }

    /// The base URL (`http://127.0.0.1:port/`).
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// The socket address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The genesis validators root (as used for signing, whatever is served).
    pub fn genesis_validators_root(&self) -> Hash256 {
        self.shared.chain.lock().genesis_validators_root
    }

    /// The chain config.
    pub fn spec(&self) -> ChainSpec {
        self.shared.chain.lock().spec.clone()
    }

    /// The mock's slot clock.
    pub fn clock(&self) -> &SlotClock {
        &self.shared.clock
    }

    /// Takes the node down (`Some`) or brings it back up (`None`).
    pub async fn set_down(&self, mode: Option<DownMode>) -> std::io::Result<()> {
        let running = self.server.lock().is_some();
        match mode {
            Some(DownMode::Refused) => {
                if let Some(token) = self.server.lock().take() {
                    token.cancel();
                }
                // Long-lived event streams would keep their connections open.
                self.close_event_streams();
                self.shared.faults.lock().down = Some(DownMode::Refused);
                // The listener closes asynchronously: wait until connections are refused.
                for _ in 0..200 {
                    if tokio::net::TcpStream::connect(self.addr).await.is_err() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            }
            Some(DownMode::Unavailable) | None => {
                if !running {
                    let listener = TcpListener::bind(self.addr).await?;
                    self.serve(listener);
                }
                self.shared.faults.lock().down = mode;
            }
        }
        Ok(())
    }

    /// Adds a fixed delay before every answer.
    pub fn set_latency(&self, latency: Option<Duration>) {
        self.shared.faults.lock().latency = latency;
    }

    /// Serves malformed JSON.
    pub fn set_malformed(&self, malformed: Malformed) {
        self.shared.faults.lock().malformed = malformed;
    }

    /// Serves another genesis validators root than the chain's (`None` restores it).
    pub fn set_genesis_root_override(&self, root: Option<Hash256>) {
        self.shared.faults.lock().genesis_root_override = root;
    }

    /// Sets the reported sync state.
    pub fn set_sync_state(&self, sync: SyncState) {
        self.shared.faults.lock().sync = sync;
    }

    /// Sets the API generation.
    pub fn set_api_mode(&self, api: ApiMode) {
        self.shared.faults.lock().api = api;
    }

    /// Makes `method` on `route` (a template) answer `status`.
    pub fn fail_route(&self, method: &str, route: &str, status: u16) {
        self.shared
            .faults
            .lock()
            .route_failures
            .insert((method.to_ascii_uppercase(), route.to_owned()), status);
    }

    /// Removes every per-route failure.
    pub fn clear_route_failures(&self) {
        self.shared.faults.lock().route_failures.clear();
    }

    /// Sets where block payloads come from.
    pub fn set_payload_source(&self, source: PayloadSource) {
        self.shared.faults.lock().payload = source;
    }

    /// Makes produced blocks pay `recipient` whatever the proposer's preparation says.
    pub fn set_fee_recipient_override(&self, recipient: Option<ExecutionAddress>) {
        self.shared.faults.lock().fee_recipient_override = recipient;
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.records.lock().requests.clone()
    }

    /// How many `method` requests hit `route` (a template).
    pub fn request_count(&self, method: &str, route: &str) -> usize {
        self.shared
            .records
            .lock()
            .requests
            .iter()
            .filter(|r| r.method.eq_ignore_ascii_case(method) && r.route == route)
            .count()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.shared.records.lock().requests.clear();
    }

    /// Everything published and accepted.
    pub fn published(&self) -> Published<E> {
        self.shared.records.lock().published.clone()
    }

    /// The BLS-to-execution credential changes accepted (each already applied to the
    /// registry: the validator's credentials are `0x01 ‖ 11 zero bytes ‖ address`).
    pub fn bls_to_execution_changes(&self) -> Vec<SignedBlsToExecutionChange> {
        self.shared.records.lock().bls_changes.clone()
    }

    /// Sets a validator's withdrawal credentials (tests of the pool's credential checks).
    pub fn set_withdrawal_credentials(&self, index: u64, credentials: Hash256) {
        let mut chain = self.shared.chain.lock();
        if let Some(v) = chain
            .validators
            .get_mut(usize::try_from(index).unwrap_or(usize::MAX))
        {
            v.validator.withdrawal_credentials = credentials;
        }
    }

    /// Marks a validator slashed with `exit_epoch` (`active_slashed` until then, withdrawable
    /// 256 epochs later), as an included attester or proposer slashing would; its duties stay
    /// assigned, as on a real chain.
    pub fn set_slashed(&self, index: u64, exit_epoch: Epoch) {
        let mut chain = self.shared.chain.lock();
        if let Some(v) = chain
            .validators
            .get_mut(usize::try_from(index).unwrap_or(usize::MAX))
        {
            v.validator.slashed = true;
            v.validator.exit_epoch = exit_epoch;
            v.validator.withdrawable_epoch = Epoch(exit_epoch.as_u64().saturating_add(256));
        }
    }

    /// Everything refused.
    pub fn rejected(&self) -> Vec<Rejection> {
        self.shared.records.lock().rejected.clone()
    }

    /// Turns signature checks of pool publications (attestations, aggregates, sync messages and
    /// contributions) and the attestation target/slot checks off (`false`) or on. Benchmarks
    /// turn them off so that the mock's own verification does not count as client time; every
    /// test keeps them on.
    pub fn set_verification(&self, verify: bool) {
        self.shared.faults.lock().verify = verify;
    }

    /// Leaves slots whose block was not published empty (their root is the previous block's),
    /// as on a real chain whose proposers are offline, instead of filling them with a
    /// synthetic block by the slot's proposer. Only affects slots not computed yet.
    pub fn set_empty_unpublished_slots(&self, empty: bool) {
        self.shared.chain.lock().empty_unpublished = empty;
    }

    /// Makes the liveness endpoint report `index` live in `epoch` (as if another instance of
    /// the key had been seen).
    pub fn mark_live(&self, epoch: Epoch, index: u64) {
        self.shared.records.lock().live.insert((epoch, index));
    }

    /// Pushes a raw SSE event to subscribers of topic `name` (the data is sent as given, so
    /// tests can send malformed events too).
    pub fn emit_event(&self, name: &str, data: &str) {
        self.shared.emit(name, data.to_owned());
    }

    /// Emits the `block` and `head` events of the current slot now.
    pub fn emit_slot_events(&self) {
        routes::events::emit_slot(&self.shared, self.shared.head_slot());
    }

    /// Ends every open event stream (clients must reconnect).
    pub fn close_event_streams(&self) {
        let mut streams = self.shared.streams.lock();
        streams.cancel();
        *streams = CancellationToken::new();
    }

    /// The block root of `slot`.
    pub fn block_root(&self, slot: Slot) -> Hash256 {
        self.shared.chain.lock().root_at(slot)
    }

    /// Committee `index` at `slot`.
    pub fn committee(&self, slot: Slot, index: u64) -> Option<Vec<u64>> {
        self.shared.chain.lock().committee(slot, index)
    }

    /// The number of committees per slot at `slot`.
    pub fn committees_per_slot(&self, slot: Slot) -> u64 {
        self.shared.chain.lock().committees_per_slot(slot)
    }

    /// The proposer of `slot`.
    pub fn proposer(&self, slot: Slot) -> Option<u64> {
        self.shared.chain.lock().proposer(slot)
    }

    /// The sync committee (positions → validator indices) at `epoch`.
    pub fn sync_committee(&self, epoch: Epoch) -> Vec<u64> {
        self.shared.chain.lock().sync_committee(epoch)
    }
}

impl<E: EthSpec> Drop for MockBeaconNode<E> {
    fn drop(&mut self) {
        if let Some(token) = self.server.lock().take() {
            token.cancel();
        }
        self.background.cancel();
        self.shared.streams.lock().cancel();
    }
}
