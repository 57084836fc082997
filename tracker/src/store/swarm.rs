//! One torrent's peers, keyed by peer id, and the liveness rule shared by reads and sweeps.
//!
//! A peer is live while less than `peer_ttl` has passed since its last announce. Reads
//! (hand-out and counts) skip dead peers; only the sweep removes them, so a read never
//! has to write.
//!
//! The per-address bound's eviction lives here too: it is a scan of one swarm.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use starling_core::PeerId;

use crate::handout::PeerClass;
use crate::locality::Locality;

/// What the tracker remembers about one peer of one torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    /// Where other peers dial it.
    pub addr: SocketAddr,
    /// Holds the whole blob (announced `left=0` or `event=completed`).
    pub complete: bool,
    /// An origin: its peer id carries the origin class, or the tracker added it from
    /// the origin ring.
    pub origin: bool,
    /// When it last announced; the TTL counts from here.
    pub last_seen: Instant,
    pub locality: Locality,
}

impl PeerEntry {
    pub fn class(&self) -> PeerClass {
        if self.origin {
            PeerClass::Origin
        } else if self.complete {
            PeerClass::Complete
        } else {
            PeerClass::Leecher
        }
    }

    pub fn is_live(&self, now: Instant, ttl: Duration) -> bool {
        now.saturating_duration_since(self.last_seen) < ttl
    }
}

/// Seeder and leecher counts reported in every announce response.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SwarmCounts {
    pub complete: usize,
    pub incomplete: usize,
}

impl SwarmCounts {
    pub fn add(&mut self, entry: &PeerEntry) {
        if entry.complete {
            self.complete += 1;
        } else {
            self.incomplete += 1;
        }
    }
}

/// The peers of one info hash.
#[derive(Debug, Default)]
pub struct Swarm {
    pub peers: HashMap<PeerId, PeerEntry>,
}

impl Swarm {
    /// Live peers, in no particular order.
    pub fn live(&self, now: Instant, ttl: Duration) -> impl Iterator<Item = (&PeerId, &PeerEntry)> {
        self.peers.iter().filter(move |(_, e)| e.is_live(now, ttl))
    }

    pub fn counts(&self, now: Instant, ttl: Duration) -> SwarmCounts {
        let mut counts = SwarmCounts::default();
        self.live(now, ttl).for_each(|(_, e)| counts.add(e));
        counts
    }

    /// Drops dead peers; returns how many went.
    pub fn remove_dead(&mut self, now: Instant, ttl: Duration) -> usize {
        let before = self.peers.len();
        self.peers.retain(|_, e| e.is_live(now, ttl));
        before - self.peers.len()
    }

    /// When `max` entries other than `except` are at `ip` already, removes the one that
    /// announced least recently and returns its id (see the store's per-address bound).
    pub fn evict_least_recent_at(
        &mut self,
        ip: IpAddr,
        except: &PeerId,
        max: usize,
    ) -> Option<PeerId> {
        let mut count = 0;
        let mut least_recent: Option<(&PeerId, Instant)> = None;
        for (id, entry) in &self.peers {
            if entry.addr.ip() == ip && id != except {
                count += 1;
                if least_recent.is_none_or(|(_, seen)| entry.last_seen < seen) {
                    least_recent = Some((id, entry.last_seen));
                }
            }
        }
        if count < max {
            return None;
        }
        let evicted = *least_recent?.0;
        self.peers.remove(&evicted);
        Some(evicted)
    }
}
