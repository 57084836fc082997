//! The tracker pool: the configured trackers, which one owns a blob's swarm (their
//! ring), which to try next, and their passive health.
//!
//! Trackers are placed by [`starling_core::Ring`] over their `host:port`, keyed by the
//! blob digest's [`blob_key`] (its 64 hex characters, the metainfo `name`): the one
//! placement the tracker's own ring (`starling_tracker::TrackerRing`) uses too, so the
//! two agree by construction. Keying by the digest rather than the info hash lets a
//! client find the owner before it has the metainfo, so the tracker that serves a blob's
//! `.torrent` ([`crate::TrackerMetaInfo`]) is the one that receives its announces and
//! the one named in the torrent's announce URL; if it fails, everyone moves to the same
//! next one.
//! Health is passive: a tracker that fails `failures_before_down` announces in a row is
//! skipped for `down_for`, then tried again.
//! When every candidate is down they are all tried anyway, down ones last, since a
//! tracker marked down may well be back.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use starling_core::{Digest, Ring, blob_key};

use super::url::TrackerUrl;

/// When a tracker counts as down, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealthPolicy {
    /// Consecutive failures that mark a tracker down.
    pub failures_before_down: u32,
    /// How long a tracker marked down is tried only as a last resort.
    pub down_for: Duration,
    /// Timeout of one announce request.
    pub request_timeout: Duration,
}

impl Default for HealthPolicy {
    fn default() -> Self {
        Self {
            failures_before_down: 3,
            down_for: Duration::from_secs(30),
            request_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Health {
    consecutive_failures: u32,
    down_until: Option<Instant>,
}

/// The configured trackers, their ring and their health. `trackers[i]` is node `i` of
/// `ring`.
pub struct TrackerPool {
    trackers: Vec<TrackerUrl>,
    ring: Ring,
    health: Mutex<Vec<Health>>,
    policy: HealthPolicy,
}

impl TrackerPool {
    /// A ring over `trackers` (duplicates by `host:port` are dropped).
    pub fn new(trackers: Vec<TrackerUrl>, policy: HealthPolicy) -> Self {
        let mut unique: Vec<TrackerUrl> = Vec::with_capacity(trackers.len());
        for tracker in trackers {
            if !unique.iter().any(|t| t.authority() == tracker.authority()) {
                unique.push(tracker);
            }
        }
        Self {
            ring: Ring::new(unique.iter().map(|t| t.authority().to_owned())),
            health: Mutex::new(vec![Health::default(); unique.len()]),
            trackers: unique,
            policy,
        }
    }

    pub fn len(&self) -> usize {
        self.trackers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.trackers.is_empty()
    }

    pub fn tracker(&self, i: usize) -> &TrackerUrl {
        &self.trackers[i]
    }

    /// Trackers to try for the swarm of `digest`, in order: healthy ones in ring order,
    /// then the ones marked down, also in ring order.
    pub fn candidates(&self, digest: &Digest, now: Instant) -> Vec<usize> {
        let order = self.ring.ranking(&blob_key(digest));
        let health = self.lock();
        let is_down = |i: &usize| health[*i].down_until.is_some_and(|until| until > now);
        let (down, up): (Vec<usize>, Vec<usize>) = order.into_iter().partition(is_down);
        up.into_iter().chain(down).collect()
    }

    pub fn record_success(&self, i: usize) {
        self.lock()[i] = Health::default();
    }

    /// Counts a failure; returns true if it just marked the tracker down.
    pub fn record_failure(&self, i: usize, now: Instant) -> bool {
        let mut health = self.lock();
        let entry = &mut health[i];
        entry.consecutive_failures += 1;
        let newly_down = entry.consecutive_failures >= self.policy.failures_before_down
            && entry.down_until.is_none_or(|until| until <= now);
        if newly_down {
            entry.down_until = Some(now + self.policy.down_for);
        }
        newly_down
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Health>> {
        // Plain value updates: a poisoned lock still holds consistent data.
        self.health.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for TrackerPool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TrackerPool")
            .field("trackers", &self.trackers)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring(n: u16) -> TrackerPool {
        let trackers = (0..n)
            .map(|i| TrackerUrl::parse(&format!("127.0.0.1:{}", 15003 + i)).unwrap())
            .collect();
        TrackerPool::new(
            trackers,
            HealthPolicy {
                failures_before_down: 2,
                down_for: Duration::from_secs(30),
                request_timeout: Duration::from_secs(1),
            },
        )
    }

    fn hash(n: u8) -> Digest {
        Digest::of(&[n])
    }

    #[test]
    fn every_tracker_is_a_candidate_in_a_stable_order() {
        let (a, b) = (ring(3), ring(3));
        let now = Instant::now();
        let mut owners = std::collections::HashSet::new();
        for n in 0..50 {
            let order = a.candidates(&hash(n), now);
            assert_eq!(order, b.candidates(&hash(n), now), "same ring, same order");
            let mut sorted = order.clone();
            sorted.sort();
            assert_eq!(sorted, vec![0, 1, 2]);
            owners.insert(order[0]);
        }
        assert_eq!(owners.len(), 3, "info hashes spread over the trackers");
    }

    #[test]
    fn candidates_follow_the_core_golden_placement() {
        // The core golden placements over 10.0.0.1..3: sha256("a") 3, 2, 1; sha256("c")
        // 1, 2, 3. The tracker crate's ring pins the same ones, so agents announce to
        // the owner trackers name in announce URLs.
        let urls = [
            "10.0.0.2:15003",
            "10.0.0.1:15003",
            "10.0.0.3:15003",
            "10.0.0.1:15003",
        ]
        .map(|t| TrackerUrl::parse(t).unwrap());
        let ring = TrackerPool::new(urls.to_vec(), HealthPolicy::default());
        let order = |data: &[u8]| -> Vec<String> {
            ring.candidates(&Digest::of(data), Instant::now())
                .into_iter()
                .map(|i| ring.tracker(i).authority().to_owned())
                .collect()
        };
        assert_eq!(
            order(b"a"),
            ["10.0.0.3:15003", "10.0.0.2:15003", "10.0.0.1:15003"]
        );
        assert_eq!(
            order(b"c"),
            ["10.0.0.1:15003", "10.0.0.2:15003", "10.0.0.3:15003"]
        );
    }

    #[test]
    fn a_tracker_that_keeps_failing_moves_last_until_it_recovers() {
        let ring = ring(3);
        let now = Instant::now();
        let order = ring.candidates(&hash(1), now);
        let primary = order[0];
        assert!(
            !ring.record_failure(primary, now),
            "one failure is not enough"
        );
        assert_eq!(ring.candidates(&hash(1), now), order);
        assert!(ring.record_failure(primary, now));
        let failed_over = ring.candidates(&hash(1), now);
        assert_eq!(failed_over, [order[1], order[2], primary]);
        let later = now + Duration::from_secs(31);
        assert_eq!(
            ring.candidates(&hash(1), later),
            order,
            "tried again after down_for"
        );
        ring.record_failure(primary, now);
        ring.record_success(primary);
        assert_eq!(
            ring.candidates(&hash(1), now),
            order,
            "success clears the record"
        );
    }

    #[test]
    fn duplicates_collapse_and_an_empty_ring_has_no_candidates() {
        let url = TrackerUrl::parse("127.0.0.1:1").unwrap();
        let twice = TrackerPool::new(vec![url.clone(), url], HealthPolicy::default());
        assert_eq!(twice.len(), 1);
        let empty = TrackerPool::new(Vec::new(), HealthPolicy::default());
        assert!(empty.is_empty());
        assert!(empty.candidates(&hash(0), Instant::now()).is_empty());
    }
}
