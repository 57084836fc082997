//! The origin hash ring: which origins own a digest.
//!
//! Hosts (`host:port` strings from `cluster.hosts`) sit on a `consistent_hash_ring` ring
//! with FNV hashing, keyed by the digest's 64 hex characters. Every component that builds
//! a ring from the same host list therefore agrees on the owners of every digest, in
//! the same order. Adding or removing a host moves only about 1/n of the digests.

use consistent_hash_ring::{Ring, RingBuilder};
use starling_config::ClusterConfig;
use starling_core::Digest;

/// Virtual nodes per host: enough to spread digests evenly over a handful of origins.
pub const VNODES: usize = 64;

/// The origins of a cluster on a consistent-hash ring.
#[derive(Clone)]
pub struct OriginRing {
    ring: Ring<String>,
    hosts: Vec<String>,
    replicas: usize,
}

impl OriginRing {
    /// A ring of `hosts` where each digest has `replicas` owners (all hosts if fewer).
    pub fn new(hosts: &[String], replicas: usize) -> Self {
        let ring = RingBuilder::default()
            .vnodes(VNODES)
            .nodes_iter(hosts.iter().cloned())
            .build();
        Self {
            ring,
            hosts: hosts.to_vec(),
            replicas: replicas.max(1),
        }
    }

    pub fn from_config(cluster: &ClusterConfig) -> Self {
        Self::new(&cluster.hosts, cluster.replicas)
    }

    /// The distinct owners of `digest`, in ring order: the first is the primary.
    pub fn owners(&self, digest: &Digest) -> Vec<String> {
        self.ring
            .replicas(digest.hex())
            .take(self.replicas)
            .cloned()
            .collect()
    }

    /// Every host, in configuration order.
    pub fn hosts(&self) -> &[String] {
        &self.hosts
    }

    pub fn replicas(&self) -> usize {
        self.replicas
    }
}

impl std::fmt::Debug for OriginRing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginRing")
            .field("hosts", &self.hosts)
            .field("replicas", &self.replicas)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("origin-{i}:15002")).collect()
    }

    #[test]
    fn owners_are_distinct_stable_and_capped_by_the_host_count() {
        let ring = OriginRing::new(&hosts(5), 3);
        for i in 0..200u32 {
            let digest = Digest::of(&i.to_be_bytes());
            let owners = ring.owners(&digest);
            assert_eq!(owners.len(), 3);
            let mut unique = owners.clone();
            unique.sort();
            unique.dedup();
            assert_eq!(unique.len(), 3, "{owners:?}");
            let rebuilt = OriginRing::new(&hosts(5), 3);
            assert_eq!(rebuilt.owners(&digest), owners, "every builder agrees");
        }
        let small = OriginRing::new(&hosts(2), 3);
        assert_eq!(small.owners(&Digest::of(b"x")).len(), 2);
    }

    #[test]
    fn primaries_spread_over_every_host() {
        let ring = OriginRing::new(&hosts(4), 1);
        let mut primaries: HashMap<String, usize> = HashMap::new();
        for i in 0..4000u32 {
            let owner = ring.owners(&Digest::of(&i.to_be_bytes())).remove(0);
            *primaries.entry(owner).or_default() += 1;
        }
        assert_eq!(primaries.len(), 4);
        assert!(primaries.values().all(|&n| n > 500), "{primaries:?}");
    }

    #[test]
    fn removing_a_host_moves_only_its_digests() {
        let before = OriginRing::new(&hosts(4), 1);
        let after = OriginRing::new(&hosts(3), 1);
        let mut moved = 0;
        for i in 0..2000u32 {
            let digest = Digest::of(&i.to_be_bytes());
            let (old, new) = (before.owners(&digest), after.owners(&digest));
            if old != new {
                assert_eq!(
                    old[0], "origin-3:15002",
                    "only the removed host's digests move"
                );
                moved += 1;
            }
        }
        assert!(moved > 0 && moved < 1000, "{moved}");
    }
}
