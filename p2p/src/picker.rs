//! Which piece a connection starts next: pure, with the randomness passed in.
//!
//! Each connection asks for itself (there is no central scheduler); the picker only
//! keeps how many connected peers have each piece and answers "which of the pieces this
//! peer could give me should I start?":
//! 1. streaming first: the reader windows (pieces just after a waiting reader's cursor,
//!    most urgent reader first), each searched rarest first;
//! 2. otherwise rarest first over the whole torrent.
//!
//! Rarest first means: among wanted pieces, the ones held by the fewest connected peers,
//! ties broken uniformly at random. Randomness matters inside a window too: many agents
//! stream the same blob at once, and if each fetched its window in order they would all
//! ask the seeder for the same piece at the same time and have nothing to trade. Spread
//! over the window, each gets different pieces from the seeder and the rest from each
//! other, while the window still keeps every reader's next bytes close.
//!
//! "Wanted" is decided by the caller (the peer has it, we do not, nobody is fetching it),
//! which keeps this module free of torrent state.

use std::ops::Range;

use rand::{Rng, RngExt};
use starling_core::{Bitfield, PieceIndex};

/// Per-piece availability among the connected peers.
#[derive(Debug, Clone)]
pub struct Picker {
    availability: Vec<u32>,
}

impl Picker {
    pub fn new(piece_count: u32) -> Self {
        Self {
            availability: vec![0; piece_count as usize],
        }
    }

    pub fn piece_count(&self) -> u32 {
        self.availability.len() as u32
    }

    /// Counts a newly connected peer's pieces.
    pub fn add_bitfield(&mut self, bitfield: &Bitfield) {
        for piece in bitfield.iter_set() {
            self.availability[piece.as_usize()] += 1;
        }
    }

    /// Forgets a disconnected peer's pieces.
    pub fn remove_bitfield(&mut self, bitfield: &Bitfield) {
        for piece in bitfield.iter_set() {
            let count = &mut self.availability[piece.as_usize()];
            *count = count.saturating_sub(1);
        }
    }

    /// Counts one `have` from a peer.
    pub fn add_piece(&mut self, piece: PieceIndex) {
        self.availability[piece.as_usize()] += 1;
    }

    pub fn availability(&self, piece: PieceIndex) -> u32 {
        self.availability[piece.as_usize()]
    }

    /// The piece to start: a wanted piece of the first reader window that has one
    /// (the lowest if `windows_in_order`, else a rarest), else a rarest wanted piece of
    /// the whole torrent; ties chosen at random.
    ///
    /// In-order windows suit a connection with nobody to share the work with (its peer
    /// is the only one): the reader gets its next bytes soonest.
    pub fn pick<R: Rng + ?Sized>(
        &self,
        wanted: impl Fn(PieceIndex) -> bool,
        windows: &[Range<u32>],
        windows_in_order: bool,
        rng: &mut R,
    ) -> Option<PieceIndex> {
        let count = self.piece_count();
        windows
            .iter()
            .find_map(|window| {
                if windows_in_order {
                    (window.start..window.end.min(count))
                        .filter_map(|i| PieceIndex::new(i, count))
                        .find(|&p| wanted(p))
                } else {
                    self.rarest(&wanted, window.clone(), rng)
                }
            })
            .or_else(|| self.rarest(&wanted, 0..count, rng))
    }

    fn rarest<R: Rng + ?Sized>(
        &self,
        wanted: impl Fn(PieceIndex) -> bool,
        range: Range<u32>,
        rng: &mut R,
    ) -> Option<PieceIndex> {
        let count = self.piece_count();
        let mut best: Option<(u32, PieceIndex)> = None;
        let mut ties = 0u32;
        let range = range.start.min(count)..range.end.min(count);
        for piece in range.filter_map(|i| PieceIndex::new(i, count)) {
            if !wanted(piece) {
                continue;
            }
            let availability = self.availability(piece);
            match best {
                Some((min, _)) if availability > min => {}
                Some((min, _)) if availability == min => {
                    // Reservoir sampling: each of the k tied pieces ends up chosen with
                    // probability 1/k, in one pass.
                    ties += 1;
                    if rng.random_range(0..ties) == 0 {
                        best = Some((availability, piece));
                    }
                }
                _ => {
                    best = Some((availability, piece));
                    ties = 1;
                }
            }
        }
        best.map(|(_, piece)| piece)
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand::rngs::SmallRng;

    use super::*;

    fn idx(i: u32) -> PieceIndex {
        PieceIndex::new(i, 8).unwrap()
    }

    fn one(window: Range<u32>) -> Vec<Range<u32>> {
        vec![window]
    }

    fn field(pieces: &[u32]) -> Bitfield {
        let mut field = Bitfield::new(8);
        for &p in pieces {
            field.set(idx(p));
        }
        field
    }

    /// Availability 3,1,2,1,2,2,3,0 from three peers.
    fn picker() -> Picker {
        let mut picker = Picker::new(8);
        picker.add_bitfield(&field(&[0, 1, 2, 4, 6]));
        picker.add_bitfield(&field(&[0, 2, 3, 5, 6]));
        picker.add_bitfield(&field(&[0, 4, 5, 6]));
        picker
    }

    #[test]
    fn availability_follows_peers_coming_and_going() {
        let mut picker = picker();
        let got: Vec<u32> = (0..8).map(|i| picker.availability(idx(i))).collect();
        assert_eq!(got, [3, 1, 2, 1, 2, 2, 3, 0]);
        picker.remove_bitfield(&field(&[0, 4, 5, 6]));
        picker.add_piece(idx(7));
        let got: Vec<u32> = (0..8).map(|i| picker.availability(idx(i))).collect();
        assert_eq!(got, [2, 1, 2, 1, 1, 1, 2, 1]);
    }

    #[test]
    fn rarest_wanted_piece_wins_and_ties_are_spread() {
        let picker = picker();
        let mut rng = SmallRng::seed_from_u64(7);
        let mut seen = [0u32; 8];
        for _ in 0..1000 {
            let piece = picker.pick(|p| p.get() != 7, &[], false, &mut rng).unwrap();
            seen[piece.as_usize()] += 1;
        }
        // Pieces 1 and 3 are the rarest (one holder each) and share the picks.
        assert_eq!(seen[1] + seen[3], 1000, "{seen:?}");
        assert!(seen[1] > 400 && seen[3] > 400, "{seen:?}");
    }

    #[test]
    fn only_wanted_pieces_are_picked() {
        let picker = picker();
        let mut rng = SmallRng::seed_from_u64(1);
        let wanted = |p: PieceIndex| [0, 6].contains(&p.get());
        for _ in 0..50 {
            let piece = picker.pick(wanted, &[], false, &mut rng).unwrap();
            assert!([0, 6].contains(&piece.get()));
        }
        assert_eq!(picker.pick(|_| false, &[], false, &mut rng), None);
    }

    #[test]
    fn reader_windows_come_first_rarest_within() {
        let picker = picker();
        let mut rng = SmallRng::seed_from_u64(3);
        let wanted = |p: PieceIndex| p.get() != 7;
        // Window 2..6 holds 2, 4 and 5 (two holders each) and 3 (one holder): 3 wins,
        // although piece 1, outside, is as rare.
        assert_eq!(
            picker.pick(wanted, &[2..6, 0..2], false, &mut rng),
            Some(idx(3))
        );
        // A window with nothing wanted falls through to the next one.
        assert_eq!(
            picker.pick(wanted, &[7..8, 0..1], false, &mut rng),
            Some(idx(0))
        );
        // Ties inside a window are spread, not taken in order.
        let mut seen = [0u32; 8];
        for _ in 0..300 {
            seen[picker
                .pick(wanted, &one(4..6), false, &mut rng)
                .unwrap()
                .as_usize()] += 1;
        }
        assert!(seen[4] > 100 && seen[5] > 100, "{seen:?}");
        // Windows past the end are clipped, then rarest-first takes over.
        let rare = picker.pick(wanted, &one(8..20), false, &mut rng).unwrap();
        assert!([1, 3].contains(&rare.get()), "{rare:?}");
        // In order, the window's lowest wanted piece wins whatever its rarity.
        assert_eq!(
            picker.pick(wanted, &one(2..6), true, &mut rng),
            Some(idx(2))
        );
        assert_eq!(
            picker.pick(|p| p.get() > 4, &one(2..6), true, &mut rng),
            Some(idx(5))
        );
    }
}
