//! The tracker ring: which tracker owns a blob's swarm, so every announce for it reaches
//! the same peer store.
//!
//! A thin view of [`starling_core::Ring`] over the trackers (`host:port` strings from
//! `trackers`), keyed by the blob digest's [`blob_key`] (its 64 lowercase hex
//! characters, the torrent's `name`). Agents place through the same core ring
//! (`starling_p2p::announce::TrackerPool`), so the owner a tracker writes into the
//! announce URL is the tracker agents announce to, by construction. Keying by digest
//! rather than info hash lets an agent find the owner before it has the metainfo: it
//! asks the owner for the `.torrent` and announces there, so the tracker that learnt
//! which origins seed the blob is the one handing out its peers. An empty list means a
//! ring of this tracker alone. Adding or removing a tracker moves only about 1/n of the
//! swarms.

use starling_config::tracker::TrackerConfig;
use starling_core::{Digest, Ring, blob_key};

/// The trackers of a cluster. Never empty.
#[derive(Debug, Clone)]
pub struct TrackerRing {
    ring: Ring,
    /// `https` when the trackers serve TLS (`tls:` set on this one), else `http`.
    scheme: &'static str,
}

impl TrackerRing {
    /// A ring of `trackers`, or of `this` alone when `trackers` is empty.
    pub fn new(trackers: &[String], this: &str) -> Self {
        let ring = if trackers.is_empty() {
            Ring::new([this])
        } else {
            Ring::new(trackers.iter().cloned())
        };
        Self {
            ring,
            scheme: "http",
        }
    }

    /// The ring of `cfg.trackers`, falling back to `cfg.advertise`; announce URLs are
    /// `https` when this tracker serves TLS, since a cluster's trackers share one setup.
    pub fn from_config(cfg: &TrackerConfig) -> Self {
        let ring = Self::new(&cfg.trackers, &cfg.advertise);
        Self {
            scheme: if cfg.tls.enabled() { "https" } else { "http" },
            ..ring
        }
    }

    /// The tracker that keeps the swarm of the blob `digest`.
    pub fn owner(&self, digest: &Digest) -> String {
        self.ring
            .owner(&blob_key(digest))
            .expect("a tracker ring is never empty")
            .to_owned()
    }

    /// Every tracker in preference order for `digest`: the owner first, then where a
    /// client fails over to when the owner is down.
    pub fn owners(&self, digest: &Digest) -> Vec<String> {
        self.ring
            .owners(&blob_key(digest), self.ring.len())
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    /// `http(s)://<owner>/announce`, the announce URL written into the blob's torrent.
    pub fn announce_url(&self, digest: &Digest) -> String {
        format!("{}://{}/announce", self.scheme, self.owner(digest))
    }

    /// Every tracker, in configuration order (duplicates dropped).
    pub fn hosts(&self) -> &[String] {
        self.ring.nodes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trackers(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("10.0.0.{}:15003", i + 1)).collect()
    }

    #[test]
    fn placement_is_the_core_golden_one_whatever_the_list_order() {
        // The core golden placement of sha256("c") over 10.0.0.1..3 is 1, 2, 3.
        let c = Digest::of(b"c");
        let ring = TrackerRing::new(&trackers(3), "10.0.0.1:15003");
        let mut reversed = trackers(3);
        reversed.reverse();
        let rebuilt = TrackerRing::new(&reversed, "10.0.0.3:15003");
        for ring in [&ring, &rebuilt] {
            assert_eq!(ring.owners(&c), trackers(3));
            assert_eq!(ring.owner(&c), "10.0.0.1:15003");
            assert_eq!(ring.announce_url(&c), "http://10.0.0.1:15003/announce");
        }
        for i in 0..200u32 {
            let digest = Digest::of(&i.to_be_bytes());
            assert_eq!(ring.owners(&digest)[0], ring.owner(&digest), "owner leads");
            assert_eq!(ring.owners(&digest), rebuilt.owners(&digest));
        }
    }

    #[test]
    fn an_empty_list_is_this_tracker_alone() {
        let ring = TrackerRing::new(&[], "10.0.0.7:15003");
        let one = Digest::of(b"1");
        assert_eq!(ring.hosts(), ["10.0.0.7:15003"]);
        assert_eq!(ring.owner(&one), "10.0.0.7:15003");
        assert_eq!(ring.owners(&one), ["10.0.0.7:15003"]);
    }
}
