//! The one placement function of Starling: which origins own a blob, which tracker owns
//! a swarm. Every component places through [`Ring`], so they agree by construction, and
//! the hash is fixed here rather than borrowed from `std::hash` (whose output may change
//! between Rust releases), so they also agree across a rolling upgrade to a new compiler.
//!
//! Rendezvous (highest random weight) hashing over explicit bytes. Nodes are the
//! `host:port` strings exactly as configured (UTF-8 bytes, no normalisation); duplicates
//! are dropped, keeping the first. A key is bytes; a blob's key is its digest's 64
//! lowercase hex characters ([`blob_key`]), which is also the metainfo `name`. For a node
//! `N` and a key `K` the weight is
//!
//! ```text
//! weight(N, K) = SHA-256( u32_be(len(N)) || N || K )      (32 bytes)
//! ```
//!
//! and a key's preference order is every node sorted by weight, highest first, comparing
//! the 32 bytes as a big-endian unsigned integer (ties, which need a SHA-256 collision on
//! the first bytes, fall to the smaller `N` bytes). The first node is the primary, then
//! come the replicas, then the rest, where a client fails over. The length prefix keeps
//! `(N, K)` unambiguous, so any implementation with SHA-256 can reproduce placements; the
//! golden tests below pin a few.
//!
//! Consequences: the order of the configured list does not matter; adding an `n+1`-th
//! node moves about `1/(n+1)` of the primaries, all to the new node; removing a node
//! moves only the keys it held, and every other key's order is unchanged.

use sha2::{Digest as _, Sha256};

use crate::Digest;

/// A key's place on the ring of a blob: its digest's 64 lowercase hex characters.
pub fn blob_key(digest: &Digest) -> [u8; 64] {
    let mut key = [0u8; 64];
    hex::encode_to_slice(digest.as_bytes(), &mut key).expect("64 hex chars for 32 bytes");
    key
}

/// A set of nodes that every key is ranked over. Cheap to build, immutable.
#[derive(Clone)]
pub struct Ring {
    nodes: Vec<String>,
    /// `u32_be(len(N)) || N` already hashed, per node: a key costs one SHA-256 update
    /// and finish per node.
    prefixes: Vec<Sha256>,
}

impl Ring {
    /// A ring of `nodes`, duplicates dropped (the first kept). May be empty: then every
    /// key has no owner.
    pub fn new<I, S>(nodes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let mut unique: Vec<String> = Vec::new();
        for node in nodes {
            let node = node.into();
            if !unique.contains(&node) {
                unique.push(node);
            }
        }
        let prefixes = unique.iter().map(|n| prefix(n.as_bytes())).collect();
        Self {
            nodes: unique,
            prefixes,
        }
    }

    /// The distinct nodes, in configuration order.
    pub fn nodes(&self) -> &[String] {
        &self.nodes
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// Every node's index into [`Self::nodes`], in `key`'s preference order.
    pub fn ranking(&self, key: &[u8]) -> Vec<usize> {
        let mut weighted: Vec<([u8; 32], usize)> = self
            .prefixes
            .iter()
            .enumerate()
            .map(|(i, prefix)| (weight(prefix, key), i))
            .collect();
        weighted.sort_unstable_by(|(wa, a), (wb, b)| {
            wb.cmp(wa)
                .then_with(|| self.nodes[*a].as_bytes().cmp(self.nodes[*b].as_bytes()))
        });
        weighted.into_iter().map(|(_, i)| i).collect()
    }

    /// The first `n` nodes of `key`'s preference order (all of them if fewer): the
    /// primary, then the replicas.
    pub fn owners(&self, key: &[u8], n: usize) -> Vec<&str> {
        self.ranking(key)
            .into_iter()
            .take(n)
            .map(|i| self.nodes[i].as_str())
            .collect()
    }

    /// The primary of `key`, `None` on an empty ring.
    pub fn owner(&self, key: &[u8]) -> Option<&str> {
        self.owners(key, 1).pop()
    }
}

impl std::fmt::Debug for Ring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ring").field("nodes", &self.nodes).finish()
    }
}

/// `SHA-256(u32_be(len(N)) || N || K)`, from the hashed `u32_be(len(N)) || N`.
fn weight(prefix: &Sha256, key: &[u8]) -> [u8; 32] {
    prefix.clone().chain_update(key).finalize().into()
}

fn prefix(node: &[u8]) -> Sha256 {
    let len = u32::try_from(node.len()).expect("a node name shorter than 4 GiB");
    Sha256::new()
        .chain_update(len.to_be_bytes())
        .chain_update(node)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn nodes(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("origin-{i}:15002")).collect()
    }

    fn key(i: u32) -> [u8; 64] {
        blob_key(&Digest::of(&i.to_be_bytes()))
    }

    #[test]
    fn the_weight_is_sha256_of_the_length_prefixed_node_and_the_key() {
        let key = blob_key(&Digest::of(b"a"));
        assert_eq!(
            &key[..],
            b"ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb"
        );
        // Computed independently: sha256(b"\0\0\0\x0e" b"origin-0:15002" + key).
        assert_eq!(
            hex::encode(weight(&prefix(b"origin-0:15002"), &key)),
            "13c28b9224a0e36ed7671e0564ac047c81b2a9be930bb51bf616264babfefbe1"
        );
    }

    /// Placements pinned by an independent implementation of the formula in the module
    /// header: a change here moves blobs and swarms in every deployed cluster.
    #[test]
    fn golden_placements() {
        let origins = Ring::new(nodes(5));
        let trackers = Ring::new(["10.0.0.1:15003", "10.0.0.2:15003", "10.0.0.3:15003"]);
        // (blob content, origin-i order, 10.0.0.i order)
        let cases: [(&[u8], [u8; 5], [u8; 3]); 7] = [
            (b"a", [2, 1, 3, 4, 0], [3, 2, 1]),
            (b"b", [3, 0, 2, 4, 1], [3, 2, 1]),
            (b"c", [0, 3, 4, 1, 2], [1, 2, 3]),
            (b"d", [0, 1, 4, 2, 3], [3, 1, 2]),
            (b"e", [1, 2, 4, 3, 0], [1, 2, 3]),
            (b"starling", [1, 3, 2, 0, 4], [3, 1, 2]),
            (b"", [1, 0, 4, 2, 3], [3, 2, 1]),
        ];
        for (data, want_origins, want_trackers) in cases {
            let key = blob_key(&Digest::of(data));
            let label = String::from_utf8_lossy(data);
            let want: Vec<String> = want_origins
                .iter()
                .map(|i| format!("origin-{i}:15002"))
                .collect();
            assert_eq!(origins.owners(&key, 5), want, "origins, {label:?}");
            assert_eq!(origins.owners(&key, 3), want[..3], "origins, {label:?}");
            assert_eq!(origins.owner(&key), Some(want[0].as_str()));
            let want: Vec<String> = want_trackers
                .iter()
                .map(|i| format!("10.0.0.{i}:15003"))
                .collect();
            assert_eq!(trackers.owners(&key, 3), want, "trackers, {label:?}");
        }
        let loopback = Ring::new(["[::1]:15003", "[::1]:15004"]);
        let ipv6 = |data: &[u8]| loopback.owners(&blob_key(&Digest::of(data)), 2);
        assert_eq!(ipv6(b"b"), ["[::1]:15004", "[::1]:15003"]);
        assert_eq!(ipv6(b"e"), ["[::1]:15003", "[::1]:15004"]);
    }

    #[test]
    fn the_order_of_the_configured_nodes_does_not_matter() {
        let ring = Ring::new(nodes(7));
        let mut shuffled = nodes(7);
        shuffled.reverse();
        shuffled.swap(0, 3);
        let other = Ring::new(shuffled);
        for i in 0..1000 {
            assert_eq!(ring.owners(&key(i), 7), other.owners(&key(i), 7), "{i}");
        }
    }

    #[test]
    fn adding_a_node_moves_about_one_in_n_keys_all_to_it() {
        let before = Ring::new(nodes(10));
        let after = Ring::new(nodes(11));
        let added = "origin-10:15002";
        let mut moved = 0;
        for i in 0..5000 {
            let (old, new) = (before.owners(&key(i), 10), after.owners(&key(i), 11));
            let without: Vec<&str> = new.iter().copied().filter(|n| *n != added).collect();
            assert_eq!(without, old, "the others keep their order");
            if new[0] != old[0] {
                assert_eq!(new[0], added, "a moved key moves to the new node");
                moved += 1;
            }
        }
        // 1/11 of 5000 is 455.
        assert!((350..560).contains(&moved), "{moved}");
    }

    #[test]
    fn removing_a_node_moves_only_its_keys() {
        let before = Ring::new(nodes(4));
        let after = Ring::new(nodes(3));
        let removed = "origin-3:15002";
        let mut moved = 0;
        for i in 0..2000 {
            let (old, new) = (before.owners(&key(i), 4), after.owners(&key(i), 4));
            let without: Vec<&str> = old.iter().copied().filter(|n| *n != removed).collect();
            assert_eq!(new, without, "the others keep their order");
            if old[0] != new[0] {
                assert_eq!(old[0], removed, "only the removed node's keys move");
                moved += 1;
            }
        }
        assert!((400..600).contains(&moved), "{moved}");
    }

    #[test]
    fn every_node_gets_a_fair_share_of_primaries() {
        let ring = Ring::new(nodes(4));
        let mut share: HashMap<&str, usize> = HashMap::new();
        for i in 0..4000 {
            *share.entry(ring.owner(&key(i)).unwrap()).or_default() += 1;
        }
        assert_eq!(share.len(), 4, "{share:?}");
        assert!(
            share.values().all(|&n| (850..1150).contains(&n)),
            "{share:?}"
        );
    }

    #[test]
    fn duplicates_collapse_and_small_or_empty_rings_give_what_they_have() {
        let ring = Ring::new(["b:1", "a:1", "b:1"]);
        assert_eq!(ring.nodes(), ["b:1", "a:1"]);
        assert_eq!(ring.len(), 2);
        let owners = ring.owners(b"k", 3);
        assert_eq!(owners.len(), 2, "capped by the node count");
        assert_ne!(owners[0], owners[1]);
        assert_eq!(ring.ranking(b"k").len(), 2);

        let empty = Ring::new(Vec::<String>::new());
        assert!(empty.is_empty());
        assert_eq!(empty.owner(b"k"), None);
        assert!(empty.owners(b"k", 3).is_empty());
    }
}
