//! Streamed uploads: bytes arrive in order (an HTTP body, a registry PATCH), are hashed
//! as they are written to `tmp/upload-<id>`, and become a blob only if the digest the
//! client names matches.
//!
//! Resuming: a Registry v2 chunked upload spans several HTTP requests. The origin keeps
//! the `Upload` itself in a map from [`UploadId`] to `Upload` between requests (it is
//! `Send`, and [`Upload::offset`] answers the `Range` header) rather than reopening the
//! file by id: the running sha256 state lives only in memory, and an upload interrupted
//! by a restart is restarted by its client anyway, so `open_root` removes upload files.
//!
//! Invariant: the temp file is removed on every path that does not commit it (digest
//! mismatch, write error, drop), so an abandoned upload leaves nothing behind.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use starling_core::{Digest, DigestHasher};
use tokio::io::AsyncWriteExt;
use tracing::{debug, warn};

use crate::error::{CommitKind, Error, IoContext, Result};
use crate::store::{BlobInfo, Store};
use starling_runtime::blocking;

/// Identifies an upload in progress; 128 random bits shown as 32 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct UploadId(u128);

impl UploadId {
    pub fn generate() -> Self {
        Self(rand::random())
    }

    /// Parses the 32 lowercase hex digits that [`Display`](fmt::Display) produces.
    pub fn parse(value: &str) -> Result<Self> {
        let valid = value.len() == 32
            && value
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        valid
            .then(|| u128::from_str_radix(value, 16).ok())
            .flatten()
            .map(Self)
            .ok_or_else(|| Error::InvalidUploadId {
                value: value.chars().take(64).collect(),
            })
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:032x}", self.0)
    }
}

impl fmt::Debug for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UploadId({self})")
    }
}

impl FromStr for UploadId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

/// An upload in progress. Commit it with [`Upload::commit`]; dropping it removes the
/// temp file.
pub struct Upload {
    id: UploadId,
    store: Store,
    path: PathBuf,
    file: Option<tokio::fs::File>,
    hasher: DigestHasher,
    offset: u64,
    broken: bool,
    committed: bool,
}

impl Upload {
    pub(crate) async fn create(store: Store) -> Result<Self> {
        let id = UploadId::generate();
        let path = store.layout().upload_path(&id);
        let file = tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .ctx("create upload file", &path)?;
        debug!(upload = %id, "upload started");
        Ok(Self {
            id,
            store,
            path,
            file: Some(file),
            hasher: DigestHasher::new(),
            offset: 0,
            broken: false,
            committed: false,
        })
    }

    pub fn id(&self) -> UploadId {
        self.id
    }

    /// Bytes written so far (the next write lands here).
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// Appends `data`. After an error the upload is unusable: later calls fail with
    /// [`Error::UploadBroken`], because part of `data` may or may not be on disk.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        let file = self.usable_file()?;
        if let Err(e) = file.write_all(data).await {
            self.broken = true;
            return Err(e).ctx("write upload file", &self.path);
        }
        self.hasher.update(data);
        self.offset += data.len() as u64;
        Ok(())
    }

    /// Makes the written bytes durable, checks them against `expected` and moves them
    /// into the store. On a mismatch the temp file is removed and the error names both
    /// digests. If the blob is already committed the upload is simply discarded.
    pub async fn commit(mut self, expected: &Digest) -> Result<BlobInfo> {
        let mut file = self.take_file()?;
        file.flush().await.ctx("flush upload file", &self.path)?;
        file.sync_all().await.ctx("fsync upload file", &self.path)?;
        drop(file);
        let actual = std::mem::take(&mut self.hasher).finish();
        if actual != *expected {
            return Err(Error::DigestMismatch {
                kind: CommitKind::Upload,
                expected: *expected,
                actual,
            });
        }
        let (store, path, size) = (self.store.clone(), self.path.clone(), self.offset);
        let info = blocking("commit an upload", move || {
            store.commit_file(&path, actual, size)
        })
        .await?;
        self.committed = true;
        Ok(info)
    }

    fn usable_file(&mut self) -> Result<&mut tokio::fs::File> {
        match (&mut self.file, self.broken) {
            (Some(file), false) => Ok(file),
            _ => Err(broken(self.id)),
        }
    }

    fn take_file(&mut self) -> Result<tokio::fs::File> {
        match (self.file.take(), self.broken) {
            (Some(file), false) => Ok(file),
            _ => Err(broken(self.id)),
        }
    }
}

fn broken(id: UploadId) -> Error {
    Error::UploadBroken {
        upload: id.to_string(),
    }
}

impl Drop for Upload {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        // A small unlink; not worth a blocking task, and Drop cannot await one anyway.
        match std::fs::remove_file(&self.path) {
            Ok(()) => debug!(upload = %self.id, "uncommitted upload removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(path = %self.path.display(), error = %e, "cannot remove upload file"),
        }
    }
}

impl fmt::Debug for Upload {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Upload")
            .field("id", &self.id)
            .field("offset", &self.offset)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::test_support::*;

    async fn store(root: &std::path::Path) -> Store {
        Store::open_root(options(root)).await.unwrap()
    }

    #[tokio::test]
    async fn commit_makes_the_blob_readable_and_cleans_tmp() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let data = content(100_000, 1);
        let mut upload = store.begin_upload().await.unwrap();
        for chunk in data.chunks(7000) {
            upload.write(chunk).await.unwrap();
        }
        assert_eq!(upload.offset(), 100_000);
        let info = upload.commit(&Digest::of(&data)).await.unwrap();

        assert_eq!(info.size, 100_000);
        assert_eq!(store.stat(&info.digest).unwrap(), Some(info));
        assert_eq!(read_all(&store, &info.digest).await, data);
        assert!(store.layout().blob_path(&info.digest).is_file());
        assert!(tmp_names(root.path()).is_empty());
    }

    #[tokio::test]
    async fn wrong_digest_is_rejected_and_leaves_nothing() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let data = content(5000, 1);
        let claimed = Digest::of(b"something else");
        let mut upload = store.begin_upload().await.unwrap();
        upload.write(&data).await.unwrap();
        let err = upload.commit(&claimed).await.unwrap_err();

        let text = err.to_string();
        assert!(text.contains(&claimed.to_string()), "{text}");
        assert!(text.contains(&Digest::of(&data).to_string()), "{text}");
        for digest in [claimed, Digest::of(&data)] {
            assert_eq!(store.stat(&digest).unwrap(), None);
            assert!(!store.layout().blob_path(&digest).exists());
        }
        assert!(tmp_names(root.path()).is_empty());
        assert_eq!(store.usage().blobs, 0);
    }

    #[tokio::test]
    async fn dropping_an_upload_removes_its_temp_file() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let mut upload = store.begin_upload().await.unwrap();
        upload.write(b"half a blob").await.unwrap();
        assert_eq!(tmp_names(root.path()).len(), 1);
        drop(upload);
        assert!(tmp_names(root.path()).is_empty());
        assert_eq!(store.usage().blobs, 0);
    }

    #[tokio::test]
    async fn a_crash_before_commit_leaves_no_blob_and_restart_cleans_tmp() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let data = content(3000, 3);
        let mut upload = store.begin_upload().await.unwrap();
        upload.write(&data).await.unwrap();
        // A crash runs no destructors: the temp file stays behind, uncommitted.
        std::mem::forget(upload);
        assert_eq!(tmp_names(root.path()).len(), 1);

        let restarted = Store::open_root(options(root.path())).await.unwrap();
        assert_eq!(restarted.stat(&Digest::of(&data)).unwrap(), None);
        assert!(restarted.open(&Digest::of(&data)).await.unwrap().is_none());
        assert!(tmp_names(root.path()).is_empty());
    }

    #[tokio::test]
    async fn concurrent_uploads_of_one_digest_both_succeed() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let data = content(200_000, 9);
        let digest = Digest::of(&data);
        let mut first = store.begin_upload().await.unwrap();
        let mut second = store.begin_upload().await.unwrap();
        assert_ne!(first.id(), second.id());
        for chunk in data.chunks(50_000) {
            first.write(chunk).await.unwrap();
            second.write(chunk).await.unwrap();
        }
        let a = first.commit(&digest).await.unwrap();
        let b = second.commit(&digest).await.unwrap();

        assert_eq!(a, b);
        assert_eq!(store.usage().blobs, 1);
        assert_eq!(store.usage().bytes, 200_000);
        assert_eq!(read_all(&store, &digest).await, data);
        assert!(tmp_names(root.path()).is_empty());
    }

    #[test]
    fn upload_ids_round_trip_and_reject_junk() {
        let id = UploadId::generate();
        assert_eq!(UploadId::parse(&id.to_string()).unwrap(), id);
        for junk in [
            "",
            "abc",
            &"A".repeat(32),
            &"g".repeat(32),
            &"0".repeat(33),
            "../../etc",
        ] {
            assert!(UploadId::parse(junk).is_err(), "{junk:?}");
        }
    }
}
