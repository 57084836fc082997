//! Chunked uploads in progress: a map from [`UploadId`] to the store's [`Upload`] (which
//! holds the temp file and the running sha256), kept between the POST, PATCH and PUT
//! requests of one upload.
//!
//! An upload belongs to one (namespace, digest); a request naming another blob does not
//! see it. Uploads idle longer than the idle timeout are dropped by [`Sessions::reap`],
//! and dropping an `Upload` deletes its temp file, so an abandoned upload leaves nothing
//! behind.
//!
//! Lock order: the map lock (a std mutex, never held across an await) is taken before
//! a session's lock, and only with `try_lock` while the map lock is held; requests clone
//! the session out of the map, release the map lock, then await the session lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use starling_core::{Digest, RepoName};
use starling_store::{Upload, UploadId};
use tokio::sync::OwnedMutexGuard;
use tracing::info;

use crate::error::{Error, Result};

/// One upload in progress.
pub struct Session {
    namespace: RepoName,
    digest: Digest,
    /// `None` once reaped or finished: a request that raced with either sees the
    /// upload as unknown.
    upload: Option<Upload>,
    last_used: Instant,
}

/// Exclusive access to one session for the length of a request.
pub struct Checkout {
    id: UploadId,
    guard: OwnedMutexGuard<Session>,
}

/// The uploads in progress.
pub struct Sessions {
    map: Mutex<HashMap<UploadId, Arc<tokio::sync::Mutex<Session>>>>,
    idle_timeout: Duration,
}

impl Sessions {
    pub fn new(idle_timeout: Duration) -> Self {
        Self {
            map: Mutex::default(),
            idle_timeout,
        }
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Registers a new upload for `(namespace, digest)`.
    pub fn insert(&self, namespace: RepoName, digest: Digest, upload: Upload) -> UploadId {
        let id = upload.id();
        let session = Session {
            namespace,
            digest,
            upload: Some(upload),
            last_used: Instant::now(),
        };
        self.lock()
            .insert(id, Arc::new(tokio::sync::Mutex::new(session)));
        id
    }

    /// Takes exclusive use of upload `id`, which must belong to `(namespace, digest)`.
    pub async fn checkout(
        &self,
        id: UploadId,
        namespace: &RepoName,
        digest: &Digest,
    ) -> Result<Checkout> {
        let unknown = || Error::UploadUnknown { id: id.to_string() };
        let session = self.lock().get(&id).cloned().ok_or_else(unknown)?;
        let guard = session.lock_owned().await;
        let belongs = guard.namespace == *namespace && guard.digest == *digest;
        if !belongs || guard.upload.is_none() {
            return Err(unknown());
        }
        Ok(Checkout { id, guard })
    }

    /// Forgets upload `id` and hands its `Upload` to the caller (to commit, or to drop
    /// and so delete).
    pub fn remove(&self, mut checkout: Checkout) -> Option<Upload> {
        self.lock().remove(&checkout.id);
        checkout.guard.upload.take()
    }

    /// Drops uploads idle longer than the idle timeout as of `now`, skipping those in
    /// use by a request. Returns how many were dropped.
    pub fn reap(&self, now: Instant) -> usize {
        let mut dropped = Vec::new();
        self.lock().retain(|id, session| {
            let Ok(mut session) = session.try_lock() else {
                return true;
            };
            if now.saturating_duration_since(session.last_used) <= self.idle_timeout {
                return true;
            }
            dropped.extend(session.upload.take());
            info!(upload = %id, digest = %session.digest, "abandoned upload dropped");
            false
        });
        // Deleting temp files outside the map lock.
        let count = dropped.len();
        drop(dropped);
        count
    }

    /// Uploads in progress.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<UploadId, Arc<tokio::sync::Mutex<Session>>>> {
        self.map.lock().expect("upload map lock poisoned")
    }
}

impl Checkout {
    pub fn id(&self) -> UploadId {
        self.id
    }

    pub fn upload(&mut self) -> &mut Upload {
        self.guard
            .upload
            .as_mut()
            .expect("checkout verified the upload is present")
    }

    /// Marks the session used now, restarting its idle timer.
    pub fn touch(&mut self) {
        self.guard.last_used = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use starling_store::{Store, StoreOptions};

    use super::*;

    async fn store(root: &std::path::Path) -> Store {
        Store::open_root(StoreOptions {
            root: root.to_path_buf(),
            idle_ttl: Duration::from_secs(3600),
            high_watermark: u64::MAX,
            low_watermark: u64::MAX,
        })
        .await
        .unwrap()
    }

    fn tmp_files(root: &std::path::Path) -> usize {
        std::fs::read_dir(root.join("tmp")).unwrap().count()
    }

    #[tokio::test]
    async fn uploads_belong_to_their_blob() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let sessions = Sessions::new(Duration::from_secs(60));
        let (ns, digest) = (RepoName::parse("a/b").unwrap(), Digest::of(b"x"));
        let id = sessions.insert(ns.clone(), digest, store.begin_upload().await.unwrap());

        let mut checkout = sessions.checkout(id, &ns, &digest).await.unwrap();
        checkout.upload().write(b"x").await.unwrap();
        drop(checkout);
        let other = RepoName::parse("a/c").unwrap();
        assert!(sessions.checkout(id, &other, &digest).await.is_err());
        assert!(sessions.checkout(id, &ns, &Digest::of(b"y")).await.is_err());
        assert!(
            sessions
                .checkout(UploadId::generate(), &ns, &digest)
                .await
                .is_err()
        );

        let checkout = sessions.checkout(id, &ns, &digest).await.unwrap();
        let upload = sessions.remove(checkout).unwrap();
        assert_eq!(upload.offset(), 1);
        assert!(sessions.is_empty());
        drop(upload);
        assert_eq!(tmp_files(root.path()), 0);
    }

    #[tokio::test]
    async fn idle_uploads_are_reaped_and_their_files_deleted() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let sessions = Sessions::new(Duration::from_secs(60));
        let (ns, digest) = (RepoName::parse("a").unwrap(), Digest::of(b"x"));
        let idle = sessions.insert(ns.clone(), digest, store.begin_upload().await.unwrap());
        let busy = sessions.insert(ns.clone(), digest, store.begin_upload().await.unwrap());
        assert_eq!(tmp_files(root.path()), 2);

        let now = Instant::now();
        assert_eq!(sessions.reap(now), 0, "nothing is idle yet");
        let held = sessions.checkout(busy, &ns, &digest).await.unwrap();
        assert_eq!(sessions.reap(now + Duration::from_secs(61)), 1);
        assert_eq!(tmp_files(root.path()), 1, "the busy upload stays");
        assert!(sessions.checkout(idle, &ns, &digest).await.is_err());
        drop(held);
        assert_eq!(sessions.reap(now + Duration::from_secs(61)), 1);
        assert_eq!(tmp_files(root.path()), 0);
        assert!(sessions.is_empty());
    }
}
