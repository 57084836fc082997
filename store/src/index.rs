//! The in-memory index of committed blobs: size, last access and live read leases per
//! digest, the running total of committed bytes, and which digests have an open
//! partial download.
//!
//! Invariants (all under the one index mutex):
//! - `blobs` mirrors `data/`: entries are inserted right after the rename into `data/`
//!   and removed right after the rename out of it, both while the lock is held.
//! - `total_bytes` is the sum of the sizes in `blobs`.
//! - an entry with `leases > 0` is never removed (eviction and delete skip it), so a
//!   [`Lease`] always finds its entry when it is released.
//!
//! The index is rebuilt from `data/` (sizes and mtimes) when the store opens.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use starling_core::Digest;

/// Bookkeeping for one committed blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Entry {
    pub(crate) size: u64,
    pub(crate) last_access: SystemTime,
    pub(crate) leases: u32,
}

/// How much committed data the store holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Number of committed blobs.
    pub blobs: u64,
    /// Sum of their sizes in bytes.
    pub bytes: u64,
}

#[derive(Debug, Default)]
pub(crate) struct Index {
    blobs: HashMap<Digest, Entry>,
    total_bytes: u64,
    open_partials: HashSet<Digest>,
}

impl Index {
    /// Records a committed blob; returns false (and changes nothing) if it is known.
    pub(crate) fn insert(&mut self, digest: Digest, size: u64, last_access: SystemTime) -> bool {
        if self.blobs.contains_key(&digest) {
            return false;
        }
        self.blobs.insert(
            digest,
            Entry {
                size,
                last_access,
                leases: 0,
            },
        );
        self.total_bytes += size;
        true
    }

    pub(crate) fn get(&self, digest: &Digest) -> Option<&Entry> {
        self.blobs.get(digest)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = (&Digest, &Entry)> {
        self.blobs.iter()
    }

    /// Moves the last access of a known blob forward to `at`; returns its size.
    pub(crate) fn touch(&mut self, digest: &Digest, at: SystemTime) -> Option<u64> {
        let entry = self.blobs.get_mut(digest)?;
        entry.last_access = entry.last_access.max(at);
        Some(entry.size)
    }

    /// Removes a blob that has no lease. Returns `Err(leases)` if it is leased.
    pub(crate) fn remove_unleased(&mut self, digest: &Digest) -> Result<Option<Entry>, u32> {
        match self.blobs.get(digest) {
            None => Ok(None),
            Some(entry) if entry.leases > 0 => Err(entry.leases),
            Some(_) => {
                let entry = self.blobs.remove(digest);
                if let Some(entry) = &entry {
                    self.total_bytes -= entry.size;
                }
                Ok(entry)
            }
        }
    }

    pub(crate) fn usage(&self) -> Usage {
        Usage {
            blobs: self.blobs.len() as u64,
            bytes: self.total_bytes,
        }
    }

    fn add_lease(&mut self, digest: &Digest, at: SystemTime) -> Option<u64> {
        let size = self.touch(digest, at)?;
        if let Some(entry) = self.blobs.get_mut(digest) {
            entry.leases += 1;
        }
        Some(size)
    }

    fn drop_lease(&mut self, digest: &Digest) {
        match self.blobs.get_mut(digest) {
            Some(entry) if entry.leases > 0 => entry.leases -= 1,
            _ => debug_assert!(false, "lease released for {digest} without an entry"),
        }
    }
}

/// The index shared by the store, its readers' leases and its partial downloads.
#[derive(Clone, Debug, Default)]
pub(crate) struct SharedIndex(Arc<Mutex<Index>>);

impl From<Index> for SharedIndex {
    fn from(index: Index) -> Self {
        Self(Arc::new(Mutex::new(index)))
    }
}

impl SharedIndex {
    /// Locks the index. A panic while it was held cannot leave it half-updated (every
    /// mutation above completes without calling out), so a poisoned lock is recovered.
    pub(crate) fn lock(&self) -> MutexGuard<'_, Index> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes a read lease on a committed blob and records the access at `at`; `None` if
    /// the blob is not committed.
    pub(crate) fn lease(&self, digest: Digest, at: SystemTime) -> Option<(Lease, u64)> {
        let size = self.lock().add_lease(&digest, at)?;
        let lease = Lease {
            index: self.clone(),
            digest,
        };
        Some((lease, size))
    }

    /// Marks `digest` as having an open partial download; `None` if one is open already.
    pub(crate) fn claim_partial(&self, digest: Digest) -> Option<PartialClaim> {
        self.lock()
            .open_partials
            .insert(digest)
            .then(|| PartialClaim {
                index: self.clone(),
                digest,
            })
    }
}

/// Keeps a committed blob from being evicted or deleted while it is alive.
#[derive(Debug)]
pub(crate) struct Lease {
    index: SharedIndex,
    digest: Digest,
}

impl Drop for Lease {
    fn drop(&mut self) {
        self.index.lock().drop_lease(&self.digest);
    }
}

/// Proof that this process has the only open [`PartialBlob`](crate::PartialBlob) for a
/// digest, so two writers never share one `.part` file and sidecar.
#[derive(Debug)]
pub(crate) struct PartialClaim {
    index: SharedIndex,
    digest: Digest,
}

impl Drop for PartialClaim {
    fn drop(&mut self) {
        self.index.lock().open_partials.remove(&self.digest);
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn insert_counts_each_blob_once() {
        let mut index = Index::default();
        assert!(index.insert(Digest::of(b"a"), 10, at(1)));
        assert!(!index.insert(Digest::of(b"a"), 10, at(2)));
        assert!(index.insert(Digest::of(b"b"), 5, at(1)));
        assert_eq!(
            index.usage(),
            Usage {
                blobs: 2,
                bytes: 15
            }
        );
        assert_eq!(index.get(&Digest::of(b"a")).unwrap().last_access, at(1));
    }

    #[test]
    fn leases_block_removal_until_dropped() {
        let shared = SharedIndex::default();
        let d = Digest::of(b"a");
        shared.lock().insert(d, 10, at(1));
        let (first, size) = shared.lease(d, at(5)).unwrap();
        let (second, _) = shared.lease(d, at(3)).unwrap();
        assert_eq!(size, 10);
        assert_eq!(shared.lock().get(&d).unwrap().last_access, at(5));
        assert_eq!(shared.lock().remove_unleased(&d), Err(2));
        drop(first);
        assert_eq!(shared.lock().remove_unleased(&d), Err(1));
        drop(second);
        assert!(shared.lock().remove_unleased(&d).unwrap().is_some());
        assert_eq!(shared.lock().usage(), Usage::default());
        assert!(shared.lease(d, at(6)).is_none());
    }

    #[test]
    fn a_partial_can_be_claimed_once_at_a_time() {
        let shared = SharedIndex::default();
        let d = Digest::of(b"a");
        let claim = shared.claim_partial(d).unwrap();
        assert!(shared.claim_partial(d).is_none());
        assert!(shared.claim_partial(Digest::of(b"b")).is_some());
        drop(claim);
        assert!(shared.claim_partial(d).is_some());
    }
}
