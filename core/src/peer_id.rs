//! Peer ids: 20 bytes that name one peer process in a swarm (BEP 3).
//!
//! Starling ids use the Azureus-style prefix `-SL0100-` followed by 12 random
//! alphanumeric bytes, so standard clients and logs can tell Starling peers apart.

use std::fmt;

use rand::RngExt;

use crate::error::{Error, Result};

const CLIENT_PREFIX: &[u8; 8] = b"-SL0100-";

/// A 20-byte BitTorrent peer id.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PeerId([u8; 20]);

impl PeerId {
    /// A fresh random id with the Starling client prefix.
    pub fn generate() -> Self {
        let mut id = [0u8; 20];
        id[..8].copy_from_slice(CLIENT_PREFIX);
        let mut rng = rand::rng();
        const ALPHABET: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        for byte in &mut id[8..] {
            *byte = ALPHABET[rng.random_range(0..ALPHABET.len())];
        }
        Self(id)
    }

    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; 20] = bytes.try_into().map_err(|_| Error::InvalidPeerId {
            reason: "must be exactly 20 bytes",
        })?;
        Ok(Self(array))
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    /// True for ids made by [`PeerId::generate`] in any Starling process.
    pub fn is_starling(&self) -> bool {
        self.0.starts_with(CLIENT_PREFIX)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for &b in &self.0 {
            if b.is_ascii_graphic() {
                write!(f, "{}", b as char)?;
            } else {
                write!(f, "%{b:02x}")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_ids_are_prefixed_and_distinct() {
        let a = PeerId::generate();
        let b = PeerId::generate();
        assert!(a.is_starling());
        assert_ne!(a, b);
        assert!(a.to_string().starts_with("-SL0100-"));
    }

    #[test]
    fn slice_must_be_20_bytes() {
        assert!(PeerId::from_slice(&[1u8; 20]).is_ok());
        assert!(PeerId::from_slice(&[1u8; 21]).is_err());
    }
}
