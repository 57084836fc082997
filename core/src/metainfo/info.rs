//! The `info` dictionary of a single-file torrent: the part the info hash covers.
//!
//! An [`Info`] is valid by construction: its piece length is positive and at most
//! [`PieceLengthPolicy::MAX_PIECE_LENGTH`], and it holds exactly
//! `ceil(length / piece_length)` piece hashes, a count that fits a `u32`. Every piece is
//! `piece_length` bytes except the last, which holds the remainder.

use std::fmt;

use bendy::encoding::Encoder;
use sha1::{Digest as _, Sha1};

use crate::error::{Error, Result};
use crate::piece::{PieceIndex, PieceLengthPolicy};

/// Length of one SHA-1 piece hash in `info.pieces`.
pub const PIECE_HASH_LEN: usize = 20;

/// The validated fields of a single-file `info` dictionary.
#[derive(Clone, PartialEq, Eq)]
pub struct Info {
    name: String,
    length: u64,
    piece_length: u64,
    pieces: Vec<[u8; PIECE_HASH_LEN]>,
}

impl Info {
    /// Checks the piece geometry; see the module header for the invariants.
    pub fn new(
        name: String,
        length: u64,
        piece_length: u64,
        pieces: Vec<[u8; PIECE_HASH_LEN]>,
    ) -> Result<Self> {
        check_piece_length(piece_length)?;
        let expected = expected_piece_count(length, piece_length)?;
        if pieces.len() as u64 != u64::from(expected) {
            return Err(invalid(format!(
                "info.pieces holds {} hashes but length {length} with piece length \
                 {piece_length} needs {expected}",
                pieces.len()
            )));
        }
        Ok(Self {
            name,
            length,
            piece_length,
            pieces,
        })
    }

    /// The suggested file name; Starling names a torrent by the blob's hex sha256.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Total length of the blob in bytes.
    pub fn length(&self) -> u64 {
        self.length
    }

    pub fn piece_length(&self) -> u64 {
        self.piece_length
    }

    /// The SHA-1 of every piece, in order.
    pub fn pieces(&self) -> &[[u8; PIECE_HASH_LEN]] {
        &self.pieces
    }

    pub fn piece_count(&self) -> u32 {
        // Fits: `new` rejects piece counts above u32::MAX.
        self.pieces.len() as u32
    }

    /// The index `index` if this torrent has such a piece.
    pub fn piece_index(&self, index: u32) -> Option<PieceIndex> {
        PieceIndex::new(index, self.piece_count())
    }

    /// Byte offset of the piece's first byte within the blob.
    pub fn piece_offset(&self, index: PieceIndex) -> u64 {
        u64::from(index.get()) * self.piece_length
    }

    /// Length of the piece: `piece_length`, except for a shorter last piece.
    pub fn piece_len(&self, index: PieceIndex) -> u64 {
        let remaining = self.length.saturating_sub(self.piece_offset(index));
        remaining.min(self.piece_length)
    }

    /// The expected SHA-1 of the piece.
    ///
    /// # Panics
    /// If `index` was made for another torrent with more pieces than this one.
    pub fn piece_hash(&self, index: PieceIndex) -> &[u8; PIECE_HASH_LEN] {
        &self.pieces[index.as_usize()]
    }

    /// Whether `data` is exactly the piece: right length and matching SHA-1.
    pub fn verify_piece(&self, index: PieceIndex, data: &[u8]) -> bool {
        data.len() as u64 == self.piece_len(index)
            && Sha1::digest(data).as_slice() == self.piece_hash(index)
    }

    /// The canonical bencoding: exactly the four BEP 3 keys, in sorted order.
    pub(super) fn encode(&self) -> Vec<u8> {
        let mut encoder = Encoder::new();
        encoder
            .emit_dict(|mut dict| {
                dict.emit_pair(b"length", self.length)?;
                dict.emit_pair(b"name", &self.name)?;
                dict.emit_pair(b"piece length", self.piece_length)?;
                dict.emit_pair_with(b"pieces", |e| e.emit_bytes(self.pieces.as_flattened()))
            })
            .and_then(|()| encoder.get_output())
            // Only structural misuse (unsorted keys, too deep) fails, and the keys above
            // are a fixed, sorted, flat set.
            .expect("the info dictionary has a fixed valid shape")
    }
}

impl fmt::Debug for Info {
    // The piece hashes are left out: they run to thousands of bytes and say little.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Info")
            .field("name", &self.name)
            .field("length", &self.length)
            .field("piece_length", &self.piece_length)
            .field("piece_count", &self.pieces.len())
            .finish()
    }
}

/// Rejects a zero piece length and one too large to hold a piece in memory.
pub(super) fn check_piece_length(piece_length: u64) -> Result<()> {
    if piece_length == 0 {
        return Err(invalid("piece length must be positive".into()));
    }
    if piece_length > PieceLengthPolicy::MAX_PIECE_LENGTH {
        return Err(invalid(format!(
            "piece length {piece_length} exceeds the maximum of {} bytes, since a piece \
             is held whole in memory",
            PieceLengthPolicy::MAX_PIECE_LENGTH
        )));
    }
    Ok(())
}

/// `ceil(length / piece_length)`, which must fit the `u32` of a [`PieceIndex`].
pub(super) fn expected_piece_count(length: u64, piece_length: u64) -> Result<u32> {
    let count = length.div_ceil(piece_length);
    u32::try_from(count).map_err(|_| {
        invalid(format!(
            "length {length} with piece length {piece_length} needs {count} pieces, \
             more than a u32 piece index can address"
        ))
    })
}

pub(super) fn invalid(reason: String) -> Error {
    Error::InvalidMetaInfo { reason }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hashes_of(data: &[u8], piece_length: usize) -> Vec<[u8; PIECE_HASH_LEN]> {
        data.chunks(piece_length)
            .map(|piece| Sha1::digest(piece).into())
            .collect()
    }

    #[test]
    fn last_piece_holds_the_remainder() {
        let data: Vec<u8> = (0..2500u32).map(|i| (i % 251) as u8).collect();
        let info = Info::new("blob".into(), 2500, 1000, hashes_of(&data, 1000)).unwrap();
        assert_eq!(info.piece_count(), 3);
        let lens: Vec<u64> = (0..3)
            .map(|i| info.piece_len(info.piece_index(i).unwrap()))
            .collect();
        assert_eq!(lens, [1000, 1000, 500]);
        let last = info.piece_index(2).unwrap();
        assert_eq!(info.piece_offset(last), 2000);
        assert!(info.verify_piece(last, &data[2000..]));
        assert!(info.piece_index(3).is_none());
    }

    #[test]
    fn exact_multiple_has_no_short_piece() {
        let data = vec![7u8; 2000];
        let info = Info::new("blob".into(), 2000, 1000, hashes_of(&data, 1000)).unwrap();
        assert_eq!(info.piece_count(), 2);
        assert_eq!(info.piece_len(info.piece_index(1).unwrap()), 1000);
    }

    #[test]
    fn verify_piece_rejects_wrong_bytes_and_wrong_length() {
        let data = vec![1u8; 1500];
        let info = Info::new("blob".into(), 1500, 1000, hashes_of(&data, 1000)).unwrap();
        let first = info.piece_index(0).unwrap();
        assert!(info.verify_piece(first, &data[..1000]));
        assert!(!info.verify_piece(first, &data[..999]));
        let mut corrupt = data[..1000].to_vec();
        corrupt[10] ^= 1;
        assert!(!info.verify_piece(first, &corrupt));
        // The right hash with a trailing extra byte is still the wrong piece.
        assert!(!info.verify_piece(info.piece_index(1).unwrap(), &data[999..]));
    }

    #[test]
    fn rejects_inconsistent_geometry() {
        let cases = [
            (10, 0, 0, "must be positive"),
            (
                10,
                PieceLengthPolicy::MAX_PIECE_LENGTH + 1,
                1,
                "exceeds the maximum",
            ),
            (
                2500,
                1000,
                2,
                "holds 2 hashes but length 2500 with piece length 1000 needs 3",
            ),
            (2000, 1000, 3, "needs 2"),
            (0, 1000, 1, "needs 0"),
            (u64::MAX, 16384, 0, "more than a u32"),
        ];
        for (length, piece_length, count, want) in cases {
            let err =
                Info::new("x".into(), length, piece_length, vec![[0; 20]; count]).unwrap_err();
            assert!(matches!(err, Error::InvalidMetaInfo { .. }), "{err:?}");
            assert!(err.to_string().contains(want), "{want}: {err}");
        }
    }

    #[test]
    fn empty_blob_has_no_pieces() {
        let info = Info::new("empty".into(), 0, 16384, Vec::new()).unwrap();
        assert_eq!(info.piece_count(), 0);
        assert!(info.piece_index(0).is_none());
    }

    #[test]
    fn encodes_the_four_keys_sorted() {
        let info = Info::new("ab".into(), 3, 2, vec![[b'x'; 20], [b'y'; 20]]).unwrap();
        let mut want = b"d6:lengthi3e4:name2:ab12:piece lengthi2e6:pieces40:".to_vec();
        want.extend([b'x'; 20]);
        want.extend([b'y'; 20]);
        want.push(b'e');
        assert_eq!(info.encode(), want);
    }
}
