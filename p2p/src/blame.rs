//! Who answers for a piece that fails its SHA-1 check.
//!
//! A piece is usually fetched from one peer, and that peer is banned when it fails. A
//! peer can dodge that by corrupting one block and never answering the rest: the
//! requests time out, other peers fill the piece in, and a piece with several sources
//! used to ban nobody. So every block is attributed to the peer that sent it, and:
//! - the sole source of a failed piece is banned at once;
//! - every source of a failed piece with several gets a strike, and the piece's blocks
//!   are remembered (a keyed hash per block, with its sender). When the piece later
//!   verifies, the verified bytes settle it: a remembered block that differs was
//!   corrupt and its sender is banned on that proof; a peer whose blocks all matched has
//!   that strike taken back;
//! - a peer is banned on strikes alone once it has `bad_piece_strikes` of them, plus one
//!   for every [`VERIFIED_PIECES_PER_STRIKE`] verified pieces it contributed to: an
//!   honest seeder that filled in a corrupter's pieces has usually verified many pieces
//!   of its own, and is spared until the retry clears it, while a peer that sent nothing
//!   but bad blocks is out after `bad_piece_strikes` failed pieces.
//!
//! Records are by peer id and last as long as the torrent; the ban itself (by peer id
//! and address) is the engine's blacklist. Pure bookkeeping, called under the torrent's
//! state lock.

use std::collections::HashMap;
use std::hash::{BuildHasher, RandomState};
use std::ops::Range;

use starling_core::{PeerId, PieceIndex};

use crate::connection::PeerLink;

/// Verified pieces a peer contributed to that buy it one more strike before a ban.
pub const VERIFIED_PIECES_PER_STRIKE: u32 = 4;
/// Failed pieces whose blocks are remembered at once; the oldest is forgotten beyond.
const MAX_REMEMBERED_PIECES: usize = 64;

/// One block of a complete piece and the peer that sent it.
#[derive(Debug, Clone)]
pub struct BlockSource {
    pub range: Range<usize>,
    pub sender: PeerLink,
}

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Record {
    strikes: u32,
    verified: u32,
}

#[derive(Debug)]
struct RememberedBlock {
    range: Range<usize>,
    sender: PeerLink,
    hash: u64,
}

/// A failed piece's blocks, kept until the piece verifies.
#[derive(Debug)]
struct FailedPiece {
    piece: PieceIndex,
    blocks: Vec<RememberedBlock>,
}

/// Strikes and remembered blocks of one torrent.
#[derive(Debug)]
pub struct Blame {
    strikes_to_ban: u32,
    /// Keyed by a random seed, so a peer cannot craft a block that hashes like the
    /// real one.
    hasher: RandomState,
    records: HashMap<PeerId, Record>,
    failed: Vec<FailedPiece>,
}

impl Blame {
    pub fn new(strikes_to_ban: u32) -> Self {
        Self {
            strikes_to_ban: strikes_to_ban.max(1),
            hasher: RandomState::new(),
            records: HashMap::new(),
            failed: Vec::new(),
        }
    }

    /// A piece failed its check: returns the peers to ban now.
    pub fn piece_failed(
        &mut self,
        piece: PieceIndex,
        data: &[u8],
        blocks: &[BlockSource],
    ) -> Vec<PeerLink> {
        let senders = distinct_senders(blocks);
        if let [sole] = senders[..] {
            self.records.remove(&sole.peer_id);
            return vec![sole];
        }
        let remembered = blocks
            .iter()
            .filter_map(|b| {
                let bytes = data.get(b.range.clone())?;
                Some(RememberedBlock {
                    range: b.range.clone(),
                    sender: b.sender,
                    hash: self.hasher.hash_one(bytes),
                })
            })
            .collect();
        if self.failed.len() >= MAX_REMEMBERED_PIECES {
            self.failed.remove(0);
        }
        self.failed.push(FailedPiece {
            piece,
            blocks: remembered,
        });
        let mut banned = Vec::new();
        for sender in senders {
            let record = self.records.entry(sender.peer_id).or_default();
            record.strikes += 1;
            if should_ban(record, self.strikes_to_ban) {
                banned.push(sender);
            }
        }
        self.forget(&banned);
        banned
    }

    /// A piece verified: credits its sources and settles its earlier failures, if any.
    /// Returns the peers proven to have sent a corrupt block of it.
    pub fn piece_verified(
        &mut self,
        piece: PieceIndex,
        data: &[u8],
        blocks: &[BlockSource],
    ) -> Vec<PeerLink> {
        for sender in distinct_senders(blocks) {
            self.records.entry(sender.peer_id).or_default().verified += 1;
        }
        let mut guilty: Vec<PeerLink> = Vec::new();
        let failures: Vec<FailedPiece> = {
            let (settled, kept) = std::mem::take(&mut self.failed)
                .into_iter()
                .partition(|f| f.piece == piece);
            self.failed = kept;
            settled
        };
        for failure in failures {
            let mut cleared: Vec<PeerLink> = Vec::new();
            for block in &failure.blocks {
                let good = data
                    .get(block.range.clone())
                    .is_some_and(|bytes| self.hasher.hash_one(bytes) == block.hash);
                let id = block.sender.peer_id;
                if !good {
                    cleared.retain(|c| c.peer_id != id);
                    if !guilty.iter().any(|g| g.peer_id == id) {
                        guilty.push(block.sender);
                    }
                } else if !guilty.iter().any(|g| g.peer_id == id)
                    && !cleared.iter().any(|c| c.peer_id == id)
                {
                    cleared.push(block.sender);
                }
            }
            for peer in cleared {
                if let Some(record) = self.records.get_mut(&peer.peer_id) {
                    record.strikes = record.strikes.saturating_sub(1);
                }
            }
        }
        self.forget(&guilty);
        guilty
    }

    /// Strikes against `peer_id` that are still standing.
    pub fn strikes(&self, peer_id: &PeerId) -> u32 {
        self.records.get(peer_id).map_or(0, |r| r.strikes)
    }

    fn forget(&mut self, banned: &[PeerLink]) {
        for peer in banned {
            self.records.remove(&peer.peer_id);
        }
    }
}

/// Whether a peer's standing strikes, weighed against its verified pieces, ban it.
fn should_ban(record: &Record, strikes_to_ban: u32) -> bool {
    record.strikes >= strikes_to_ban + record.verified / VERIFIED_PIECES_PER_STRIKE
}

/// The senders of `blocks`, once each by peer id, in order of first block.
fn distinct_senders(blocks: &[BlockSource]) -> Vec<PeerLink> {
    let mut senders: Vec<PeerLink> = Vec::new();
    for block in blocks {
        if !senders.iter().any(|s| s.peer_id == block.sender.peer_id) {
            senders.push(block.sender);
        }
    }
    senders
}

#[cfg(test)]
#[path = "blame_tests.rs"]
mod tests;
