//! Pieces: the unit of verification and exchange in a torrent.
//!
//! [`PieceIndex`] is only constructed through a torrent's piece count (see
//! `MetaInfo::piece_index`), so code holding one never indexes past the end.
//! [`PieceLengthPolicy`] chooses the piece length from the blob size so that a blob has
//! hundreds to low thousands of pieces: few enough that bitfields and hash lists stay
//! small, many enough that a swarm has pieces to trade early. Measurements behind the
//! defaults are in `docs/piece-length.md`.

use std::fmt;

use crate::error::{Error, Result};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * KIB;
const GIB: u64 = 1024 * MIB;

/// Index of a piece inside one torrent; known to be below that torrent's piece count.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PieceIndex(u32);

impl PieceIndex {
    /// Checks `index` against `piece_count`; the only way to make an index from a number.
    pub fn new(index: u32, piece_count: u32) -> Option<Self> {
        (index < piece_count).then_some(Self(index))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    pub fn as_usize(self) -> usize {
        self.0 as usize
    }
}

impl fmt::Display for PieceIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

impl fmt::Debug for PieceIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PieceIndex({})", self.0)
    }
}

/// Blobs up to `up_to` bytes (inclusive) get pieces of `piece_length` bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PieceLengthStep {
    pub up_to: u64,
    pub piece_length: u64,
}

/// Piece length as a step function of blob size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PieceLengthPolicy {
    steps: Vec<PieceLengthStep>,
    largest: u64,
}

impl PieceLengthPolicy {
    /// The smallest piece length allowed: standard clients request 16 KiB blocks.
    pub const MIN_PIECE_LENGTH: u64 = 16 * KIB;
    /// The largest piece length allowed: a piece is hashed and held whole in memory.
    pub const MAX_PIECE_LENGTH: u64 = 64 * MIB;

    /// Builds a policy; steps must be sorted by `up_to` and every length a power of two
    /// within [`Self::MIN_PIECE_LENGTH`, `Self::MAX_PIECE_LENGTH`].
    pub fn new(steps: Vec<PieceLengthStep>, largest: u64) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidPiecePolicy { reason };
        for length in steps.iter().map(|s| s.piece_length).chain([largest]) {
            if !length.is_power_of_two()
                || !(Self::MIN_PIECE_LENGTH..=Self::MAX_PIECE_LENGTH).contains(&length)
            {
                return Err(invalid(format!(
                    "piece length {length} must be a power of two between 16KiB and 64MiB"
                )));
            }
        }
        if steps.windows(2).any(|w| w[0].up_to >= w[1].up_to) {
            return Err(invalid(
                "steps must be sorted by strictly increasing up_to".into(),
            ));
        }
        Ok(Self { steps, largest })
    }

    /// The piece length for a blob of `blob_size` bytes.
    pub fn piece_length(&self, blob_size: u64) -> u64 {
        self.steps
            .iter()
            .find(|s| blob_size <= s.up_to)
            .map_or(self.largest, |s| s.piece_length)
    }

    pub fn steps(&self) -> &[PieceLengthStep] {
        &self.steps
    }

    pub fn largest(&self) -> u64 {
        self.largest
    }
}

impl Default for PieceLengthPolicy {
    /// At most 1024 pieces up to 1 GiB, at most 2048 up to 32 GiB.
    fn default() -> Self {
        let step = |up_to, piece_length| PieceLengthStep {
            up_to,
            piece_length,
        };
        Self::new(
            vec![
                step(64 * MIB, 256 * KIB),
                step(256 * MIB, 512 * KIB),
                step(GIB, MIB),
                step(4 * GIB, 4 * MIB),
                step(16 * GIB, 8 * MIB),
            ],
            16 * MIB,
        )
        .expect("the default policy is valid")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn piece_index_is_bounded_by_the_count() {
        assert_eq!(PieceIndex::new(0, 1).map(PieceIndex::get), Some(0));
        assert!(PieceIndex::new(1, 1).is_none());
        assert!(PieceIndex::new(0, 0).is_none());
    }

    #[test]
    fn default_policy_keeps_piece_counts_in_range() {
        let policy = PieceLengthPolicy::default();
        for size in [MIB, 64 * MIB, 65 * MIB, 256 * MIB, GIB, 3 * GIB, 30 * GIB] {
            let count = size.div_ceil(policy.piece_length(size));
            assert!(count <= 2048, "{size}: {count} pieces");
        }
        assert_eq!(policy.piece_length(0), 256 * KIB);
        assert_eq!(policy.piece_length(64 * MIB), 256 * KIB);
        assert_eq!(policy.piece_length(64 * MIB + 1), 512 * KIB);
        assert_eq!(policy.piece_length(100 * GIB), 16 * MIB);
    }

    #[test]
    fn rejects_unsorted_or_odd_lengths() {
        let step = |up_to, piece_length| PieceLengthStep {
            up_to,
            piece_length,
        };
        assert!(PieceLengthPolicy::new(vec![step(10, 3 * KIB)], MIB).is_err());
        assert!(PieceLengthPolicy::new(vec![step(10, KIB)], MIB).is_err());
        assert!(PieceLengthPolicy::new(vec![], 128 * MIB).is_err());
        assert!(
            PieceLengthPolicy::new(vec![step(20, MIB), step(10, MIB)], MIB)
                .unwrap_err()
                .to_string()
                .contains("sorted")
        );
    }
}
