//! A piece bitfield in BEP 3 wire order: the high bit of the first byte is piece 0.
//!
//! Used on the wire (the `bitfield` message), in the swarm (which peer has what) and on
//! disk (which pieces of a partial download are verified). Spare bits past the last
//! piece are always zero; a received bitfield with spare bits set is rejected.

use bytes::Bytes;

use crate::piece::PieceIndex;

/// A fixed-size set of pieces.
#[derive(Clone, PartialEq, Eq)]
pub struct Bitfield {
    bytes: Vec<u8>,
    piece_count: u32,
    set_count: u32,
}

impl Bitfield {
    /// An empty bitfield for `piece_count` pieces.
    pub fn new(piece_count: u32) -> Self {
        Self {
            bytes: vec![0; Self::byte_len(piece_count)],
            piece_count,
            set_count: 0,
        }
    }

    /// A bitfield with every piece set.
    pub fn full(piece_count: u32) -> Self {
        let mut field = Self::new(piece_count);
        for i in 0..piece_count {
            field.set_raw(i);
        }
        field
    }

    /// Wire or disk bytes for `piece_count` pieces: the length must be exact and spare
    /// bits zero. Returns `None` otherwise.
    pub fn from_bytes(bytes: &[u8], piece_count: u32) -> Option<Self> {
        if bytes.len() != Self::byte_len(piece_count) {
            return None;
        }
        let spare_bits = bytes.len() as u64 * 8 - u64::from(piece_count);
        if spare_bits > 0 {
            let mask = (1u16 << spare_bits) as u8 - 1;
            if bytes.last().is_some_and(|last| last & mask != 0) {
                return None;
            }
        }
        let set_count = bytes.iter().map(|b| b.count_ones()).sum();
        Some(Self {
            bytes: bytes.to_vec(),
            piece_count,
            set_count,
        })
    }

    /// Number of bytes that hold `piece_count` bits.
    pub fn byte_len(piece_count: u32) -> usize {
        (piece_count as usize).div_ceil(8)
    }

    pub fn piece_count(&self) -> u32 {
        self.piece_count
    }

    pub fn count(&self) -> u32 {
        self.set_count
    }

    pub fn is_complete(&self) -> bool {
        self.set_count == self.piece_count
    }

    pub fn is_empty(&self) -> bool {
        self.set_count == 0
    }

    pub fn has(&self, piece: PieceIndex) -> bool {
        let i = piece.as_usize();
        self.bytes[i / 8] & (0x80 >> (i % 8)) != 0
    }

    /// Sets the bit; returns true if it was not set before.
    pub fn set(&mut self, piece: PieceIndex) -> bool {
        self.set_raw(piece.get())
    }

    fn set_raw(&mut self, i: u32) -> bool {
        let (byte, mask) = ((i / 8) as usize, 0x80u8 >> (i % 8));
        let was_clear = self.bytes[byte] & mask == 0;
        self.bytes[byte] |= mask;
        self.set_count += u32::from(was_clear);
        was_clear
    }

    /// The indices of the pieces that are set, in order.
    pub fn iter_set(&self) -> impl Iterator<Item = PieceIndex> + '_ {
        (0..self.piece_count)
            .filter_map(|i| PieceIndex::new(i, self.piece_count))
            .filter(|&p| self.has(p))
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    pub fn to_bytes(&self) -> Bytes {
        Bytes::copy_from_slice(&self.bytes)
    }
}

impl std::fmt::Debug for Bitfield {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Bitfield({}/{})", self.set_count, self.piece_count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn idx(i: u32, n: u32) -> PieceIndex {
        PieceIndex::new(i, n).unwrap()
    }

    #[test]
    fn piece_zero_is_the_high_bit() {
        let mut field = Bitfield::new(10);
        assert!(field.set(idx(0, 10)));
        assert!(!field.set(idx(0, 10)));
        field.set(idx(9, 10));
        assert_eq!(field.as_bytes(), &[0x80, 0x40]);
        assert_eq!(field.count(), 2);
        let set: Vec<u32> = field.iter_set().map(PieceIndex::get).collect();
        assert_eq!(set, vec![0, 9]);
    }

    #[test]
    fn from_bytes_checks_length_and_spare_bits() {
        assert!(Bitfield::from_bytes(&[0xff, 0xc0], 10).is_some());
        assert!(Bitfield::from_bytes(&[0xff, 0xe0], 10).is_none());
        assert!(Bitfield::from_bytes(&[0xff], 10).is_none());
        assert!(Bitfield::from_bytes(&[0xff, 0, 0], 10).is_none());
        assert!(Bitfield::from_bytes(&[0xff], 8).unwrap().is_complete());
        assert!(Bitfield::from_bytes(&[], 0).unwrap().is_complete());
    }

    #[test]
    fn full_sets_exactly_the_pieces() {
        let field = Bitfield::full(11);
        assert_eq!(field.as_bytes(), &[0xff, 0xe0]);
        assert!(field.is_complete());
        assert_eq!(Bitfield::from_bytes(field.as_bytes(), 11), Some(field));
    }
}
