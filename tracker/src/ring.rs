//! The tracker ring: which tracker owns a blob's swarm, so every announce for it reaches
//! the same peer store.
//!
//! Trackers (`host:port` strings from `trackers`) sit on a `consistent_hash_ring` ring
//! with FNV hashing, keyed by the blob digest's 64 lowercase hex characters (the
//! torrent's `name`) — the same construction as the origin ring, so any component that
//! builds a [`TrackerRing`] from the same list agrees on every owner (agents use
//! `starling_p2p::announce::TrackerRing`, built the same way). Keying by digest rather
//! than info hash lets an agent find the owner before it has the metainfo: it asks the
//! owner for the `.torrent` and announces there, so the tracker that learnt which
//! origins seed the blob is the one handing out its peers. An empty list means a ring
//! of this tracker alone. Adding or removing a tracker moves only about 1/n of the
//! swarms.

use consistent_hash_ring::{Ring, RingBuilder};
use starling_config::tracker::TrackerConfig;
use starling_core::Digest;

/// Virtual nodes per tracker: enough to spread torrents evenly over a few trackers.
pub const VNODES: usize = 64;

/// The trackers of a cluster on a consistent-hash ring. Never empty.
#[derive(Clone)]
pub struct TrackerRing {
    ring: Ring<String>,
    hosts: Vec<String>,
}

impl TrackerRing {
    /// A ring of `trackers`, or of `this` alone when `trackers` is empty.
    pub fn new(trackers: &[String], this: &str) -> Self {
        let hosts = if trackers.is_empty() {
            vec![this.to_owned()]
        } else {
            trackers.to_vec()
        };
        let ring = RingBuilder::default()
            .vnodes(VNODES)
            .nodes_iter(hosts.iter().cloned())
            .build();
        Self { ring, hosts }
    }

    /// The ring of `cfg.trackers`, falling back to `cfg.advertise`.
    pub fn from_config(cfg: &TrackerConfig) -> Self {
        Self::new(&cfg.trackers, &cfg.advertise)
    }

    /// The tracker that keeps the swarm of the blob `digest`.
    pub fn owner(&self, digest: &Digest) -> String {
        self.ring.get(digest.hex()).clone()
    }

    /// Every tracker in ring order for `digest`: the owner first, then where a client
    /// fails over to when the owner is down.
    pub fn owners(&self, digest: &Digest) -> Vec<String> {
        self.ring.replicas(digest.hex()).cloned().collect()
    }

    /// `http://<owner>/announce`, the announce URL written into the blob's torrent.
    pub fn announce_url(&self, digest: &Digest) -> String {
        format!("http://{}/announce", self.owner(digest))
    }

    /// Every tracker, in configuration order.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }
}

impl std::fmt::Debug for TrackerRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerRing")
            .field("hosts", &self.hosts)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn trackers(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("tracker-{i}:15003")).collect()
    }

    fn hash(i: u32) -> Digest {
        Digest::of(&i.to_be_bytes())
    }

    #[test]
    fn placement_is_stable_across_builders_and_list_order() {
        let ring = TrackerRing::new(&trackers(5), "tracker-0:15003");
        let mut reversed = trackers(5);
        reversed.reverse();
        let rebuilt = TrackerRing::new(&reversed, "tracker-4:15003");
        for i in 0..500 {
            let owner = ring.owner(&hash(i));
            assert_eq!(rebuilt.owner(&hash(i)), owner, "every builder agrees");
            assert_eq!(ring.owners(&hash(i))[0], owner, "the owner leads failover");
            assert_eq!(
                ring.announce_url(&hash(i)),
                format!("http://{owner}/announce")
            );
        }
        let mut owners = ring.owners(&hash(7));
        owners.sort();
        assert_eq!(owners, trackers(5), "failover visits every tracker once");
    }

    #[test]
    fn every_tracker_gets_a_fair_share() {
        let ring = TrackerRing::new(&trackers(4), "tracker-0:15003");
        let mut share: HashMap<String, usize> = HashMap::new();
        for i in 0..4000 {
            *share.entry(ring.owner(&hash(i))).or_default() += 1;
        }
        assert_eq!(share.len(), 4, "{share:?}");
        assert!(share.values().all(|&n| n > 500), "{share:?}");
    }

    #[test]
    fn removing_a_tracker_moves_only_its_torrents() {
        let before = TrackerRing::new(&trackers(4), "tracker-0:15003");
        let after = TrackerRing::new(&trackers(3), "tracker-0:15003");
        let mut moved = 0;
        for i in 0..2000 {
            let (old, new) = (before.owner(&hash(i)), after.owner(&hash(i)));
            if old != new {
                assert_eq!(
                    old, "tracker-3:15003",
                    "only the removed tracker's torrents move"
                );
                moved += 1;
            }
        }
        assert!(moved > 0 && moved < 1000, "{moved}");
    }

    #[test]
    fn an_empty_list_is_this_tracker_alone() {
        let ring = TrackerRing::new(&[], "10.0.0.7:15003");
        assert_eq!(ring.hosts(), ["10.0.0.7:15003"]);
        assert_eq!(ring.owner(&hash(1)), "10.0.0.7:15003");
        assert_eq!(ring.owners(&hash(1)), ["10.0.0.7:15003"]);
    }
}
