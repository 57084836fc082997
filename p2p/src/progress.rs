//! A snapshot of one torrent, for callers and tests: which pieces are verified, how
//! many bytes are left, and where the torrent is in its life.

use starling_core::Bitfield;

use crate::torrent::state::{Status, TorrentState};

/// Where a torrent is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TorrentPhase {
    Downloading,
    /// All pieces verified; checking the whole blob's sha256.
    Committing,
    Seeding,
    Failed(String),
    Stopped,
}

/// One torrent's state at a point in time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub phase: TorrentPhase,
    /// Verified pieces.
    pub have: Bitfield,
    pub bytes_left: u64,
    /// Open peer connections.
    pub connections: usize,
}

impl Progress {
    pub(crate) fn new(state: &TorrentState) -> Self {
        let phase = match &state.status {
            Status::Downloading => TorrentPhase::Downloading,
            Status::Committing => TorrentPhase::Committing,
            Status::Seeding => TorrentPhase::Seeding,
            Status::Failed(reason) => TorrentPhase::Failed(reason.clone()),
            Status::Stopped => TorrentPhase::Stopped,
        };
        Self {
            phase,
            have: state.have.clone(),
            bytes_left: state.left(),
            connections: state.peers.len(),
        }
    }

    pub fn pieces(&self) -> u32 {
        self.have.count()
    }

    pub fn piece_count(&self) -> u32 {
        self.have.piece_count()
    }
}
