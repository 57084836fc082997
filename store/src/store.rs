//! [`Store`]: the handle origins and agents hold, and its options.
//!
//! Every path into `data/` goes through [`Store::commit_file`] and every path out of it
//! through [`Store::remove_locked`]; both rename while holding the index lock, so the
//! index and `data/` agree at every instant and a commit never interleaves with an
//! eviction or delete of the same digest. Only renames happen under the lock: fsyncs,
//! hashing and unlinking a (possibly large) file happen outside it.

use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use starling_core::Digest;
use tracing::{debug, info, warn};

use crate::error::{Error, IoContext, Result};
use crate::index::{Index, SharedIndex, Usage};
use crate::layout::{Layout, fsync_dir};
use crate::reader::BlobReader;
use crate::recover::recover;
use crate::space::Shortage;
use crate::upload::Upload;
use starling_runtime::blocking;

/// Where the store lives and how it evicts. Built by callers from the config crate's
/// store section.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoreOptions {
    /// Root directory; `data/` and `tmp/` are created under it.
    pub root: PathBuf,
    /// A blob not read for longer than this is evicted.
    pub idle_ttl: Duration,
    /// Once committed bytes exceed this, least recently used blobs are evicted...
    pub high_watermark: u64,
    /// ...until committed bytes are at or below this.
    pub low_watermark: u64,
}

/// A committed blob's identity and size.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
}

/// A content-addressed blob store on local disk. Cheap to clone; all clones share one
/// index.
#[derive(Clone, Debug)]
pub struct Store {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    layout: Layout,
    options: StoreOptions,
    index: SharedIndex,
    evictions: crate::metrics::EvictionCount,
    shortage: Shortage,
}

impl Store {
    /// Opens (creating if needed) the store at `options.root`: removes stale temp files,
    /// keeps resumable partial downloads and rebuilds the index from `data/`.
    pub async fn open_root(options: StoreOptions) -> Result<Self> {
        if options.low_watermark > options.high_watermark {
            return Err(Error::InvalidOptions {
                reason: format!(
                    "low_watermark ({}) is above high_watermark ({})",
                    options.low_watermark, options.high_watermark
                ),
            });
        }
        let layout = Layout::new(&options.root);
        let scan_layout = layout.clone();
        let index = blocking("recover the store", move || recover(&scan_layout)).await?;
        Ok(Self {
            inner: Arc::new(Inner {
                layout,
                options,
                index: SharedIndex::from(index),
                evictions: Default::default(),
                shortage: Shortage::default(),
            }),
        })
    }

    pub fn options(&self) -> &StoreOptions {
        &self.inner.options
    }

    /// The committed blob's size, answered from the in-memory index (no disk access).
    pub fn stat(&self, digest: &Digest) -> Result<Option<BlobInfo>> {
        let index = self.inner.index.lock();
        Ok(index.get(digest).map(|entry| BlobInfo {
            digest: *digest,
            size: entry.size,
        }))
    }

    /// Committed blobs and bytes.
    pub fn usage(&self) -> Usage {
        self.inner.index.lock().usage()
    }

    /// Blobs and bytes evicted since the store was opened.
    pub fn evictions(&self) -> &crate::metrics::EvictionCount {
        &self.inner.evictions
    }

    /// Opens a committed blob for reading, or `None` if it is not committed. The
    /// reader holds a lease that keeps the blob from eviction, and opening records an
    /// access (in the index and as the file's mtime, so LRU order survives restarts).
    pub async fn open(&self, digest: &Digest) -> Result<Option<BlobReader>> {
        let now = SystemTime::now();
        let Some((lease, size)) = self.inner.index.lease(*digest, now) else {
            return Ok(None);
        };
        let path = self.inner.layout.blob_path(digest);
        let open_path = path.clone();
        let file = blocking::<_, Error, _>("open a blob", move || {
            let file = fs::File::open(&open_path).ctx("open blob", &open_path)?;
            if let Err(e) = file.set_modified(now) {
                warn!(path = %open_path.display(), error = %e, "cannot record blob access time");
            }
            Ok(file)
        })
        .await?;
        let info = BlobInfo {
            digest: *digest,
            size,
        };
        BlobReader::new(info, path, file, lease).map(Some)
    }

    /// Starts a streamed upload into the temp area.
    pub async fn begin_upload(&self) -> Result<Upload> {
        Upload::create(self.clone()).await
    }

    /// Deletes a committed blob. Returns false if it was not there; refuses (with
    /// [`Error::BlobInUse`]) while a reader holds it.
    pub async fn delete(&self, digest: &Digest) -> Result<bool> {
        let store = self.clone();
        let digest = *digest;
        blocking("delete a blob", move || {
            let removal = store.remove_locked(&mut store.inner.index.lock(), &digest)?;
            match removal {
                Removal::Absent => Ok(false),
                Removal::Leased(readers) => Err(Error::BlobInUse { digest, readers }),
                Removal::Removed { trash } => {
                    store.unlink_trash(trash.as_deref());
                    info!(digest = %digest, "blob deleted");
                    Ok(true)
                }
            }
        })
        .await
    }

    pub(crate) fn layout(&self) -> &Layout {
        &self.inner.layout
    }

    pub(crate) fn index(&self) -> &SharedIndex {
        &self.inner.index
    }

    pub(crate) fn shortage(&self) -> &Shortage {
        &self.inner.shortage
    }

    /// Moves a verified, fsynced temp file into `data/` (blocking). If the blob is
    /// already committed (a concurrent upload of the same content won) the temp file is
    /// removed instead and the existing blob is reported.
    pub(crate) fn commit_file(&self, temp: &Path, digest: Digest, size: u64) -> Result<BlobInfo> {
        let shard_dir = self.inner.layout.ensure_shard_dir(&digest)?;
        let now = SystemTime::now();
        {
            let mut index = self.inner.index.lock();
            if let Some(existing) = index.touch(&digest, now) {
                drop(index);
                debug!(digest = %digest, "blob already committed; dropping duplicate");
                fs::remove_file(temp).ctx("remove duplicate temp file", temp)?;
                return Ok(BlobInfo {
                    digest,
                    size: existing,
                });
            }
            let target = self.inner.layout.blob_path(&digest);
            fs::rename(temp, &target).ctx("rename into the data area", temp)?;
            index.insert(digest, size, now);
        }
        fsync_dir(&shard_dir)?;
        info!(digest = %digest, size, "blob committed");
        Ok(BlobInfo { digest, size })
    }

    /// Moves an unleased blob out of `data/` into the temp area and forgets it, under
    /// the caller's index lock. On a rename failure the blob stays committed.
    pub(crate) fn remove_locked(&self, index: &mut Index, digest: &Digest) -> Result<Removal> {
        match index.get(digest) {
            None => return Ok(Removal::Absent),
            Some(entry) if entry.leases > 0 => return Ok(Removal::Leased(entry.leases)),
            Some(_) => {}
        }
        let source = self.inner.layout.blob_path(digest);
        let trash = self.inner.layout.trash_path();
        let trash = match fs::rename(&source, &trash) {
            Ok(()) => Some(trash),
            Err(e) if e.kind() == ErrorKind::NotFound => {
                warn!(digest = %digest, "blob file vanished from the data area; forgetting it");
                None
            }
            Err(e) => return Err(e).ctx("move blob out of the data area", &source),
        };
        let removed = index.remove_unleased(digest);
        debug_assert!(
            matches!(removed, Ok(Some(_))),
            "checked above under the same lock"
        );
        Ok(Removal::Removed { trash })
    }

    /// Unlinks a trashed blob outside the index lock. A failure leaves a stale temp
    /// file that the next `open_root` removes, so it is only logged.
    pub(crate) fn unlink_trash(&self, trash: Option<&Path>) {
        if let Some(trash) = trash
            && let Err(e) = fs::remove_file(trash)
        {
            warn!(path = %trash.display(), error = %e, "cannot unlink trashed blob");
        }
    }
}

/// What [`Store::remove_locked`] did.
#[derive(Debug)]
pub(crate) enum Removal {
    Absent,
    Leased(u32),
    Removed { trash: Option<PathBuf> },
}

#[cfg(test)]
pub(crate) mod test_support {
    //! Helpers shared by the store's tests.

    use std::time::{Duration, SystemTime};

    use super::*;

    pub(crate) fn options(root: &Path) -> StoreOptions {
        StoreOptions {
            root: root.to_path_buf(),
            idle_ttl: Duration::from_secs(3600),
            high_watermark: u64::MAX,
            low_watermark: u64::MAX,
        }
    }

    /// Deterministic content that differs per seed.
    pub(crate) fn content(len: usize, seed: u8) -> Vec<u8> {
        (0..len)
            .map(|i| {
                (i as u32)
                    .wrapping_mul(31)
                    .wrapping_add(u32::from(seed) * 7) as u8
            })
            .collect()
    }

    pub(crate) async fn put(store: &Store, data: &[u8]) -> BlobInfo {
        let mut upload = store.begin_upload().await.unwrap();
        for chunk in data.chunks(4096) {
            upload.write(chunk).await.unwrap();
        }
        upload.commit(&Digest::of(data)).await.unwrap()
    }

    pub(crate) async fn read_all(store: &Store, digest: &Digest) -> Vec<u8> {
        use tokio::io::AsyncReadExt;
        let mut reader = store.open(digest).await.unwrap().expect("blob present");
        let mut out = Vec::new();
        reader.read_to_end(&mut out).await.unwrap();
        out
    }

    pub(crate) fn set_mtime(store: &Store, digest: &Digest, secs: u64) {
        let path = store.layout().blob_path(digest);
        let file = fs::File::options().write(true).open(path).unwrap();
        file.set_modified(SystemTime::UNIX_EPOCH + Duration::from_secs(secs))
            .unwrap();
    }

    pub(crate) fn tmp_names(root: &Path) -> Vec<String> {
        fs::read_dir(root.join("tmp"))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::test_support::*;
    use super::*;

    #[test]
    fn handles_can_cross_tasks_and_threads() {
        fn send_sync<T: Send + Sync>() {}
        fn send<T: Send>() {}
        send_sync::<Store>();
        send_sync::<crate::PartialBlob>();
        send_sync::<crate::PartialReader>();
        send_sync::<BlobReader>();
        send::<Upload>();
    }

    #[tokio::test]
    async fn rejects_watermarks_in_the_wrong_order() {
        let root = tempfile::tempdir().unwrap();
        let mut opts = options(root.path());
        (opts.high_watermark, opts.low_watermark) = (10, 20);
        let err = Store::open_root(opts).await.unwrap_err();
        assert!(err.to_string().contains("low_watermark"), "{err}");
    }

    #[tokio::test]
    async fn reopening_rebuilds_the_index_from_disk() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(options(root.path())).await.unwrap();
        let a = put(&store, &content(1000, 1)).await;
        let b = put(&store, &content(10, 2)).await;
        drop(store);

        let store = Store::open_root(options(root.path())).await.unwrap();
        assert_eq!(store.stat(&a.digest).unwrap(), Some(a));
        assert_eq!(store.stat(&b.digest).unwrap(), Some(b));
        assert_eq!(
            store.usage(),
            Usage {
                blobs: 2,
                bytes: 1010
            }
        );
        assert_eq!(read_all(&store, &a.digest).await, content(1000, 1));
    }

    #[tokio::test]
    async fn delete_removes_the_file_and_the_accounting() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(options(root.path())).await.unwrap();
        let a = put(&store, &content(100, 1)).await;
        let b = put(&store, &content(50, 2)).await;

        assert!(store.delete(&a.digest).await.unwrap());
        assert!(!store.delete(&a.digest).await.unwrap());
        assert_eq!(store.stat(&a.digest).unwrap(), None);
        assert!(store.open(&a.digest).await.unwrap().is_none());
        assert!(!store.layout().blob_path(&a.digest).exists());
        assert!(tmp_names(root.path()).is_empty(), "trash must be unlinked");
        assert_eq!(
            store.usage(),
            Usage {
                blobs: 1,
                bytes: 50
            }
        );

        let reader = store.open(&b.digest).await.unwrap().unwrap();
        let err = store.delete(&b.digest).await.unwrap_err();
        assert!(matches!(err, Error::BlobInUse { readers: 1, .. }), "{err}");
        drop(reader);
        assert!(store.delete(&b.digest).await.unwrap());
        assert_eq!(store.usage(), Usage::default());
    }
}
