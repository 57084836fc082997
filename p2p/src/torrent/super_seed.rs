//! Super-seeding (BEP 16) for origins: each agent is told about only a piece or two at
//! a time, and each piece is told to one agent before any is told to a second.
//!
//! Why: with equal caps the swarm can finish no sooner than the origin can send the
//! blob once (Kumar–Ross), so every byte an origin sends twice delays the end. An origin
//! that advertises everything lets each agent pick for itself, and agents that cannot
//! see each other's requests pick the same pieces: at N=50 the origin sent 1.15–1.29·F
//! and the swarm finished that much later. Revealing pieces one agent at a time makes
//! the origin, which sees every agent it serves, spread the blob instead; agents then
//! get every other piece from each other, as they already prefer. Measured at N=50,
//! 1 MiB/s: origin egress 1.25·F → 1.08·F, p50 1.28·T* → 1.095·T* (docs/benchmarks.md).
//!
//! The rules, per connection while the torrent seeds:
//! - no bitfield; pieces are announced with `have`, and only pieces the peer lacks;
//! - a peer holds at most [`OPEN_WHILE_UNCHOKED`] revealed pieces it has not got yet
//!   (one while we choke it: enough to stay interested and be considered for a slot);
//!   once it reports a revealed piece (`have`), from us or from anyone, it gets another;
//! - the next piece revealed is the one revealed least often so far, then the one
//!   fewest connected peers have, then the first in piece order from this origin's
//!   starting piece (wrapping around). Until every piece has been revealed once no
//!   piece is revealed twice; after that, duplicates go to the rarest pieces. In order
//!   keeps a lone reader streaming: the agent's HTTP body waits for piece 0, and with
//!   ties broken at random a single cold pull got its first byte after 3.7 s instead
//!   of 10 ms.
//! - the starting piece spreads a blob's owners over it: the `k`-th of `n` origins
//!   that hold it starts at piece `k·count/n` ([`crate::RevealOrder`]), so the primary
//!   starts at 0 (a lone reader's first byte) and two origins serving one agent never
//!   show it the same pieces first. Origins do not see each other's reveals; with the
//!   same order they showed an agent the same pieces, and the agent, which asks an
//!   origin only for what no other peer has, waited on both for ever.
//!
//! Standard clients handle this as BEP 16 intends. A client that never sends `have`
//! for a piece we announced would stall; libtorrent sends them (`send_redundant_have`
//! is on by default) and Starling agents always do.

use std::collections::HashMap;

use starling_core::{Bitfield, PieceIndex};

use super::state::{Status, TorrentState};
use crate::connection::ConnId;

/// Revealed pieces an unchoked peer may be fetching at once: enough that its request
/// pipeline never runs dry while its `have` for a finished piece (sent after the
/// piece's SHA-1 check) travels back. Every open piece is one no other peer was shown
/// first, so more open pieces do not make the origin send any piece twice.
const OPEN_WHILE_UNCHOKED: usize = 4;
/// Revealed pieces a choked peer holds: one, so it stays interested.
const OPEN_WHILE_CHOKED: usize = 1;

/// What the torrent remembers for super-seeding.
#[derive(Debug)]
pub struct SuperSeed {
    /// How many peers each piece has been revealed to.
    times_revealed: Vec<u32>,
    /// Pieces revealed to each connected peer.
    revealed: HashMap<ConnId, Bitfield>,
    /// Ties are broken in piece order from here (wrapping around).
    first: u32,
}

impl SuperSeed {
    /// Reveals `piece_count` pieces, in order from `first` among equals.
    pub fn new(piece_count: u32, first: u32) -> Self {
        Self {
            times_revealed: vec![0; piece_count as usize],
            revealed: HashMap::new(),
            first: first.min(piece_count.saturating_sub(1)),
        }
    }

    /// Forgets a disconnected peer (what it was shown still counts as revealed).
    pub fn forget(&mut self, conn: ConnId) {
        self.revealed.remove(&conn);
    }
}

impl TorrentState {
    /// Whether pieces are revealed one by one rather than announced all at once.
    pub fn is_super_seeding(&self) -> bool {
        self.super_seed.is_some() && self.status == Status::Seeding
    }

    /// The pieces to announce to `conn` now, recorded as revealed to it. Empty unless
    /// super-seeding.
    pub fn reveal_to(&mut self, conn: ConnId) -> Vec<PieceIndex> {
        if !self.is_super_seeding() {
            return Vec::new();
        }
        let Some(entry) = self.peers.get(&conn) else {
            return Vec::new();
        };
        let target = if entry.unchoked {
            OPEN_WHILE_UNCHOKED
        } else {
            OPEN_WHILE_CHOKED
        };
        let peer_has = entry.bitfield.clone();
        let count = self.piece_count();
        let seed = self.super_seed.as_mut().expect("checked above");
        let shown = seed
            .revealed
            .entry(conn)
            .or_insert_with(|| Bitfield::new(count));
        let open = shown
            .iter_set()
            .filter(|&piece| !peer_has.has(piece))
            .count();
        let mut out = Vec::new();
        for _ in open..target {
            let fresh = |piece: PieceIndex| !peer_has.has(piece) && !shown.has(piece);
            let availability = |p| self.picker.availability(p);
            let Some(piece) = least_revealed(&seed.times_revealed, seed.first, availability, fresh)
            else {
                break;
            };
            shown.set(piece);
            seed.times_revealed[piece.as_usize()] += 1;
            out.push(piece);
        }
        out
    }
}

/// The wanted piece revealed least often, then held by the fewest peers, then the first
/// from `first` in piece order.
fn least_revealed(
    times_revealed: &[u32],
    first: u32,
    availability: impl Fn(PieceIndex) -> u32,
    wanted: impl Fn(PieceIndex) -> bool,
) -> Option<PieceIndex> {
    let count = times_revealed.len() as u32;
    (0..count)
        .filter_map(|i| PieceIndex::new(i, count))
        .filter(|&piece| wanted(piece))
        .min_by_key(|&piece| {
            (
                times_revealed[piece.as_usize()],
                availability(piece),
                (piece.get() + count - first) % count,
            )
        })
}

#[cfg(test)]
#[path = "super_seed_tests.rs"]
mod tests;
