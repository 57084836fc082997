//! Upload slots of one torrent: the choker's decisions applied to the torrent's peers.
//!
//! Between choke rounds a newly interested peer takes a free slot at once and a peer
//! that loses interest hands its slot on; each round re-ranks everyone with the pure
//! [`crate::choker`]. Sessions learn the outcome from `PeerEntry::unchoked` when they
//! resynchronise and tell their peers.

use rand::seq::SliceRandom;

use super::state::{Status, TorrentState};
use crate::choker::{self, Candidate, UploadSlots};
use crate::connection::ConnId;

impl TorrentState {
    /// The peer's interest changed; returns whether it is unchoked now. A newly
    /// interested peer takes a free slot at once; one losing interest frees its slot for
    /// another.
    pub fn set_interested(&mut self, conn: ConnId, interested: bool, slots: UploadSlots) -> bool {
        let unchoked_count = self.unchoked_count();
        let Some(entry) = self.peers.get_mut(&conn) else {
            return false;
        };
        entry.interested = interested;
        entry.activity.ever_interested |= interested;
        if interested && !entry.unchoked && !slots.is_full(unchoked_count) {
            entry.unchoked = true;
        } else if !interested && entry.unchoked {
            entry.unchoked = false;
            self.fill_free_slots(slots);
        }
        self.peers[&conn].unchoked
    }

    /// Unchokes interested, choked peers (at random) while slots are free; returns
    /// whether anything changed.
    pub fn fill_free_slots(&mut self, slots: UploadSlots) -> bool {
        let mut waiting: Vec<ConnId> = self
            .peers
            .values()
            .filter(|e| e.interested && !e.unchoked)
            .map(|e| e.link.conn)
            .collect();
        waiting.shuffle(&mut self.rng);
        let mut changed = false;
        for conn in waiting {
            if slots.is_full(self.unchoked_count()) {
                break;
            }
            self.peers.get_mut(&conn).expect("listed above").unchoked = true;
            changed = true;
        }
        changed
    }

    fn unchoked_count(&self) -> usize {
        self.peers.values().filter(|e| e.unchoked).count()
    }

    /// A choke round: re-ranks peers by what they gave us (or, seeding, took) in the
    /// round just ended and rotates the optimistic slot.
    pub fn choke_round(&mut self, slots: UploadSlots) {
        let seeding = self.status == Status::Seeding;
        let candidates: Vec<Candidate<ConnId>> = self
            .peers
            .values()
            .map(|e| Candidate {
                id: e.link.conn,
                interested: e.interested,
                rate: if seeding {
                    e.round_sent
                } else {
                    e.round_received
                },
            })
            .collect();
        let decision = choker::choose(&candidates, slots, self.optimistic, &mut self.rng);
        self.optimistic = decision.optimistic;
        for entry in self.peers.values_mut() {
            entry.unchoked = decision.unchoked.contains(&entry.link.conn);
            entry.round_received = 0;
            entry.round_sent = 0;
        }
    }
}
