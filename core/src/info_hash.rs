//! The BitTorrent info hash: SHA-1 of the bencoded `info` dictionary (BEP 3).

use std::fmt;
use std::str::FromStr;

use sha1::{Digest as _, Sha1};

use crate::error::{Error, Result};

/// A 20-byte info hash that identifies a torrent in the tracker and on the peer wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InfoHash([u8; 20]);

impl InfoHash {
    /// The info hash of exactly these bencoded `info` dictionary bytes.
    pub fn of_info_bytes(info: &[u8]) -> Self {
        Self(Sha1::digest(info).into())
    }

    pub fn from_bytes(bytes: [u8; 20]) -> Self {
        Self(bytes)
    }

    /// Takes the raw 20 bytes, as found in an announce query or a handshake.
    pub fn from_slice(bytes: &[u8]) -> Result<Self> {
        let array: [u8; 20] = bytes.try_into().map_err(|_| Error::InvalidInfoHash {
            reason: "must be exactly 20 bytes",
        })?;
        Ok(Self(array))
    }

    /// Parses the 40-character hex form.
    pub fn from_hex(value: &str) -> Result<Self> {
        let mut bytes = [0u8; 20];
        hex::decode_to_slice(value, &mut bytes).map_err(|_| Error::InvalidInfoHash {
            reason: "must be 40 hex characters",
        })?;
        Ok(Self(bytes))
    }

    pub fn as_bytes(&self) -> &[u8; 20] {
        &self.0
    }

    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Display for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.hex())
    }
}

impl fmt::Debug for InfoHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "InfoHash({})", self.hex())
    }
}

impl FromStr for InfoHash {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::from_hex(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_length_checks() {
        let h = InfoHash::of_info_bytes(b"d4:name1:ae");
        assert_eq!(InfoHash::from_hex(&h.hex()).unwrap(), h);
        assert_eq!(InfoHash::from_slice(h.as_bytes()).unwrap(), h);
        assert!(InfoHash::from_slice(&[0u8; 19]).is_err());
        assert!(InfoHash::from_hex("abc").is_err());
        assert!(InfoHash::from_hex(&"zz".repeat(20)).is_err());
    }

    #[test]
    fn is_the_sha1_of_the_bytes() {
        // sha1("abc") from FIPS 180-1.
        let h = InfoHash::of_info_bytes(b"abc");
        assert_eq!(h.hex(), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
