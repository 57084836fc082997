//! The in-memory peer store: info hash -> swarm of peers, rebuilt from announces.
//!
//! Sharding: [`SHARDS`] `Mutex<HashMap<InfoHash, Swarm>>` shards picked by the first
//! bytes of the info hash (a SHA-1, so uniform for honest clients). An announce holds
//! exactly one shard lock for its whole read-modify-hand-out step and copies the handed
//! peers out, so bencoding happens unlocked.
//!
//! Lock order: at most one shard lock is held at a time, by anyone (announce, sweep,
//! counts); nothing else is locked while holding it, and the peer counter is an atomic.
//! The locks are std mutexes because no `.await` happens while one is held. A poisoned
//! shard (a panic while locked) is used as is: every update leaves the map valid.
//!
//! Bounds: at most `max_peers` peers in total (default 1,000,000, roughly 200 MB at
//! ~200 bytes per entry with map overhead) and `max_peers_per_torrent` per swarm
//! (default 10,000, which also bounds the O(swarm) work of one announce). Each torrent
//! holds at least one peer, so the number of torrents is bounded too. A new peer that
//! does not fit is not stored but still gets a hand-out; known peers always update.
//!
//! Per source address: at most `max_peers_per_ip` entries (default 8) of one swarm share
//! an IP, so one host cannot fill a swarm (and its hand-outs) with invented peer ids.
//! A peer that would go over the bound evicts the entry of that IP that announced
//! least recently instead of being turned away: a flood only churns the flooder's own
//! entries, and an agent restarting under a new peer id replaces its stale entry. The
//! bound is not applied to announces from `trusted_networks` (loopback by default):
//! those may name any address with `ip=` anyway, and many legitimate peers share one
//! source address there (a one-host cluster on 127.0.0.1, agents behind SNAT).
//!
//! Origins handed out without announcing ([`OriginSeed`]s, from the origin ring) are
//! not stored: each announce gets them from the caller and they are always handed out
//! (see [`crate::handout`]). What the ring says about an origin wins over announces: a
//! stored entry with a ring origin's peer id or address is left out of the hand-out
//! and the counts, so an origin that announces anyway is listed once, and a stranger
//! announcing under an origin's peer id cannot replace its address.

mod swarm;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use rand::Rng;
use starling_core::announce::Event;
use starling_core::{InfoHash, PeerId};

pub use swarm::{PeerEntry, SwarmCounts};

use crate::handout::{Requester, hand_out};
use crate::locality::Locality;
use crate::request::PeerAnnounce;
use swarm::Swarm;

/// Number of shards; a power of two comfortably above the core count.
pub const SHARDS: usize = 64;

/// Size bounds of the store (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoreLimits {
    pub max_peers: usize,
    pub max_peers_per_torrent: usize,
    /// Most entries of one swarm at one IP, for announces from untrusted networks.
    pub max_peers_per_ip: usize,
}

impl Default for StoreLimits {
    fn default() -> Self {
        Self {
            max_peers: 1_000_000,
            max_peers_per_torrent: 10_000,
            max_peers_per_ip: starling_config::tracker::default_max_peers_per_ip(),
        }
    }
}

/// An origin seeding a swarm without announcing: handed out as if it had announced
/// `left=0`, in the origin class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OriginSeed {
    pub peer_id: PeerId,
    pub addr: SocketAddr,
}

/// A peer as handed out: copied out of the store so encoding needs no lock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandedPeer {
    pub peer_id: PeerId,
    pub addr: SocketAddr,
}

/// The store's answer to one announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceOutcome {
    /// Live seeders and leechers of the torrent, the requester included.
    pub counts: SwarmCounts,
    /// Peers for the requester, in hand-out order.
    pub peers: Vec<HandedPeer>,
    /// False when a new peer was turned away by a size bound (or it stopped).
    pub stored: bool,
}

type Shard = HashMap<InfoHash, Swarm>;

/// Sharded, bounded peer store; see the module docs for locking and bounds.
pub struct PeerStore {
    shards: Box<[Mutex<Shard>]>,
    peers: AtomicUsize,
    peer_ttl: Duration,
    limits: StoreLimits,
}

impl PeerStore {
    pub fn new(peer_ttl: Duration, limits: StoreLimits) -> Self {
        Self {
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            peers: AtomicUsize::new(0),
            peer_ttl,
            limits,
        }
    }

    /// Records the announce (or removes the peer on `stopped`) and hands out at most
    /// `limit` live peers, `origins` among them; `now` is the announce time.
    pub fn announce<R: Rng + ?Sized>(
        &self,
        req: PeerAnnounce,
        limit: usize,
        origins: &[OriginSeed],
        now: Instant,
        rng: &mut R,
    ) -> AnnounceOutcome {
        let mut shard = self.lock(&req.info_hash);
        if req.event == Event::Stopped {
            return self.stop(&mut shard, &req, now);
        }
        let (info_hash, peer_id, addr) = (req.info_hash, req.peer_id, req.addr);
        let swarm = shard.entry(info_hash).or_default();
        let rejected = self.upsert(swarm, req, now).err();
        let requester = Requester {
            peer_id: &peer_id,
            addr,
            locality: match &rejected {
                Some(entry) => &entry.locality,
                None => &swarm.peers[&peer_id].locality,
            },
        };
        let ring = ring_entries(origins, now);
        let mut counts = SwarmCounts::default();
        ring.iter().for_each(|(_, e)| counts.add(e));
        // The hand-out consumes every live peer, so counting on the way costs no extra pass.
        let announced = swarm
            .live(now, self.peer_ttl)
            .filter(|(id, entry)| !origins.iter().any(|o| o.is(id, entry)))
            .inspect(|(_, e)| counts.add(e));
        let ring_handed = ring.iter().map(|(id, entry)| (id, entry));
        let peers = hand_out(requester, ring_handed, announced, limit, rng)
            .into_iter()
            .map(|(id, entry)| HandedPeer {
                peer_id: *id,
                addr: entry.addr,
            })
            .collect();
        let emptied = swarm.peers.is_empty();
        if emptied {
            // Only a swarm just created for a turned-away peer can be empty here.
            shard.remove(&info_hash);
        }
        AnnounceOutcome {
            counts,
            peers,
            stored: rejected.is_none(),
        }
    }

    /// Removes every peer whose TTL ran out, and swarms left empty; returns how many
    /// peers went. Locks one shard at a time.
    pub fn sweep(&self, now: Instant) -> usize {
        let mut removed = 0;
        for shard in self.shards.iter() {
            let mut shard = lock_shard(shard);
            shard.retain(|_, swarm| {
                removed += swarm.remove_dead(now, self.peer_ttl);
                !swarm.peers.is_empty()
            });
        }
        self.peers.fetch_sub(removed, Ordering::Relaxed);
        removed
    }

    /// Peers held, live or not yet swept.
    pub fn peer_count(&self) -> usize {
        self.peers.load(Ordering::Relaxed)
    }

    /// Torrents held (each has at least one peer, live or not yet swept).
    pub fn torrent_count(&self) -> usize {
        self.shards
            .iter()
            .map(|shard| lock_shard(shard).len())
            .sum()
    }

    /// The live peers of one torrent with their entries, for inspection and tests.
    pub fn live_peers(&self, info_hash: &InfoHash, now: Instant) -> Vec<(PeerId, PeerEntry)> {
        let shard = self.lock(info_hash);
        let Some(swarm) = shard.get(info_hash) else {
            return Vec::new();
        };
        swarm
            .live(now, self.peer_ttl)
            .map(|(id, entry)| (*id, entry.clone()))
            .collect()
    }

    fn stop(&self, shard: &mut Shard, req: &PeerAnnounce, now: Instant) -> AnnounceOutcome {
        let mut counts = SwarmCounts::default();
        if let Some(swarm) = shard.get_mut(&req.info_hash) {
            if swarm.peers.remove(&req.peer_id).is_some() {
                self.peers.fetch_sub(1, Ordering::Relaxed);
            }
            if swarm.peers.is_empty() {
                shard.remove(&req.info_hash);
            } else {
                counts = swarm.counts(now, self.peer_ttl);
            }
        }
        AnnounceOutcome {
            counts,
            peers: Vec::new(),
            stored: false,
        }
    }

    /// Updates a known peer or inserts a new one if the bounds allow; a turned-away
    /// entry comes back as the error.
    fn upsert(&self, swarm: &mut Swarm, req: PeerAnnounce, now: Instant) -> Result<(), PeerEntry> {
        let entry = PeerEntry {
            addr: req.addr,
            complete: req.is_complete(),
            origin: starling_core::PeerClass::of(&req.peer_id)
                == Some(starling_core::PeerClass::Origin),
            last_seen: now,
            locality: req.locality,
        };
        let known_ip = swarm.peers.get(&req.peer_id).map(|known| known.addr.ip());
        let ip = entry.addr.ip();
        if known_ip != Some(ip) && !req.from_trusted_network {
            let cap = self.limits.max_peers_per_ip;
            if let Some(evicted) = swarm.evict_least_recent_at(ip, &req.peer_id, cap) {
                tracing::debug!(%ip, %evicted, "peers per address bound: evicted the least recent");
                if known_ip.is_none() {
                    // The new peer takes the evicted one's place within both size bounds.
                    swarm.peers.insert(req.peer_id, entry);
                    return Ok(());
                }
                self.peers.fetch_sub(1, Ordering::Relaxed);
            }
        }
        if let Some(known) = swarm.peers.get_mut(&req.peer_id) {
            *known = entry;
            return Ok(());
        }
        if swarm.peers.len() >= self.limits.max_peers_per_torrent {
            return Err(entry);
        }
        let max = self.limits.max_peers;
        // Reserve a slot atomically so concurrent shards never overshoot the bound.
        let reserved = self
            .peers
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                (n < max).then_some(n + 1)
            });
        if reserved.is_err() {
            return Err(entry);
        }
        swarm.peers.insert(req.peer_id, entry);
        Ok(())
    }

    fn lock(&self, info_hash: &InfoHash) -> MutexGuard<'_, Shard> {
        let bytes = info_hash.as_bytes();
        let key = u64::from_le_bytes(bytes[..8].try_into().expect("an info hash has 20 bytes"));
        lock_shard(&self.shards[(key % SHARDS as u64) as usize])
    }
}

impl OriginSeed {
    /// Whether a stored entry is this origin: the same peer id or the same address.
    fn is(&self, id: &PeerId, entry: &PeerEntry) -> bool {
        *id == self.peer_id || entry.addr == self.addr
    }
}

/// Hand-out entries for the ring `origins`: complete, in the origin class, no place.
fn ring_entries(origins: &[OriginSeed], now: Instant) -> Vec<(PeerId, PeerEntry)> {
    origins
        .iter()
        .map(|origin| {
            let entry = PeerEntry {
                addr: origin.addr,
                complete: true,
                origin: true,
                last_seen: now,
                locality: Locality::default(),
            };
            (origin.peer_id, entry)
        })
        .collect()
}

fn lock_shard(shard: &Mutex<Shard>) -> MutexGuard<'_, Shard> {
    shard
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests;
