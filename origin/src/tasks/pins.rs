//! Pins: blobs kept from eviction while a task still needs them.
//!
//! The store never evicts or deletes a blob with a live reader, so a pin is simply an
//! open [`BlobReader`] held here. Pins have set semantics (one reader per digest); the
//! caller decides when a digest is no longer needed by asking the queue. The map lock
//! is a leaf and never held across an await: readers are opened before it is taken.

use std::collections::HashMap;
use std::sync::Mutex;

use starling_core::Digest;
use starling_store::{BlobReader, Store};
use tracing::warn;

use crate::error::{Error, Result};

/// Blobs pinned in the store.
pub struct Pins {
    store: Store,
    held: Mutex<HashMap<Digest, BlobReader>>,
}

impl Pins {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            held: Mutex::default(),
        }
    }

    /// Pins `digest`; returns false (and logs) when the blob is not in the store, in
    /// which case the task that needs it will find out when it runs.
    pub async fn pin(&self, digest: &Digest) -> Result<bool> {
        if self.is_pinned(digest) {
            return Ok(true);
        }
        let opened = self.store.open(digest).await;
        let Some(reader) = opened.map_err(Error::store("pin a blob"))? else {
            warn!(%digest, "a pending task refers to a blob that is not in the store");
            return Ok(false);
        };
        // A concurrent pin may have won; the extra reader is simply dropped.
        self.lock().entry(*digest).or_insert(reader);
        Ok(true)
    }

    pub fn unpin(&self, digest: &Digest) {
        self.lock().remove(digest);
    }

    pub fn is_pinned(&self, digest: &Digest) -> bool {
        self.lock().contains_key(digest)
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Digest, BlobReader>> {
        self.held.lock().expect("pin map lock poisoned")
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use starling_store::StoreOptions;

    use super::*;

    #[tokio::test]
    async fn a_pinned_blob_survives_eviction_until_unpinned() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(StoreOptions {
            root: root.path().to_path_buf(),
            idle_ttl: Duration::from_secs(1),
            high_watermark: 0,
            low_watermark: 0,
        })
        .await
        .unwrap();
        let mut upload = store.begin_upload().await.unwrap();
        upload.write(b"precious").await.unwrap();
        let info = upload.commit(&Digest::of(b"precious")).await.unwrap();

        let pins = Pins::new(store.clone());
        assert!(pins.pin(&info.digest).await.unwrap());
        assert!(
            pins.pin(&info.digest).await.unwrap(),
            "pinning twice is fine"
        );
        assert_eq!(pins.len(), 1);
        let far_future = SystemTime::now() + Duration::from_secs(3600);
        let report = store.evict(far_future).await.unwrap();
        assert!(report.evicted.is_empty());
        assert!(store.stat(&info.digest).unwrap().is_some());

        pins.unpin(&info.digest);
        let report = store.evict(far_future).await.unwrap();
        assert_eq!(report.evicted.len(), 1);
        assert!(
            !pins.pin(&info.digest).await.unwrap(),
            "gone blobs cannot be pinned"
        );
        assert!(pins.is_empty());
    }
}
