//! Disk space: telling a write that failed for lack of space from other i/o failures,
//! reserving a partial download's bytes up front, how much the filesystem has free, and
//! the store's memory of its last write that did not fit ([`Shortage`]).
//!
//! Why reserve: a swarm download streams to its client while it downloads, so once the
//! first bytes left, a failure can only cut the response. Allocating the whole `.part`
//! file when the download opens (`fallocate`) makes a full disk fail there, before any
//! byte is sent, with an answer the client can read; later piece writes land in blocks
//! that already belong to the download. A filesystem without `fallocate` gets a sparse
//! file, as before, and a full disk then fails the piece write instead.
//!
//! [`Shortage`] is what readiness reports: a write failed for space and the filesystem
//! still has less free than that write needed. It clears once the free space reaches
//! the need (eviction, an operator deleting files) or a partial download commits.

use std::fs::File;
use std::io::{self, ErrorKind};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use tracing::{info, warn};

use crate::error::{Error, IoContext, Result};
use crate::store::Store;
use starling_runtime::blocking;

/// Whether `error` says the filesystem (or the user's quota) has no room left.
pub(crate) fn is_no_space(error: &io::Error) -> bool {
    error.kind() == ErrorKind::StorageFull
        || error.kind() == ErrorKind::QuotaExceeded
        || matches!(error.raw_os_error(), Some(libc::ENOSPC | libc::EDQUOT))
}

/// Allocates the first `len` bytes of `file` (which is at least that long) on disk.
/// Returns false, having done nothing, where the filesystem cannot preallocate.
pub(crate) fn preallocate(file: &File, len: u64) -> io::Result<bool> {
    use std::os::fd::AsRawFd;
    if len == 0 {
        return Ok(true);
    }
    let len = libc::off_t::try_from(len)
        .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "length exceeds off_t"))?;
    loop {
        // SAFETY: the descriptor is open for the borrow of `file`; fallocate touches no
        // memory of this process.
        let rc = unsafe { libc::fallocate(file.as_raw_fd(), 0, 0, len) };
        if rc == 0 {
            return Ok(true);
        }
        let error = io::Error::last_os_error();
        match error.raw_os_error() {
            Some(libc::EINTR) => continue,
            Some(libc::EOPNOTSUPP | libc::ENOSYS) => return Ok(false),
            _ => return Err(error),
        }
    }
}

/// Bytes an unprivileged writer may still allocate on the filesystem holding `path`.
pub(crate) fn available_bytes(path: &Path) -> io::Result<u64> {
    use std::os::unix::ffi::OsStrExt;
    let path = std::ffi::CString::new(path.as_os_str().as_bytes())
        .map_err(|_| io::Error::new(ErrorKind::InvalidInput, "path contains a NUL byte"))?;
    let mut stat = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `path` is NUL-terminated and `stat` is valid for writes of one statvfs.
    let rc = unsafe { libc::statvfs(path.as_ptr(), stat.as_mut_ptr()) };
    if rc != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: statvfs returned 0, so it filled `stat`.
    let stat = unsafe { stat.assume_init() };
    Ok(stat.f_bavail.saturating_mul(stat.f_frsize))
}

/// Whether the store can take writes, as [`crate::Store::capacity`] finds it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capacity {
    /// A probe file can be written, and no earlier write is still waiting for space.
    Writable,
    /// Writing a probe file in the temp area failed (read-only, i/o error, full).
    Unwritable { reason: String },
    /// A write failed for lack of space and the filesystem still has less free than
    /// that write needed (after evicting what could be evicted).
    Short { needed: u64, available: u64 },
}

impl Capacity {
    pub fn is_writable(&self) -> bool {
        *self == Self::Writable
    }
}

/// The last write that did not fit, and how many did not since the store opened.
#[derive(Debug, Default)]
pub(crate) struct Shortage {
    /// Bytes the last failed write needed; `None` once space came back. A leaf lock.
    needed: Mutex<Option<u64>>,
    failures: AtomicU64,
}

impl Shortage {
    pub(crate) fn record(&self, needed: u64) {
        *self.lock() = Some(needed);
        self.failures.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn clear(&self) {
        *self.lock() = None;
    }

    pub(crate) fn needed(&self) -> Option<u64> {
        *self.lock()
    }

    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Option<u64>> {
        self.needed.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Store {
    /// Whether the store can take writes now: a probe file in the temp area must be
    /// created, written and synced, and a write that failed for space must fit in what
    /// the filesystem has free now (then the shortage is forgotten). Blocking work runs
    /// in `spawn_blocking`.
    pub async fn capacity(&self) -> Capacity {
        let store = self.clone();
        blocking::<_, Error, _>("probe the store", move || Ok(store.capacity_blocking()))
            .await
            .unwrap_or_else(|e| Capacity::Unwritable {
                reason: e.to_string(),
            })
    }

    /// Writes that failed for lack of space (after trying to make room) since open.
    pub fn out_of_space_failures(&self) -> u64 {
        self.shortage().failures()
    }

    /// Whether a write failed for space and the store has not seen room for it since.
    pub fn is_short_of_space(&self) -> bool {
        self.shortage().needed().is_some()
    }

    fn capacity_blocking(&self) -> Capacity {
        if let Err(e) = self.write_probe() {
            return Capacity::Unwritable {
                reason: e.to_string(),
            };
        }
        let Some(needed) = self.shortage().needed() else {
            return Capacity::Writable;
        };
        match available_bytes(self.layout().tmp_dir()) {
            Ok(available) if available >= needed => {
                self.shortage().clear();
                info!(
                    available,
                    needed, "disk space is back; the store takes writes again"
                );
                Capacity::Writable
            }
            Ok(available) => Capacity::Short { needed, available },
            Err(e) => Capacity::Unwritable {
                reason: format!("cannot read free space: {e}"),
            },
        }
    }

    fn write_probe(&self) -> Result<()> {
        use std::io::Write;
        let probe = self.layout().probe_path();
        let written = File::create(&probe)
            .and_then(|mut f| f.write_all(b"ok").and_then(|()| f.sync_all()))
            .ctx("write a probe file", &probe);
        let removed = std::fs::remove_file(&probe).ctx("remove a probe file", &probe);
        written.and(removed)
    }

    /// Records a write of `needed` bytes that failed for space, for readiness and
    /// metrics.
    pub(crate) fn note_out_of_space(&self, needed: u64) {
        warn!(needed, "store write failed: out of disk space");
        self.shortage().record(needed);
    }

    /// Runs `write`; if it fails for lack of space, evicts least recently used blobs
    /// until `needed()` bytes are free (see [`Store::make_room`]) and runs it once more
    /// if that freed anything. Blocking.
    pub(crate) fn with_room<T>(
        &self,
        needed: impl FnOnce() -> u64,
        mut write: impl FnMut() -> io::Result<T>,
    ) -> io::Result<T> {
        match write() {
            Err(e) if is_no_space(&e) => match self.make_room(needed()) {
                Ok(freed) if freed > 0 => write(),
                Ok(_) => Err(e),
                Err(evict) => {
                    warn!(error = %evict, "cannot make room in the store");
                    Err(e)
                }
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_space_is_told_from_other_errors() {
        assert!(is_no_space(&io::Error::from_raw_os_error(libc::ENOSPC)));
        assert!(is_no_space(&io::Error::from_raw_os_error(libc::EDQUOT)));
        assert!(is_no_space(&io::Error::from(ErrorKind::StorageFull)));
        assert!(!is_no_space(&io::Error::from_raw_os_error(libc::EIO)));
        assert!(!is_no_space(&io::Error::from(ErrorKind::PermissionDenied)));
    }

    #[test]
    fn preallocation_allocates_blocks_without_changing_the_length() {
        use std::os::unix::fs::MetadataExt;
        let dir = tempfile::tempdir().unwrap();
        let file = File::create(dir.path().join("f")).unwrap();
        file.set_len(1 << 20).unwrap();
        assert_eq!(file.metadata().unwrap().blocks(), 0, "sparse before");
        if preallocate(&file, 1 << 20).unwrap() {
            let meta = file.metadata().unwrap();
            assert!(meta.blocks() * 512 >= 1 << 20, "{} blocks", meta.blocks());
            assert_eq!(meta.len(), 1 << 20);
        }
    }

    #[test]
    fn available_bytes_reads_the_filesystem() {
        let dir = tempfile::tempdir().unwrap();
        assert!(available_bytes(dir.path()).unwrap() > 0);
        assert!(available_bytes(&dir.path().join("missing")).is_err());
    }

    #[test]
    fn a_shortage_is_remembered_until_cleared_and_counted() {
        let shortage = Shortage::default();
        assert_eq!(shortage.needed(), None);
        shortage.record(10);
        shortage.record(20);
        assert_eq!((shortage.needed(), shortage.failures()), (Some(20), 2));
        shortage.clear();
        assert_eq!((shortage.needed(), shortage.failures()), (None, 2));
    }
}
