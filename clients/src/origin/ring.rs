//! The origin ring: which origins own a digest.
//!
//! A thin view of [`starling_core::Ring`] over `cluster.hosts`, keyed by the digest's
//! [`blob_key`], with `cluster.replicas` owners per digest. Placement (rendezvous hashing
//! with SHA-256) is defined once in core, so every component that builds a ring from the
//! same host list agrees on the owners of every digest, in the same order, whatever
//! compiler built it. Adding or removing a host moves only about 1/n of the digests.

use starling_config::ClusterConfig;
use starling_core::{Digest, Ring, blob_key};

/// The origins of a cluster and how many of them own each digest.
#[derive(Debug, Clone)]
pub struct OriginRing {
    ring: Ring,
    replicas: usize,
}

impl OriginRing {
    /// A ring of `hosts` where each digest has `replicas` owners (all hosts if fewer).
    pub fn new(hosts: &[String], replicas: usize) -> Self {
        Self {
            ring: Ring::new(hosts.iter().cloned()),
            replicas: replicas.max(1),
        }
    }

    pub fn from_config(cluster: &ClusterConfig) -> Self {
        Self::new(&cluster.hosts, cluster.replicas)
    }

    /// The distinct owners of `digest`, in preference order: the first is the primary.
    pub fn owners(&self, digest: &Digest) -> Vec<String> {
        self.ring
            .owners(&blob_key(digest), self.replicas)
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// Every host, in configuration order (duplicates dropped).
    pub fn hosts(&self) -> &[String] {
        self.ring.nodes()
    }

    pub fn replicas(&self) -> usize {
        self.replicas
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("origin-{i}:15002")).collect()
    }

    #[test]
    fn owners_are_the_first_replicas_of_the_core_placement() {
        // The core golden placement of sha256("a") over origin-0..4 is 2, 1, 3, 4, 0.
        let ring = OriginRing::new(&hosts(5), 3);
        let a = Digest::of(b"a");
        assert_eq!(
            ring.owners(&a),
            ["origin-2:15002", "origin-1:15002", "origin-3:15002"]
        );
        let mut shuffled = hosts(5);
        shuffled.rotate_left(2);
        assert_eq!(OriginRing::new(&shuffled, 3).owners(&a), ring.owners(&a));
        assert_eq!(OriginRing::new(&hosts(5), 0).owners(&a), ["origin-2:15002"]);
    }

    #[test]
    fn owners_are_capped_by_the_host_count_and_hosts_are_distinct() {
        let small = OriginRing::new(&hosts(2), 3);
        assert_eq!(small.owners(&Digest::of(b"x")).len(), 2);
        let twice = OriginRing::new(&[hosts(2), hosts(2)].concat(), 3);
        assert_eq!(twice.hosts(), hosts(2));
        assert_eq!(
            twice.owners(&Digest::of(b"x")),
            small.owners(&Digest::of(b"x"))
        );
    }
}
