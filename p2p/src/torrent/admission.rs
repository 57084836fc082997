//! Keeping a torrent's connection slots for peers that use them: block traffic is
//! recorded per connection, a full torrent makes room for a newcomer by evicting a peer
//! that does not use its slot, and the driver's idle sweep closes connections without
//! block traffic (the policy is [`crate::eviction`]).
//!
//! Also the links of connections that went away: a peer that sends one bad block and
//! hangs up before the piece completes must still get the blame, so the last
//! [`DEPARTED_KEPT`] links stay known by connection id.

use std::time::Instant;

use tokio_util::sync::CancellationToken;

use super::state::{Status, TorrentState};
use crate::connection::{ConnId, PeerLink};
use crate::eviction::{self, EvictionPolicy};

/// Links of closed connections kept for blame.
const DEPARTED_KEPT: usize = 256;

impl TorrentState {
    /// Records a request or piece on `conn`, either way.
    pub fn record_traffic(&mut self, conn: ConnId, now: Instant) {
        if let Some(entry) = self.peers.get_mut(&conn) {
            entry.activity.last_traffic = now;
        }
    }

    /// If the torrent has `max_peers` connections, evicts one that does not use its
    /// slot and returns its close token; `None` if there was room or nobody may go.
    pub fn make_room(
        &mut self,
        max_peers: usize,
        policy: &EvictionPolicy,
        now: Instant,
    ) -> Option<CancellationToken> {
        if self.peers.len() < max_peers {
            return None;
        }
        let seeding = self.status != Status::Downloading;
        let peers = self.peers.values().map(|e| (e.link.conn, e.activity));
        let victim = eviction::choose_victim(peers, seeding, policy, now)?;
        let entry = self.unregister(victim)?;
        Some(entry.close)
    }

    /// Closes every connection with no block traffic for the idle timeout; returns how
    /// many.
    pub fn close_idle(&mut self, policy: &EvictionPolicy, now: Instant) -> usize {
        let mut closed = 0;
        for entry in self.peers.values() {
            if eviction::is_idle(&entry.activity, policy, now) && !entry.close.is_cancelled() {
                entry.close.cancel();
                closed += 1;
            }
        }
        closed
    }

    /// The link of `conn`, connected or among the recently departed.
    pub fn link_of(&self, conn: ConnId) -> Option<PeerLink> {
        self.peers
            .get(&conn)
            .map(|e| e.link)
            .or_else(|| self.departed.iter().find(|l| l.conn == conn).copied())
    }

    pub(super) fn remember_departed(&mut self, link: PeerLink) {
        if self.departed.len() >= DEPARTED_KEPT {
            self.departed.pop_front();
        }
        self.departed.push_back(link);
    }
}
