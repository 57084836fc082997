//! Startup recovery: clean the temp area and rebuild the index from `data/`.
//!
//! A crash can leave only files in `tmp/` (a blob reaches `data/` by one atomic rename
//! after it verified), so recovery never has to inspect blob contents:
//! - uploads, trash and half-written sidecars are removed (an interrupted upload is
//!   restarted by its client);
//! - a `.part` file is kept only together with its sidecar, which says which pieces are
//!   durable; either one without the other is removed, and so is a pair that could not
//!   complete: a sidecar that does not parse, a `.part` file of another length than the
//!   sidecar records, or one whose unallocated rest is more than the disk has free
//!   (a download whose write failed is removed when it fails; this catches older
//!   stores and crashes);
//! - every correctly named file under `data/<2 hex>/<2 hex>/` becomes an index entry
//!   with its size and its mtime as last access.

use std::collections::HashSet;
use std::fs;
use std::path::Path;

use starling_core::Digest;
use tracing::{debug, info, warn};

use crate::error::{IoContext, Result};
use crate::index::Index;
use crate::layout::{Layout, TmpFile, classify_tmp};
use crate::sidecar;
use crate::space::available_bytes;

/// Removes stale temp files and returns the index of committed blobs.
pub(crate) fn recover(layout: &Layout) -> Result<Index> {
    layout.create_dirs()?;
    clean_tmp(layout)?;
    let index = scan_data(layout)?;
    let usage = index.usage();
    info!(
        root = %layout.data_dir().display(),
        blobs = usage.blobs,
        bytes = usage.bytes,
        "store index rebuilt"
    );
    Ok(index)
}

fn clean_tmp(layout: &Layout) -> Result<()> {
    let tmp = layout.tmp_dir();
    let mut parts = HashSet::new();
    let mut sidecars = HashSet::new();
    let mut stale = Vec::new();
    for entry in fs::read_dir(tmp).ctx("list temp directory", tmp)? {
        let entry = entry.ctx("list temp directory", tmp)?;
        let path = entry.path();
        if !entry.file_type().ctx("stat temp file", &path)?.is_file() {
            warn!(path = %path.display(), "leaving unexpected non-file in the temp area");
            continue;
        }
        match classify_tmp(&entry.file_name().to_string_lossy()) {
            TmpFile::Partial(digest) => parts.insert(digest),
            TmpFile::Sidecar(digest) => sidecars.insert(digest),
            TmpFile::Stale => {
                stale.push(path);
                continue;
            }
        };
    }
    let mut available = available_bytes(tmp).unwrap_or(u64::MAX);
    let mut resumable = 0;
    for digest in parts.union(&sidecars) {
        let verdict = if parts.contains(digest) && sidecars.contains(digest) {
            can_complete(layout, digest, &mut available)
        } else {
            Err("its data file or its sidecar is missing")
        };
        match verdict {
            Ok(()) => resumable += 1,
            Err(reason) => {
                info!(digest = %digest, reason, "dropping a partial download that cannot resume");
                stale.push(layout.partial_path(digest));
                stale.push(layout.sidecar_path(digest));
            }
        }
    }
    for path in &stale {
        match fs::remove_file(path) {
            Ok(()) => debug!(path = %path.display(), "removed stale temp file"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(e).ctx("remove stale temp file", path),
        }
    }
    info!(removed = stale.len(), resumable, "temp area cleaned");
    Ok(())
}

/// Whether a partial download found on disk can resume: its sidecar parses, its data
/// file has the recorded length, and the rest of it fits in `available` (which the
/// partials kept before it have used up in part).
fn can_complete(
    layout: &Layout,
    digest: &Digest,
    available: &mut u64,
) -> std::result::Result<(), &'static str> {
    use std::os::unix::fs::MetadataExt;
    let geometry = sidecar::recorded_geometry(&layout.sidecar_path(digest), *digest)
        .ok_or("its sidecar does not parse")?;
    let meta =
        fs::metadata(layout.partial_path(digest)).map_err(|_| "its data file cannot be read")?;
    if meta.len() != geometry.length {
        return Err("its data file is not the length its sidecar records");
    }
    let unallocated = geometry.length.saturating_sub(meta.blocks() * 512);
    if unallocated > *available {
        return Err("the disk has no room for the rest of it");
    }
    *available -= unallocated;
    Ok(())
}

fn scan_data(layout: &Layout) -> Result<Index> {
    let mut index = Index::default();
    for first in subdirs(layout.data_dir())? {
        for second in subdirs(&first)? {
            for entry in fs::read_dir(&second).ctx("list shard directory", &second)? {
                let entry = entry.ctx("list shard directory", &second)?;
                add_blob(layout, &mut index, &entry.path())?;
            }
        }
    }
    Ok(index)
}

fn add_blob(layout: &Layout, index: &mut Index, path: &Path) -> Result<()> {
    let digest = path
        .file_name()
        .and_then(|n| n.to_str())
        .and_then(|n| Digest::from_hex(n).ok())
        .filter(|d| layout.blob_path(d) == path);
    let Some(digest) = digest else {
        warn!(path = %path.display(), "ignoring a file that is not a blob of this shard");
        return Ok(());
    };
    let meta = fs::metadata(path).ctx("stat blob", path)?;
    if !meta.is_file() {
        warn!(path = %path.display(), "ignoring a non-file in the data area");
        return Ok(());
    }
    let last_access = meta.modified().ctx("read mtime of blob", path)?;
    index.insert(digest, meta.len(), last_access);
    Ok(())
}

fn subdirs(dir: &Path) -> Result<Vec<std::path::PathBuf>> {
    let mut dirs = Vec::new();
    for entry in fs::read_dir(dir).ctx("list directory", dir)? {
        let entry = entry.ctx("list directory", dir)?;
        if entry.file_type().ctx("stat", &entry.path())?.is_dir() {
            dirs.push(entry.path());
        }
    }
    Ok(dirs)
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::*;
    use crate::upload::UploadId;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    /// A `.part` of `len` bytes with a valid empty sidecar recording `recorded` bytes.
    fn write_partial(layout: &Layout, digest: &Digest, len: u64, recorded: u64) {
        let file = fs::File::create(layout.partial_path(digest)).unwrap();
        file.set_len(len).unwrap();
        let geometry = sidecar::Geometry::new(*digest, recorded, (recorded / 4).max(1)).unwrap();
        let empty = starling_core::Bitfield::new(geometry.piece_count);
        sidecar::save(layout, digest, geometry, &empty).unwrap();
    }

    #[test]
    fn keeps_only_partials_with_sidecars() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path());
        layout.create_dirs().unwrap();
        let (kept, orphan_part, orphan_sidecar) =
            (Digest::of(b"1"), Digest::of(b"2"), Digest::of(b"3"));
        write_partial(&layout, &kept, 10, 10);
        for path in [
            layout.partial_path(&orphan_part),
            layout.sidecar_path(&orphan_sidecar),
            layout.sidecar_temp_path(&kept),
            layout.upload_path(&UploadId::generate()),
            layout.trash_path(),
        ] {
            fs::write(path, b"x").unwrap();
        }
        recover(&layout).unwrap();
        let mut want = vec![
            format!("{}.part", kept.hex()),
            format!("{}.part.json", kept.hex()),
        ];
        want.sort();
        assert_eq!(names(layout.tmp_dir()), want);
    }

    #[test]
    fn drops_partials_that_cannot_complete() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path());
        layout.create_dirs().unwrap();
        let (kept, short, garbled, too_big) = (
            Digest::of(b"kept"),
            Digest::of(b"short"),
            Digest::of(b"garbled"),
            Digest::of(b"too big"),
        );
        write_partial(&layout, &kept, 100, 100);
        write_partial(&layout, &short, 50, 100);
        write_partial(&layout, &garbled, 100, 100);
        fs::write(layout.sidecar_path(&garbled), b"{\"version\":1,").unwrap();
        // Sparse and larger than this machine's disk: its rest can never be written.
        write_partial(&layout, &too_big, 1 << 42, 1 << 42);

        recover(&layout).unwrap();
        let mut want = vec![
            format!("{}.part", kept.hex()),
            format!("{}.part.json", kept.hex()),
        ];
        want.sort();
        assert_eq!(names(layout.tmp_dir()), want);
    }

    #[test]
    fn rebuilds_sizes_and_mtimes_and_skips_misplaced_files() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path());
        layout.create_dirs().unwrap();
        let d = Digest::of(b"blob");
        layout.ensure_shard_dir(&d).unwrap();
        fs::write(layout.blob_path(&d), b"12345").unwrap();
        let mtime = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000);
        let file = fs::File::options()
            .write(true)
            .open(layout.blob_path(&d))
            .unwrap();
        file.set_modified(mtime).unwrap();
        let misplaced = layout.data_dir().join("00/00").join(d.hex());
        fs::create_dir_all(misplaced.parent().unwrap()).unwrap();
        fs::write(&misplaced, b"1").unwrap();

        let index = recover(&layout).unwrap();
        assert_eq!(index.usage().blobs, 1);
        let entry = index.get(&d).unwrap();
        assert_eq!((entry.size, entry.last_access), (5, mtime));
    }
}
