//! The geometry of a partial download and its persisted piece bitfield (the sidecar
//! `tmp/<hex>.part.json`).
//!
//! Invariants:
//! - a piece is marked in the sidecar only after the data file was fdatasynced with
//!   that piece in it, so after a crash every marked piece is on disk;
//! - the sidecar is replaced by writing a temp file, fsyncing it and renaming it over the
//!   old one, so it is never torn; a sidecar that does not parse or whose geometry
//!   differs is ignored and the download starts over.

use std::fs;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};
use starling_core::{Bitfield, Digest};
use tracing::warn;

use crate::error::{Error, IoContext, Result};
use crate::layout::{Layout, fsync_dir};

const FORMAT_VERSION: u32 = 1;

/// Length, piece length and piece count of one blob's torrent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Geometry {
    pub(crate) length: u64,
    pub(crate) piece_length: u64,
    pub(crate) piece_count: u32,
}

impl Geometry {
    pub(crate) fn new(digest: Digest, length: u64, piece_length: u64) -> Result<Self> {
        let invalid = |reason| Error::InvalidGeometry {
            digest,
            length,
            piece_length,
            reason,
        };
        if piece_length == 0 {
            return Err(invalid("the piece length must be positive"));
        }
        let piece_count = u32::try_from(length.div_ceil(piece_length))
            .map_err(|_| invalid("more than 2^32 pieces"))?;
        Ok(Self {
            length,
            piece_length,
            piece_count,
        })
    }

    pub(crate) fn piece_offset(&self, piece: u32) -> u64 {
        u64::from(piece) * self.piece_length
    }

    /// The last piece is shorter when the length is not a multiple of the piece length.
    pub(crate) fn piece_size(&self, piece: u32) -> u64 {
        self.piece_length
            .min(self.length - self.piece_offset(piece))
    }
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SidecarFile {
    version: u32,
    length: u64,
    piece_length: u64,
    /// The bitfield in BEP 3 order, hex encoded.
    pieces: String,
}

/// The persisted bitfield, if the sidecar exists, parses and matches `geometry`.
pub(crate) fn load(path: &Path, geometry: Geometry) -> Option<Bitfield> {
    let text = match fs::read(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            warn!(path = %path.display(), error = %e, "cannot read sidecar; starting over");
            return None;
        }
    };
    let file: SidecarFile = match serde_json::from_slice(&text) {
        Ok(file) => file,
        Err(e) => {
            warn!(path = %path.display(), error = %e, "unparsable sidecar; starting over");
            return None;
        }
    };
    let matches = file.version == FORMAT_VERSION
        && file.length == geometry.length
        && file.piece_length == geometry.piece_length;
    if !matches {
        warn!(path = %path.display(), "sidecar is for another geometry; starting over");
        return None;
    }
    let bitfield = hex::decode(&file.pieces)
        .ok()
        .and_then(|bytes| Bitfield::from_bytes(&bytes, geometry.piece_count));
    if bitfield.is_none() {
        warn!(path = %path.display(), "malformed sidecar bitfield; starting over");
    }
    bitfield
}

/// The geometry a sidecar records, if it parses, is of this format and its bitfield fits
/// that geometry: what recovery needs to judge a partial download it finds on disk.
pub(crate) fn recorded_geometry(path: &Path, digest: Digest) -> Option<Geometry> {
    let text = fs::read(path).ok()?;
    let file: SidecarFile = serde_json::from_slice(&text).ok()?;
    if file.version != FORMAT_VERSION {
        return None;
    }
    let geometry = Geometry::new(digest, file.length, file.piece_length).ok()?;
    let bytes = hex::decode(&file.pieces).ok()?;
    Bitfield::from_bytes(&bytes, geometry.piece_count).map(|_| geometry)
}

/// Atomically replaces the sidecar of `digest` with `bitfield`.
pub(crate) fn save(
    layout: &Layout,
    digest: &Digest,
    geometry: Geometry,
    bitfield: &Bitfield,
) -> Result<()> {
    let file = SidecarFile {
        version: FORMAT_VERSION,
        length: geometry.length,
        piece_length: geometry.piece_length,
        pieces: hex::encode(bitfield.as_bytes()),
    };
    let text = serde_json::to_vec(&file).expect("a sidecar always serializes");
    let temp = layout.sidecar_temp_path(digest);
    let mut out = fs::File::create(&temp).ctx("create sidecar", &temp)?;
    out.write_all(&text).ctx("write sidecar", &temp)?;
    out.sync_all().ctx("fsync sidecar", &temp)?;
    let path = layout.sidecar_path(digest);
    fs::rename(&temp, &path).ctx("replace sidecar", &path)?;
    fsync_dir(layout.tmp_dir())
}

#[cfg(test)]
mod tests {
    use starling_core::PieceIndex;

    use super::*;

    #[test]
    fn geometry_counts_pieces_and_the_short_last_piece() {
        let d = Digest::of(b"x");
        let g = Geometry::new(d, 10, 4).unwrap();
        assert_eq!(g.piece_count, 3);
        assert_eq!((g.piece_size(0), g.piece_size(2)), (4, 2));
        assert_eq!(Geometry::new(d, 8, 4).unwrap().piece_size(1), 4);
        assert_eq!(Geometry::new(d, 0, 4).unwrap().piece_count, 0);
        assert!(Geometry::new(d, 10, 0).is_err());
        assert!(Geometry::new(d, u64::MAX, 1).is_err());
    }

    #[test]
    fn save_then_load_round_trips_and_checks_geometry() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path());
        layout.create_dirs().unwrap();
        let d = Digest::of(b"x");
        let g = Geometry::new(d, 100, 10).unwrap();
        let mut bits = Bitfield::new(g.piece_count);
        bits.set(PieceIndex::new(3, 10).unwrap());
        save(&layout, &d, g, &bits).unwrap();

        let path = layout.sidecar_path(&d);
        assert_eq!(load(&path, g), Some(bits));
        assert!(!layout.sidecar_temp_path(&d).exists());
        assert_eq!(load(&path, Geometry::new(d, 100, 20).unwrap()), None);
        assert_eq!(load(&path, Geometry::new(d, 101, 10).unwrap()), None);
        assert_eq!(recorded_geometry(&path, d), Some(g));
        fs::write(&path, b"{\"version\":1,").unwrap();
        assert_eq!(load(&path, g), None);
        assert_eq!(recorded_geometry(&path, d), None);
        assert_eq!(load(&layout.sidecar_path(&Digest::of(b"y")), g), None);
    }
}
