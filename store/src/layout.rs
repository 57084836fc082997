//! Where every file of the store lives, and the directory fsync helper.
//!
//! ```text
//! <root>/data/<hex[0:2]>/<hex[2:4]>/<hex>   committed blobs (immutable, verified)
//! <root>/tmp/upload-<id>                    streamed upload in progress
//! <root>/tmp/<hex>.part                     swarm download in progress
//! <root>/tmp/<hex>.part.json                its persisted piece bitfield (sidecar)
//! <root>/tmp/<hex>.part.json.tmp            sidecar being replaced
//! <root>/tmp/trash-<n>                      a blob moved out of data/, about to be unlinked
//! <root>/tmp/probe-<n>                      a readiness probe of writability (removed at once)
//! ```
//!
//! `tmp/` and `data/` sit under one root so that commit is a same-filesystem rename.
//! Shard directories are created on demand and never removed, so a commit never races
//! with a directory removal.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use starling_core::Digest;

use crate::error::{IoContext, Result};
use crate::upload::UploadId;

const PART_SUFFIX: &str = ".part";
const SIDECAR_SUFFIX: &str = ".part.json";
const SIDECAR_TEMP_SUFFIX: &str = ".part.json.tmp";
const UPLOAD_PREFIX: &str = "upload-";
const TRASH_PREFIX: &str = "trash-";
const PROBE_PREFIX: &str = "probe-";

/// The paths of one store root.
#[derive(Clone, Debug)]
pub(crate) struct Layout {
    data: PathBuf,
    tmp: PathBuf,
}

/// What a file found in `tmp/` is, judged by its name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum TmpFile {
    Partial(Digest),
    Sidecar(Digest),
    /// Uploads, trash, half-written sidecars and anything unrecognised: never resumable.
    Stale,
}

impl Layout {
    pub(crate) fn new(root: &Path) -> Self {
        Self {
            data: root.join("data"),
            tmp: root.join("tmp"),
        }
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data
    }

    pub(crate) fn tmp_dir(&self) -> &Path {
        &self.tmp
    }

    pub(crate) fn blob_path(&self, digest: &Digest) -> PathBuf {
        self.data.join(digest.shard_path())
    }

    pub(crate) fn partial_path(&self, digest: &Digest) -> PathBuf {
        self.tmp.join(format!("{}{PART_SUFFIX}", digest.hex()))
    }

    pub(crate) fn sidecar_path(&self, digest: &Digest) -> PathBuf {
        self.tmp.join(format!("{}{SIDECAR_SUFFIX}", digest.hex()))
    }

    pub(crate) fn sidecar_temp_path(&self, digest: &Digest) -> PathBuf {
        self.tmp
            .join(format!("{}{SIDECAR_TEMP_SUFFIX}", digest.hex()))
    }

    pub(crate) fn upload_path(&self, id: &UploadId) -> PathBuf {
        self.tmp.join(format!("{UPLOAD_PREFIX}{id}"))
    }

    /// A fresh name in `tmp/` to move a blob to before unlinking it, so the unlink (slow
    /// for a large file) happens outside the index lock.
    pub(crate) fn trash_path(&self) -> PathBuf {
        self.tmp
            .join(format!("{TRASH_PREFIX}{:032x}", rand::random::<u128>()))
    }

    /// A fresh name in `tmp/` for a writability probe; a leftover one is stale.
    pub(crate) fn probe_path(&self) -> PathBuf {
        self.tmp
            .join(format!("{PROBE_PREFIX}{:032x}", rand::random::<u128>()))
    }

    /// Creates `data/` and `tmp/` if missing.
    pub(crate) fn create_dirs(&self) -> Result<()> {
        for dir in [&self.data, &self.tmp] {
            fs::create_dir_all(dir).ctx("create directory", dir)?;
        }
        Ok(())
    }

    /// Creates the two shard directories of `digest`, fsyncing each parent that gained
    /// an entry so the directory chain of a committed blob survives a crash. Returns
    /// the directory the blob goes in.
    pub(crate) fn ensure_shard_dir(&self, digest: &Digest) -> Result<PathBuf> {
        let hex = digest.hex();
        let mut dir = self.data.clone();
        for part in [&hex[0..2], &hex[2..4]] {
            let child = dir.join(part);
            match fs::create_dir(&child) {
                Ok(()) => fsync_dir(&dir)?,
                Err(e) if e.kind() == ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e).ctx("create shard directory", &child),
            }
            dir = child;
        }
        Ok(dir)
    }
}

/// Classifies a file name found in `tmp/`.
pub(crate) fn classify_tmp(name: &str) -> TmpFile {
    let digest_of = |suffix: &str| {
        name.strip_suffix(suffix)
            .and_then(|hex| Digest::from_hex(hex).ok())
    };
    if name.ends_with(SIDECAR_TEMP_SUFFIX) {
        return TmpFile::Stale;
    }
    if let Some(digest) = digest_of(SIDECAR_SUFFIX) {
        return TmpFile::Sidecar(digest);
    }
    if let Some(digest) = digest_of(PART_SUFFIX) {
        return TmpFile::Partial(digest);
    }
    TmpFile::Stale
}

/// Makes the entries of `dir` (a rename or create inside it) durable.
pub(crate) fn fsync_dir(dir: &Path) -> Result<()> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .ctx("fsync directory", dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blob_path_uses_the_core_shard_path() {
        let layout = Layout::new(Path::new("/r"));
        let d = Digest::of(b"x");
        assert_eq!(
            layout.blob_path(&d),
            Path::new("/r/data").join(d.shard_path())
        );
    }

    #[test]
    fn tmp_names_classify_round_trip() {
        let layout = Layout::new(Path::new("/r"));
        let d = Digest::of(b"x");
        let name = |p: PathBuf| p.file_name().unwrap().to_str().unwrap().to_owned();
        assert_eq!(
            classify_tmp(&name(layout.partial_path(&d))),
            TmpFile::Partial(d)
        );
        assert_eq!(
            classify_tmp(&name(layout.sidecar_path(&d))),
            TmpFile::Sidecar(d)
        );
        assert_eq!(
            classify_tmp(&name(layout.sidecar_temp_path(&d))),
            TmpFile::Stale
        );
        assert_eq!(classify_tmp(&name(layout.trash_path())), TmpFile::Stale);
        assert_eq!(classify_tmp(&name(layout.probe_path())), TmpFile::Stale);
        assert_eq!(classify_tmp("abc.part"), TmpFile::Stale);
        assert_eq!(classify_tmp("notes.txt"), TmpFile::Stale);
    }

    #[test]
    fn shard_dirs_are_created_once() {
        let root = tempfile::tempdir().unwrap();
        let layout = Layout::new(root.path());
        layout.create_dirs().unwrap();
        let d = Digest::of(b"x");
        let dir = layout.ensure_shard_dir(&d).unwrap();
        assert_eq!(Some(dir.as_path()), layout.blob_path(&d).parent());
        assert!(dir.is_dir());
        assert_eq!(layout.ensure_shard_dir(&d).unwrap(), dir);
    }
}
