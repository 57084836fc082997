//! Which connections a torrent may drop so that strangers cannot hold its slots.
//!
//! A peer that handshakes and then only sends keep-alives costs nothing to run, so a
//! few dozen of them used to fill `max_peers_per_torrent` for good and every honest
//! newcomer was refused. Two rules free the slots:
//! - eviction: a torrent at its limit makes room for a newly handshaken peer by dropping
//!   one peer that is not using its slot. Seeding, peers that never sent `interested`
//!   within `interest_grace` of their handshake go first (they want nothing from us and
//!   we want nothing from them), the one connected longest among them; then, seeding or
//!   not, the peer with no block traffic for longest, if that is at least
//!   `evict_idle_after`. Peers still inside those bounds are never evicted, so a
//!   newcomer cannot push out a peer that just arrived; with nobody evictable the
//!   newcomer is refused as before;
//! - the idle sweep: a connection with no block traffic for `peer_idle_timeout` is
//!   closed whether or not the torrent is full.
//!
//! Block traffic means requests and pieces in either direction; keep-alives, `have`s
//! and interest or choke changes do not count, since they are free to fake. A peer that
//! waits in our choke queue for longer than `evict_idle_after` can be evicted at the
//! limit too; it dials again later, which rotates the limited slots among the waiting.
//!
//! Pure decisions; the torrent state records the activity and acts on the verdict.

use std::time::{Duration, Instant};

use starling_config::P2pConfig;

use crate::connection::ConnId;

/// The bounds eviction and the idle sweep use (from the `peer:` config).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EvictionPolicy {
    pub evict_idle_after: Duration,
    pub interest_grace: Duration,
    pub idle_timeout: Duration,
}

impl EvictionPolicy {
    pub fn from_config(p2p: &P2pConfig) -> Self {
        Self {
            evict_idle_after: p2p.evict_idle_after,
            interest_grace: p2p.interest_grace,
            idle_timeout: p2p.peer_idle_timeout,
        }
    }
}

/// What eviction looks at for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Activity {
    /// When the connection was admitted.
    pub connected_at: Instant,
    /// The last request or piece, either way (the admission time until then).
    pub last_traffic: Instant,
    /// The peer sent `interested` at least once.
    pub ever_interested: bool,
}

impl Activity {
    pub fn new(now: Instant) -> Self {
        Self {
            connected_at: now,
            last_traffic: now,
            ever_interested: false,
        }
    }

    /// How long the connection has had no block traffic.
    pub fn idle_for(&self, now: Instant) -> Duration {
        now.saturating_duration_since(self.last_traffic)
    }

    /// Whether the peer let the whole interest grace pass without `interested`.
    fn never_interested(&self, now: Instant, grace: Duration) -> bool {
        !self.ever_interested && now.saturating_duration_since(self.connected_at) >= grace
    }
}

/// The connection to drop for a newcomer, if any may go (see the module docs).
pub fn choose_victim(
    peers: impl IntoIterator<Item = (ConnId, Activity)>,
    seeding: bool,
    policy: &EvictionPolicy,
    now: Instant,
) -> Option<ConnId> {
    let peers: Vec<(ConnId, Activity)> = peers.into_iter().collect();
    if seeding {
        let uninterested = peers
            .iter()
            .filter(|(_, a)| a.never_interested(now, policy.interest_grace))
            .min_by_key(|(conn, a)| (a.connected_at, *conn));
        if let Some((conn, _)) = uninterested {
            return Some(*conn);
        }
    }
    peers
        .iter()
        .filter(|(_, a)| a.idle_for(now) >= policy.evict_idle_after)
        .min_by_key(|(conn, a)| (a.last_traffic, *conn))
        .map(|(conn, _)| *conn)
}

/// Whether the idle sweep closes a connection with this activity.
pub fn is_idle(activity: &Activity, policy: &EvictionPolicy, now: Instant) -> bool {
    activity.idle_for(now) >= policy.idle_timeout
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: EvictionPolicy = EvictionPolicy {
        evict_idle_after: Duration::from_secs(30),
        interest_grace: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(120),
    };

    fn conn(id: u64) -> ConnId {
        ConnId::new(id)
    }

    /// Connected `age` seconds before `now`, last traffic `idle` seconds before it.
    fn activity(now: Instant, age: u64, idle: u64, interested: bool) -> Activity {
        Activity {
            connected_at: now - Duration::from_secs(age),
            last_traffic: now - Duration::from_secs(idle.min(age)),
            ever_interested: interested,
        }
    }

    #[test]
    fn a_seeder_evicts_the_oldest_peer_that_never_became_interested_first() {
        let now = Instant::now() + Duration::from_secs(1000);
        let peers = [
            (conn(1), activity(now, 500, 400, true)),
            (conn(2), activity(now, 20, 20, false)),
            (conn(3), activity(now, 60, 60, false)),
            (conn(4), activity(now, 5, 5, false)),
        ];
        assert_eq!(choose_victim(peers, true, &POLICY, now), Some(conn(3)));
        // Downloading, a peer that never wants our pieces is just a seeder of ours: the
        // longest idle one goes.
        assert_eq!(choose_victim(peers, false, &POLICY, now), Some(conn(1)));
    }

    #[test]
    fn a_seeder_falls_back_to_the_longest_idle_interested_peer() {
        let now = Instant::now() + Duration::from_secs(1000);
        let peers = [
            (conn(1), activity(now, 100, 31, true)),
            (conn(2), activity(now, 100, 45, true)),
            (conn(3), activity(now, 100, 2, true)),
        ];
        assert_eq!(choose_victim(peers, true, &POLICY, now), Some(conn(2)));
    }

    #[test]
    fn peers_inside_their_bounds_are_never_evicted() {
        let now = Instant::now() + Duration::from_secs(1000);
        let peers = [
            // Just connected, not interested yet: still inside the grace.
            (conn(1), activity(now, 9, 9, false)),
            // Interested, traffic 29 s ago.
            (conn(2), activity(now, 300, 29, true)),
        ];
        assert_eq!(choose_victim(peers, true, &POLICY, now), None);
        assert_eq!(choose_victim(peers, false, &POLICY, now), None);
        assert_eq!(choose_victim([], true, &POLICY, now), None);
        // Downloading, a seeder of ours never becomes interested; it stays while it
        // sends us blocks.
        let seeder = (conn(3), activity(now, 300, 1, false));
        let [first, second] = peers;
        assert_eq!(
            choose_victim([first, second, seeder], false, &POLICY, now),
            None
        );
    }

    #[test]
    fn the_sweep_closes_only_connections_idle_past_the_timeout() {
        let now = Instant::now() + Duration::from_secs(1000);
        assert!(!is_idle(&activity(now, 500, 119, true), &POLICY, now));
        assert!(is_idle(&activity(now, 500, 120, true), &POLICY, now));
        assert!(
            is_idle(&activity(now, 120, 120, false), &POLICY, now),
            "no traffic since the handshake"
        );
    }
}
