//! Chunked uploads in progress: a map from [`UploadRef`] to the [`UploadFile`] of one
//! repository, kept between the POST, PATCH and PUT requests of one upload.
//!
//! An upload belongs to the repository that started it; a request naming another one
//! does not see it. Uploads idle longer than the idle timeout are dropped by
//! [`Sessions::reap`], and dropping an [`UploadFile`] deletes its temp file, so an
//! abandoned upload leaves nothing behind.
//!
//! Lock order: the map lock (a std mutex, never held across an await) is taken before
//! a session's lock, and only with `try_lock` while the map lock is held; requests clone
//! the session out of the map, release the map lock, then await the session lock.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use starling_core::RepoName;
use starling_core::registry::UploadRef;
use tokio::sync::OwnedMutexGuard;
use tracing::info;

use crate::error::{Error, Result};
use crate::uploads::file::UploadFile;

/// One upload in progress.
struct Session {
    name: RepoName,
    /// `None` once reaped, finished or cancelled: a request that raced with either
    /// sees the upload as unknown.
    file: Option<UploadFile>,
    last_used: Instant,
}

type SessionMap = HashMap<UploadRef, Arc<tokio::sync::Mutex<Session>>>;

/// The uploads in progress.
pub struct Sessions {
    map: Mutex<SessionMap>,
    idle_timeout: Duration,
}

/// Exclusive use of one upload for the length of a request.
pub struct Checkout {
    id: UploadRef,
    guard: OwnedMutexGuard<Session>,
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

    /// Registers upload `id` of repository `name`.
    pub fn insert(&self, name: RepoName, id: UploadRef, file: UploadFile) {
        let session = Session {
            name,
            file: Some(file),
            last_used: Instant::now(),
        };
        self.lock()
            .insert(id, Arc::new(tokio::sync::Mutex::new(session)));
    }

    /// Takes exclusive use of upload `id`, which must belong to `name`.
    pub async fn checkout(&self, name: &RepoName, id: &UploadRef) -> Result<Checkout> {
        let unknown = || Error::UploadUnknown { id: id.clone() };
        let session = self.lock().get(id).cloned().ok_or_else(unknown)?;
        let mut guard = session.lock_owned().await;
        if guard.name != *name || guard.file.is_none() {
            return Err(unknown());
        }
        guard.last_used = Instant::now();
        Ok(Checkout {
            id: id.clone(),
            guard,
        })
    }

    /// Forgets the upload and hands its file to the caller (to push, or to drop and so
    /// delete).
    pub fn remove(&self, mut checkout: Checkout) -> UploadFile {
        self.lock().remove(&checkout.id);
        checkout
            .guard
            .file
            .take()
            .expect("checkout verified the file is present")
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
            dropped.extend(session.file.take());
            info!(upload = %id, name = %session.name, "idle upload dropped");
            false
        });
        // Temp files are deleted outside the map lock.
        let count = dropped.len();
        drop(dropped);
        count
    }

    /// Drops every upload (at shutdown), deleting the temp files of those not in use.
    pub fn clear(&self) {
        let sessions: Vec<_> = self.lock().drain().collect();
        for (_, session) in sessions {
            if let Ok(mut session) = session.try_lock() {
                session.file.take();
            }
        }
    }

    /// Uploads in progress.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, SessionMap> {
        self.map.lock().expect("upload map lock poisoned")
    }
}

impl Checkout {
    pub fn id(&self) -> &UploadRef {
        &self.id
    }

    pub fn file(&mut self) -> &mut UploadFile {
        self.guard
            .file
            .as_mut()
            .expect("checkout verified the file is present")
    }

    pub fn offset(&self) -> u64 {
        self.guard.file.as_ref().map_or(0, UploadFile::offset)
    }

    /// Restarts the idle timer when a long request ends.
    pub fn touch(&mut self) {
        self.guard.last_used = Instant::now();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(dir: &std::path::Path) -> usize {
        std::fs::read_dir(dir).unwrap().count()
    }

    async fn start(
        dir: &std::path::Path,
        sessions: &Sessions,
        name: &RepoName,
        id: &str,
    ) -> UploadRef {
        let id = UploadRef::parse(id).unwrap();
        let file = UploadFile::create(dir, &id).await.unwrap();
        sessions.insert(name.clone(), id.clone(), file);
        id
    }

    #[tokio::test]
    async fn uploads_belong_to_their_repository() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Sessions::new(Duration::from_secs(60));
        let name = RepoName::parse("team/app").unwrap();
        let id = start(dir.path(), &sessions, &name, "u1").await;
        let other = RepoName::parse("team/other").unwrap();
        assert!(matches!(
            sessions.checkout(&other, &id).await,
            Err(Error::UploadUnknown { .. })
        ));
        let unknown = UploadRef::parse("nope").unwrap();
        assert!(sessions.checkout(&name, &unknown).await.is_err());
        let checkout = sessions.checkout(&name, &id).await.unwrap();
        let file = sessions.remove(checkout);
        assert!(sessions.is_empty());
        assert!(sessions.checkout(&name, &id).await.is_err(), "removed");
        drop(file);
        assert_eq!(files(dir.path()), 0);
    }

    #[tokio::test]
    async fn idle_uploads_are_reaped_and_their_files_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Sessions::new(Duration::from_secs(60));
        let name = RepoName::parse("a").unwrap();
        let idle = start(dir.path(), &sessions, &name, "idle").await;
        let busy = start(dir.path(), &sessions, &name, "busy").await;
        assert_eq!(files(dir.path()), 2);

        let now = Instant::now();
        assert_eq!(sessions.reap(now), 0, "nothing is idle yet");
        let held = sessions.checkout(&name, &busy).await.unwrap();
        let later = Instant::now() + Duration::from_secs(61);
        assert_eq!(sessions.reap(later), 1);
        assert_eq!(files(dir.path()), 1, "the busy upload stays");
        assert!(sessions.checkout(&name, &idle).await.is_err());
        drop(held);
        assert_eq!(sessions.reap(later + Duration::from_secs(61)), 1);
        assert_eq!(files(dir.path()), 0);
        assert!(sessions.is_empty());
    }
}
