//! Per-peer protection and dialling state, kept by the swarm task (pure, no I/O):
//! token buckets for gossip and requests, strikes for invalid input leading to a timed ban,
//! and dial backoff for committee peers.

use std::collections::HashMap;
use std::time::Duration;

use libp2p::{Multiaddr, PeerId};
use tokio::time::Instant;

/// A token bucket: `burst` tokens, refilled at `rate` per second.
#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

impl Bucket {
    fn take(&mut self, now: Instant, rate: f64, burst: f64) -> bool {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate).min(burst);
        self.last = now;
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// Rate and misbehaviour limits.
#[derive(Debug, Clone, Copy)]
pub struct GuardLimits {
    /// Gossip messages per second a peer may send on average.
    pub gossip_rate: f64,
    /// Gossip messages a peer may send in a burst.
    pub gossip_burst: f64,
    /// Requests per second a peer may make on average.
    pub request_rate: f64,
    /// Requests a peer may make in a burst.
    pub request_burst: f64,
    /// Strikes (invalid messages, rate-limit excess) that get a peer banned.
    pub strikes_to_ban: u32,
    /// How long a ban lasts.
    pub ban_duration: Duration,
}

#[derive(Debug)]
struct PeerState {
    gossip: Bucket,
    requests: Bucket,
    strikes: u32,
}

/// What a strike did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strike {
    /// Counted; the peer stays.
    Counted,
    /// The peer reached the limit: ban it now.
    Ban,
    /// The peer is already banned.
    AlreadyBanned,
}

/// Rate limits, strikes and bans per peer.
#[derive(Debug)]
pub struct PeerGuard {
    limits: GuardLimits,
    peers: HashMap<PeerId, PeerState>,
    bans: HashMap<PeerId, Instant>,
}

impl PeerGuard {
    /// A guard with `limits`.
    pub fn new(limits: GuardLimits) -> Self {
        Self {
            limits,
            peers: HashMap::new(),
            bans: HashMap::new(),
        }
    }

    fn state(&mut self, peer: PeerId, now: Instant) -> &mut PeerState {
        let l = self.limits;
        self.peers.entry(peer).or_insert(PeerState {
            gossip: Bucket {
                tokens: l.gossip_burst,
                last: now,
            },
            requests: Bucket {
                tokens: l.request_burst,
                last: now,
            },
            strikes: 0,
        })
    }

    /// Whether `peer` may deliver one more gossip message now.
    pub fn allow_gossip(&mut self, peer: PeerId, now: Instant) -> bool {
        let l = self.limits;
        !self.is_banned(&peer)
            && self
                .state(peer, now)
                .gossip
                .take(now, l.gossip_rate, l.gossip_burst)
    }

    /// Whether `peer` may make one more request now.
    pub fn allow_request(&mut self, peer: PeerId, now: Instant) -> bool {
        let l = self.limits;
        !self.is_banned(&peer)
            && self
                .state(peer, now)
                .requests
                .take(now, l.request_rate, l.request_burst)
    }

    /// Counts one misbehaviour of `peer`.
    pub fn strike(&mut self, peer: PeerId, now: Instant) -> Strike {
        if self.is_banned(&peer) {
            return Strike::AlreadyBanned;
        }
        let limit = self.limits.strikes_to_ban;
        let ban_until = now + self.limits.ban_duration;
        let state = self.state(peer, now);
        state.strikes += 1;
        if state.strikes >= limit {
            state.strikes = 0;
            self.bans.insert(peer, ban_until);
            Strike::Ban
        } else {
            Strike::Counted
        }
    }

    /// Bans `peer` now (e.g. gossipsub graylisted it); false when it already was.
    pub fn ban(&mut self, peer: PeerId, now: Instant) -> bool {
        if self.is_banned(&peer) {
            return false;
        }
        self.bans.insert(peer, now + self.limits.ban_duration);
        if let Some(state) = self.peers.get_mut(&peer) {
            state.strikes = 0;
        }
        true
    }

    /// Whether `peer` is banned.
    pub fn is_banned(&self, peer: &PeerId) -> bool {
        self.bans.contains_key(peer)
    }

    /// Ends the bans that expired by `now`; returns those peers.
    pub fn expire_bans(&mut self, now: Instant) -> Vec<PeerId> {
        let expired: Vec<PeerId> = self
            .bans
            .iter()
            .filter(|(_, until)| **until <= now)
            .map(|(p, _)| *p)
            .collect();
        for peer in &expired {
            self.bans.remove(peer);
        }
        expired
    }
}

#[derive(Debug)]
struct DialState {
    addresses: Vec<Multiaddr>,
    next: Instant,
    backoff: Duration,
}

/// Which committee peers to dial when, with exponential backoff.
#[derive(Debug)]
pub struct Dialer {
    min: Duration,
    max: Duration,
    peers: HashMap<PeerId, DialState>,
}

impl Dialer {
    /// Backoff from `min`, doubling up to `max`.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            peers: HashMap::new(),
        }
    }

    /// Sets the peers to keep connected (others are forgotten); due at once.
    pub fn set_peers(&mut self, peers: &[(PeerId, Vec<Multiaddr>)], now: Instant) {
        let mut next = HashMap::new();
        for (peer, addresses) in peers {
            let state = self.peers.remove(peer).unwrap_or(DialState {
                addresses: Vec::new(),
                next: now,
                backoff: self.min,
            });
            let mut addresses = addresses.clone();
            for a in state.addresses.iter() {
                if !addresses.contains(a) {
                    addresses.push(a.clone());
                }
            }
            next.insert(*peer, DialState { addresses, ..state });
        }
        self.peers = next;
    }

    /// Adds an address for a known peer; returns false for an unknown peer.
    pub fn add_address(&mut self, peer: PeerId, address: Multiaddr, now: Instant) -> bool {
        match self.peers.get_mut(&peer) {
            Some(state) => {
                if !state.addresses.contains(&address) {
                    state.addresses.push(address);
                }
                state.next = now;
                state.backoff = self.min;
                true
            }
            None => false,
        }
    }

    /// Whether `peer` is a committee peer.
    pub fn knows(&self, peer: &PeerId) -> bool {
        self.peers.contains_key(peer)
    }

    /// The peers not in `is_connected` whose next attempt is due, with their addresses;
    /// each one's next attempt moves out by its backoff, which doubles.
    pub fn due(
        &mut self,
        now: Instant,
        is_connected: impl Fn(&PeerId) -> bool,
    ) -> Vec<(PeerId, Vec<Multiaddr>)> {
        let max = self.max;
        let mut out = Vec::new();
        for (peer, state) in &mut self.peers {
            if is_connected(peer) || state.addresses.is_empty() || state.next > now {
                continue;
            }
            out.push((*peer, state.addresses.clone()));
            state.next = now + state.backoff;
            state.backoff = (state.backoff * 2).min(max);
        }
        out
    }

    /// A connection to `peer` succeeded: its backoff starts over.
    pub fn connected(&mut self, peer: &PeerId, now: Instant) {
        let min = self.min;
        if let Some(state) = self.peers.get_mut(peer) {
            state.backoff = min;
            state.next = now;
        }
    }

    /// `peer` may be dialled again at once (e.g. its ban ended).
    pub fn reset(&mut self, peer: &PeerId, now: Instant) {
        self.connected(peer, now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> GuardLimits {
        GuardLimits {
            gossip_rate: 10.0,
            gossip_burst: 5.0,
            request_rate: 1.0,
            request_burst: 2.0,
            strikes_to_ban: 3,
            ban_duration: Duration::from_secs(60),
        }
    }

    #[test]
    fn buckets_refill_and_strikes_ban() {
        let now = Instant::now();
        let peer = PeerId::random();
        let mut guard = PeerGuard::new(limits());
        let allowed = (0..20).filter(|_| guard.allow_gossip(peer, now)).count();
        assert_eq!(allowed, 5, "the burst, then nothing");
        assert!(guard.allow_gossip(peer, now + Duration::from_millis(150)));
        assert!(guard.allow_request(peer, now) && guard.allow_request(peer, now));
        assert!(!guard.allow_request(peer, now));
        assert_eq!(guard.strike(peer, now), Strike::Counted);
        assert_eq!(guard.strike(peer, now), Strike::Counted);
        assert_eq!(guard.strike(peer, now), Strike::Ban);
        assert!(guard.is_banned(&peer));
        assert_eq!(guard.strike(peer, now), Strike::AlreadyBanned);
        assert!(!guard.allow_gossip(peer, now + Duration::from_secs(10)));
        assert!(guard.expire_bans(now + Duration::from_secs(59)).is_empty());
        assert_eq!(guard.expire_bans(now + Duration::from_secs(60)), vec![peer]);
        assert!(guard.allow_gossip(peer, now + Duration::from_secs(61)));
        assert!(guard.ban(peer, now) && !guard.ban(peer, now));
        assert!(guard.is_banned(&peer));
    }

    #[test]
    fn dial_backoff_doubles_and_resets() {
        let now = Instant::now();
        let peer = PeerId::random();
        let addr: Multiaddr = "/ip4/127.0.0.1/tcp/1".parse().unwrap();
        let mut dialer = Dialer::new(Duration::from_secs(1), Duration::from_secs(4));
        dialer.set_peers(&[(peer, vec![addr.clone()])], now);
        assert_eq!(dialer.due(now, |_| false).len(), 1);
        assert!(dialer.due(now, |_| false).is_empty());
        let t1 = now + Duration::from_secs(1);
        assert_eq!(dialer.due(t1, |_| false).len(), 1, "after 1 s");
        assert!(
            dialer
                .due(t1 + Duration::from_millis(1999), |_| false)
                .is_empty()
        );
        let t2 = t1 + Duration::from_secs(2);
        assert_eq!(dialer.due(t2, |_| false).len(), 1, "after 2 s");
        let t3 = t2 + Duration::from_secs(4);
        assert_eq!(dialer.due(t3, |_| false).len(), 1, "capped at 4 s");
        assert!(
            dialer.due(t3 + Duration::from_secs(4), |_| true).is_empty(),
            "connected"
        );
        dialer.connected(&peer, t3);
        assert_eq!(dialer.due(t3, |_| false).len(), 1);
        assert!(!dialer.add_address(PeerId::random(), addr, now));
    }
}
