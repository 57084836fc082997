//! BEP 3 metainfo (`.torrent`): encode, decode and one-pass generation.
//!
//! Starling serves every blob as a single-file torrent named by the blob's hex sha256.
//! A [`MetaInfo`] holds the validated [`Info`] together with the `info` dictionary's
//! bytes exactly as received (or as canonically encoded by [`MetaInfo::new`]); the info
//! hash is the SHA-1 of those bytes and [`MetaInfo::to_bytes`] writes them back
//! unchanged, so a torrent made by another tool keeps its info hash through a round trip.
//! Top-level keys other than `announce` and `info` carry no identity and are dropped.

mod decode;
mod generate;
mod info;

use std::fmt;

pub use generate::{MetaInfoGenerator, READ_BUFFER_LEN, generate, generate_verified};
pub use info::{Info, PIECE_HASH_LEN};

use crate::digest::Digest;
use crate::error::Result;
use crate::info_hash::InfoHash;
use crate::piece::PieceIndex;

/// A validated single-file torrent.
#[derive(Clone, PartialEq, Eq)]
pub struct MetaInfo {
    info: Info,
    info_bytes: Vec<u8>,
    info_hash: InfoHash,
    announce: Option<String>,
}

impl MetaInfo {
    /// A torrent for `info`, whose dictionary is encoded canonically (the four BEP 3
    /// keys, sorted), as any BEP 3 implementation would encode it.
    pub fn new(info: Info, announce: Option<String>) -> Self {
        let info_bytes = info.encode();
        Self {
            info_hash: InfoHash::of_info_bytes(&info_bytes),
            info,
            info_bytes,
            announce,
        }
    }

    /// Parses and validates a `.torrent` file; see the `decode` module for what is
    /// tolerated and what is rejected.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let decoded = decode::decode(bytes)?;
        Ok(Self {
            info: decoded.info,
            info_hash: InfoHash::of_info_bytes(decoded.info_bytes),
            info_bytes: decoded.info_bytes.to_vec(),
            announce: decoded.announce,
        })
    }

    /// The `.torrent` file: `announce` (if any) and the `info` bytes as held.
    pub fn to_bytes(&self) -> Vec<u8> {
        // Written by hand because bendy cannot emit pre-encoded bytes as a value, and
        // the info dict must go out byte for byte. Keys are in sorted order.
        let mut out = Vec::with_capacity(self.info_bytes.len() + 64);
        out.push(b'd');
        if let Some(url) = &self.announce {
            put_string(&mut out, b"announce");
            put_string(&mut out, url.as_bytes());
        }
        put_string(&mut out, b"info");
        out.extend_from_slice(&self.info_bytes);
        out.push(b'e');
        out
    }

    /// The same torrent (same info bytes, same info hash) announcing to `url`.
    pub fn with_announce(self, url: impl Into<String>) -> Self {
        Self {
            announce: Some(url.into()),
            ..self
        }
    }

    pub fn info_hash(&self) -> InfoHash {
        self.info_hash
    }

    pub fn info(&self) -> &Info {
        &self.info
    }

    /// The bencoded `info` dictionary whose SHA-1 is the info hash.
    pub fn info_bytes(&self) -> &[u8] {
        &self.info_bytes
    }

    pub fn announce(&self) -> Option<&str> {
        self.announce.as_deref()
    }

    /// The blob's content digest, which Starling uses as the torrent's name.
    pub fn digest(&self) -> Result<Digest> {
        Digest::from_hex(self.info.name()).map_err(|_| {
            let shown: String = self.info.name().chars().take(80).collect();
            info::invalid(format!(
                "name {shown:?} is not a 64-character lowercase hex sha256 digest"
            ))
        })
    }

    pub fn piece_count(&self) -> u32 {
        self.info.piece_count()
    }

    pub fn piece_index(&self, index: u32) -> Option<PieceIndex> {
        self.info.piece_index(index)
    }

    pub fn piece_offset(&self, index: PieceIndex) -> u64 {
        self.info.piece_offset(index)
    }

    pub fn piece_len(&self, index: PieceIndex) -> u64 {
        self.info.piece_len(index)
    }

    /// See [`Info::piece_hash`], including when it panics.
    pub fn piece_hash(&self, index: PieceIndex) -> &[u8; PIECE_HASH_LEN] {
        self.info.piece_hash(index)
    }

    pub fn verify_piece(&self, index: PieceIndex, data: &[u8]) -> bool {
        self.info.verify_piece(index, data)
    }
}

impl fmt::Debug for MetaInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MetaInfo")
            .field("info_hash", &self.info_hash)
            .field("announce", &self.announce)
            .field("info", &self.info)
            .finish()
    }
}

/// Appends a bencode byte string: `<len>:<bytes>`.
fn put_string(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(bytes.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(bytes);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use sha1::{Digest as _, Sha1};

    const ANNOUNCE: &str = "http://127.0.0.1:15003/announce";

    fn sample() -> (MetaInfo, Vec<u8>) {
        let data: Vec<u8> = (0..50_000u32).map(|i| (i * 7 % 256) as u8).collect();
        let pieces = data.chunks(16384).map(|p| Sha1::digest(p).into()).collect();
        let name = Digest::of(&data).hex();
        let info = Info::new(name, data.len() as u64, 16384, pieces).unwrap();
        (MetaInfo::new(info, Some(ANNOUNCE.into())), data)
    }

    #[test]
    fn round_trips_through_bytes() {
        let (meta, data) = sample();
        let bytes = meta.to_bytes();
        let back = MetaInfo::from_bytes(&bytes).unwrap();
        assert_eq!(back, meta);
        assert_eq!(back.info_hash(), meta.info_hash());
        assert_eq!(back.to_bytes(), bytes);
        assert_eq!(back.announce(), Some(ANNOUNCE));
        assert_eq!(back.digest().unwrap(), Digest::of(&data));
        assert_eq!(
            meta.info_hash(),
            InfoHash::of_info_bytes(&meta.info().encode())
        );
    }

    #[test]
    fn round_trips_without_announce() {
        let (meta, _) = sample();
        let bare = MetaInfo::new(meta.info().clone(), None);
        let back = MetaInfo::from_bytes(&bare.to_bytes()).unwrap();
        assert_eq!(back.announce(), None);
        assert_eq!(back.info_hash(), meta.info_hash());
        assert!(!bare.to_bytes().windows(8).any(|w| w == b"announce"));
    }

    #[test]
    fn with_announce_keeps_the_info_hash() {
        let (meta, _) = sample();
        let moved = meta.clone().with_announce("http://127.0.0.1:1/announce");
        assert_eq!(moved.info_hash(), meta.info_hash());
        assert_eq!(moved.announce(), Some("http://127.0.0.1:1/announce"));
        assert_eq!(moved.info_bytes(), meta.info_bytes());
    }

    #[test]
    fn unknown_info_keys_are_kept_in_the_hash() {
        let (meta, _) = sample();
        // Another tool's info dict: the same fields plus `private` and `source`, which
        // sort after `pieces`.
        let canonical = meta.info_bytes();
        let mut foreign = canonical[..canonical.len() - 1].to_vec();
        foreign.extend_from_slice(b"7:privatei1e6:source4:teste");
        let mut torrent = b"d10:created by5:other4:info".to_vec();
        torrent.extend_from_slice(&foreign);
        torrent.push(b'e');

        let parsed = MetaInfo::from_bytes(&torrent).unwrap();
        assert_eq!(parsed.info(), meta.info());
        assert_eq!(parsed.info_hash(), InfoHash::of_info_bytes(&foreign));
        assert_ne!(parsed.info_hash(), meta.info_hash());
        let rewritten = MetaInfo::from_bytes(&parsed.to_bytes()).unwrap();
        assert_eq!(rewritten.info_hash(), parsed.info_hash());
        assert_eq!(rewritten.info_bytes(), &foreign[..]);
    }

    #[test]
    fn piece_accessors_follow_the_info() {
        let (meta, data) = sample();
        assert_eq!(meta.piece_count(), 4);
        for i in 0..meta.piece_count() {
            let index = meta.piece_index(i).unwrap();
            let start = meta.piece_offset(index) as usize;
            let piece = &data[start..start + meta.piece_len(index) as usize];
            assert!(meta.verify_piece(index, piece), "piece {i}");
            assert_eq!(
                meta.piece_hash(index),
                &<[u8; 20]>::from(Sha1::digest(piece))
            );
        }
        let last = meta.piece_index(3).unwrap();
        assert_eq!(meta.piece_len(last), 50_000 - 3 * 16384);
        assert!(meta.piece_index(4).is_none());
    }

    #[test]
    fn digest_requires_a_hex_sha256_name() {
        let (meta, _) = sample();
        let info = meta.info();
        let named = |name: &str| {
            let info = Info::new(
                name.into(),
                info.length(),
                info.piece_length(),
                info.pieces().to_vec(),
            );
            MetaInfo::new(info.unwrap(), None)
        };
        for name in ["layer.tar", &info.name().to_uppercase(), &info.name()[1..]] {
            let err = named(name).digest().unwrap_err();
            assert!(matches!(err, Error::InvalidMetaInfo { .. }), "{err:?}");
            assert!(err.to_string().contains("not a 64-character"), "{err}");
        }
    }
}
