//! The slot clock: which slot and epoch it is, when a slot (or a fraction of it) starts, and how
//! long until then.
//!
//! Time is measured as a [`Duration`] since the Unix epoch, read from an injectable
//! [`TimeSource`] so tests can drive the clock by hand ([`ManualTimeSource`]). Invariants: the
//! slot duration and slots per epoch are non-zero (checked at construction); arithmetic
//! saturates instead of overflowing, so absurd slots map to the far future rather than wrapping.
//! Before genesis there is no current slot (`None`), and "next slot" means genesis.

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use types::{ChainSpec, Epoch, Slot};

/// Where the clock reads the current time from.
pub trait TimeSource: Send + Sync + std::fmt::Debug + 'static {
    /// The current time as a duration since the Unix epoch.
    fn now(&self) -> Duration;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemTimeSource;

impl TimeSource for SystemTimeSource {
    fn now(&self) -> Duration {
        // A wall clock before 1970 is a broken host; treat it as the epoch (pre-genesis).
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
    }
}

/// A time source set by hand (tests).
#[derive(Debug, Clone, Default)]
pub struct ManualTimeSource {
    now: Arc<Mutex<Duration>>,
}

impl ManualTimeSource {
    /// A source reading `now` (since the Unix epoch).
    pub fn new(now: Duration) -> Self {
        Self {
            now: Arc::new(Mutex::new(now)),
        }
    }

    /// Sets the current time.
    pub fn set(&self, now: Duration) {
        *self.now.lock() = now;
    }

    /// Moves the current time forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock();
        *now = now.saturating_add(by);
    }
}

impl TimeSource for ManualTimeSource {
    fn now(&self) -> Duration {
        *self.now.lock()
    }
}

/// Slot and epoch arithmetic from genesis time, slot duration and slots per epoch.
#[derive(Debug, Clone)]
pub struct SlotClock {
    genesis: Duration,
    slot_duration: Duration,
    slots_per_epoch: u64,
    time: Arc<dyn TimeSource>,
}

/// `duration * factor`, saturating at `Duration::MAX`.
fn mul_saturating(duration: Duration, factor: u64) -> Duration {
    let nanos = duration.as_nanos().saturating_mul(u128::from(factor));
    nanos_to_duration(nanos)
}

fn nanos_to_duration(nanos: u128) -> Duration {
    const NANOS_PER_SEC: u128 = 1_000_000_000;
    let secs = u64::try_from(nanos / NANOS_PER_SEC).unwrap_or(u64::MAX);
    // The remainder is < 10^9 and fits a u32.
    let sub = u32::try_from(nanos % NANOS_PER_SEC).unwrap_or(0);
    if secs == u64::MAX {
        return Duration::MAX;
    }
    Duration::new(secs, sub)
}

impl SlotClock {
    /// A wall-clock slot clock; `None` when `slot_duration` or `slots_per_epoch` is zero.
    pub fn new(genesis_time: u64, slot_duration: Duration, slots_per_epoch: u64) -> Option<Self> {
        if slot_duration.is_zero() || slots_per_epoch == 0 {
            return None;
        }
        Some(Self {
            genesis: Duration::from_secs(genesis_time),
            slot_duration,
            slots_per_epoch,
            time: Arc::new(SystemTimeSource),
        })
    }

    /// A wall-clock slot clock for the chain described by `spec` (whose slot duration and slots
    /// per epoch are guaranteed non-zero).
    pub fn from_spec(genesis_time: u64, spec: &ChainSpec) -> Self {
        Self {
            genesis: Duration::from_secs(genesis_time),
            slot_duration: spec.slot_duration().max(Duration::from_millis(1)),
            slots_per_epoch: spec.slots_per_epoch.max(1),
            time: Arc::new(SystemTimeSource),
        }
    }

    /// The same clock reading time from `source`.
    pub fn with_time_source(mut self, source: Arc<dyn TimeSource>) -> Self {
        self.time = source;
        self
    }

    /// Genesis time, as a duration since the Unix epoch.
    pub fn genesis(&self) -> Duration {
        self.genesis
    }

    /// The slot duration.
    pub fn slot_duration(&self) -> Duration {
        self.slot_duration
    }

    /// Slots per epoch.
    pub fn slots_per_epoch(&self) -> u64 {
        self.slots_per_epoch
    }

    /// The current time since the Unix epoch.
    pub fn now(&self) -> Duration {
        self.time.now()
    }

    /// The slot at `time`; `None` before genesis.
    pub fn slot_at(&self, time: Duration) -> Option<Slot> {
        let since_genesis = time.checked_sub(self.genesis)?;
        let slot = since_genesis.as_nanos() / self.slot_duration.as_nanos();
        Some(Slot(u64::try_from(slot).unwrap_or(u64::MAX)))
    }

    /// The current slot; `None` before genesis.
    pub fn now_slot(&self) -> Option<Slot> {
        self.slot_at(self.now())
    }

    /// The current epoch; `None` before genesis.
    pub fn now_epoch(&self) -> Option<Epoch> {
        self.now_slot().map(|slot| slot.epoch(self.slots_per_epoch))
    }

    /// The current slot, or slot 0 before genesis.
    pub fn now_slot_or_genesis(&self) -> Slot {
        self.now_slot().unwrap_or(Slot(0))
    }

    /// Whether genesis is still in the future.
    pub fn is_prior_to_genesis(&self) -> bool {
        self.now() < self.genesis
    }

    /// The epoch of `slot`.
    pub fn epoch_of(&self, slot: Slot) -> Epoch {
        slot.epoch(self.slots_per_epoch)
    }

    /// When `slot` starts (since the Unix epoch).
    pub fn start_of(&self, slot: Slot) -> Duration {
        self.genesis
            .saturating_add(mul_saturating(self.slot_duration, slot.as_u64()))
    }

    /// When `epoch` starts (since the Unix epoch).
    pub fn start_of_epoch(&self, epoch: Epoch) -> Duration {
        self.start_of(Slot(epoch.as_u64().saturating_mul(self.slots_per_epoch)))
    }

    /// The instant `basis_points / 10000` of the way into `slot` (e.g. 3333 for the attestation
    /// deadline). Values above 10000 reach into later slots.
    pub fn slot_fraction(&self, slot: Slot, basis_points: u64) -> Duration {
        let offset = self
            .slot_duration
            .as_nanos()
            .saturating_mul(u128::from(basis_points))
            / 10_000;
        self.start_of(slot)
            .saturating_add(nanos_to_duration(offset))
    }

    /// How long until `time` (zero if it has passed).
    pub fn duration_until(&self, time: Duration) -> Duration {
        time.saturating_sub(self.now())
    }

    /// How long until `slot` starts (zero if it has started).
    pub fn duration_to_slot(&self, slot: Slot) -> Duration {
        self.duration_until(self.start_of(slot))
    }

    /// How long until the next slot starts; before genesis, until genesis.
    pub fn duration_to_next_slot(&self) -> Duration {
        match self.now_slot() {
            Some(slot) => self.duration_to_slot(slot + 1),
            None => self.duration_until(self.genesis),
        }
    }

    /// How long until the next epoch starts; before genesis, until genesis.
    pub fn duration_to_next_epoch(&self) -> Duration {
        match self.now_epoch() {
            Some(epoch) => self.duration_until(self.start_of_epoch(epoch + 1)),
            None => self.duration_until(self.genesis),
        }
    }

    /// How far into the current slot we are; `None` before genesis.
    pub fn time_into_slot(&self) -> Option<Duration> {
        let now = self.now();
        let slot = self.slot_at(now)?;
        Some(now.saturating_sub(self.start_of(slot)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GENESIS: u64 = 1_600_000_000;

    fn clock(now: Duration) -> (SlotClock, ManualTimeSource) {
        let source = ManualTimeSource::new(now);
        let clock = SlotClock::new(GENESIS, Duration::from_secs(12), 32)
            .unwrap()
            .with_time_source(Arc::new(source.clone()));
        (clock, source)
    }

    fn at(secs: u64, millis: u64) -> Duration {
        Duration::from_secs(secs) + Duration::from_millis(millis)
    }

    #[test]
    fn before_genesis_there_is_no_slot() {
        let (clock, source) = clock(at(GENESIS - 5, 500));
        assert!(clock.is_prior_to_genesis());
        assert_eq!(clock.now_slot(), None);
        assert_eq!(clock.now_epoch(), None);
        assert_eq!(clock.now_slot_or_genesis(), Slot(0));
        assert_eq!(clock.duration_to_next_slot(), Duration::from_millis(4500));
        assert_eq!(clock.duration_to_next_epoch(), Duration::from_millis(4500));
        assert_eq!(clock.time_into_slot(), None);
        source.set(at(GENESIS, 0));
        assert_eq!(clock.now_slot(), Some(Slot(0)));
        assert_eq!(clock.duration_to_next_slot(), Duration::from_secs(12));
    }

    #[test]
    fn slot_and_epoch_boundaries() {
        let (clock, source) = clock(at(GENESIS + 12 * 33 + 11, 999));
        assert_eq!(clock.now_slot(), Some(Slot(33)));
        assert_eq!(clock.now_epoch(), Some(Epoch(1)));
        assert_eq!(clock.duration_to_next_slot(), Duration::from_millis(1));
        assert_eq!(clock.time_into_slot(), Some(Duration::from_millis(11_999)));
        source.advance(Duration::from_millis(1));
        assert_eq!(clock.now_slot(), Some(Slot(34)));
        assert_eq!(clock.time_into_slot(), Some(Duration::ZERO));
        // Epoch 2 starts at slot 64.
        assert_eq!(clock.duration_to_next_epoch(), Duration::from_secs(12 * 30));
        assert_eq!(
            clock.start_of_epoch(Epoch(2)),
            Duration::from_secs(GENESIS + 64 * 12)
        );
        assert_eq!(clock.epoch_of(Slot(63)), Epoch(1));
    }

    #[test]
    fn slot_fractions() {
        let (clock, _) = clock(at(GENESIS, 0));
        let start = clock.start_of(Slot(10));
        assert_eq!(start, Duration::from_secs(GENESIS + 120));
        assert_eq!(
            clock.slot_fraction(Slot(10), 3333),
            start + Duration::from_micros(3_999_600)
        );
        assert_eq!(
            clock.slot_fraction(Slot(10), 6667),
            start + Duration::from_micros(8_000_400)
        );
        assert_eq!(
            clock.slot_fraction(Slot(10), 10_000),
            clock.start_of(Slot(11))
        );
        assert_eq!(clock.duration_to_slot(Slot(10)), Duration::from_secs(120));
        assert_eq!(clock.duration_to_slot(Slot(0)), Duration::ZERO);
    }

    #[test]
    fn sub_second_slots_and_saturation() {
        let source = ManualTimeSource::new(at(GENESIS, 1_250));
        let clock = SlotClock::new(GENESIS, Duration::from_millis(500), 4)
            .unwrap()
            .with_time_source(Arc::new(source));
        assert_eq!(clock.now_slot(), Some(Slot(2)));
        assert_eq!(clock.duration_to_next_slot(), Duration::from_millis(250));
        assert!(clock.start_of(Slot(u64::MAX)) > clock.start_of(Slot(u64::MAX - 1)));
        let (twelve, _) = self::clock(at(GENESIS, 0));
        assert_eq!(twelve.start_of(Slot(u64::MAX)), Duration::MAX);
        assert_eq!(
            clock.slot_at(Duration::MAX).map(|s| s > Slot(0)),
            Some(true)
        );
        assert!(SlotClock::new(GENESIS, Duration::ZERO, 4).is_none());
        assert!(SlotClock::new(GENESIS, Duration::from_secs(1), 0).is_none());
    }

    #[test]
    fn from_spec_uses_spec_timing() {
        let spec = ChainSpec::minimal();
        let clock = SlotClock::from_spec(GENESIS, &spec);
        assert_eq!(clock.slot_duration(), spec.slot_duration());
        assert_eq!(clock.slots_per_epoch(), 8);
        assert_eq!(clock.genesis(), Duration::from_secs(GENESIS));
    }
}
