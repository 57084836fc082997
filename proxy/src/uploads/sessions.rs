//! Chunked uploads in progress: a map from [`UploadRef`] to the [`UploadFile`] of one
//! repository, kept between the POST, PATCH and PUT requests of one upload.
//!
//! An upload belongs to the repository that started it; a request naming another one
//! does not see it. Uploads idle longer than the idle timeout are dropped by
//! [`Sessions::reap`], and dropping an [`UploadFile`] deletes its temp file, so an
//! abandoned upload leaves nothing behind.
//!
//! Uploads are capped in total and per client IP ([`SessionLimits`]): past either cap a
//! new upload is refused ([`Error::TooManyUploads`]), so one client cannot fill the
//! map or the upload directory. An idle upload holds no file descriptor (its file is
//! opened per request, [`UploadFile`]).
//!
//! Lock order: the map lock (a std mutex, never held across an await) is taken before
//! a session's lock, and only with `try_lock` while the map lock is held; requests clone
//! the session out of the map, release the map lock, then await the session lock.

use std::collections::HashMap;
use std::net::IpAddr;
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
    /// The client that started it, counted against its per-client cap.
    client: Option<IpAddr>,
    /// `None` once reaped, finished or cancelled: a request that raced with either
    /// sees the upload as unknown.
    file: Option<UploadFile>,
    last_used: Instant,
}

/// The uploads in progress and the slots they (and uploads being created) hold.
#[derive(Default)]
struct SessionMap {
    sessions: HashMap<UploadRef, Arc<tokio::sync::Mutex<Session>>>,
    open: usize,
    per_client: HashMap<IpAddr, usize>,
}

impl SessionMap {
    fn release(&mut self, client: Option<IpAddr>) {
        self.open -= 1;
        if let Some(client) = client
            && let Some(count) = self.per_client.get_mut(&client)
        {
            *count -= 1;
            if *count == 0 {
                self.per_client.remove(&client);
            }
        }
    }
}

/// How many uploads may be open at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionLimits {
    pub total: usize,
    pub per_client: usize,
}

/// The uploads in progress.
pub struct Sessions {
    map: Mutex<SessionMap>,
    idle_timeout: Duration,
    limits: SessionLimits,
}

/// Exclusive use of one upload for the length of a request.
pub struct Checkout {
    id: UploadRef,
    guard: OwnedMutexGuard<Session>,
}

impl Sessions {
    pub fn new(idle_timeout: Duration, limits: SessionLimits) -> Self {
        Self {
            map: Mutex::default(),
            idle_timeout,
            limits,
        }
    }

    /// Takes a slot for a new upload from `client`, or refuses past a cap; the slot is
    /// given back by [`Self::release`] if the upload is not inserted, otherwise when
    /// the upload is removed, reaped or cleared.
    pub fn reserve(&self, client: Option<IpAddr>) -> Result<()> {
        let mut map = self.lock();
        if map.open >= self.limits.total {
            return Err(Error::TooManyUploads {
                client,
                limit: self.limits.total,
            });
        }
        if let Some(client) = client {
            let count = map.per_client.entry(client).or_default();
            if *count >= self.limits.per_client {
                return Err(Error::TooManyUploads {
                    client: Some(client),
                    limit: self.limits.per_client,
                });
            }
            *count += 1;
        }
        map.open += 1;
        Ok(())
    }

    /// Gives back a slot [`Self::reserve`] took for an upload that was never inserted.
    pub fn release(&self, client: Option<IpAddr>) {
        self.lock().release(client);
    }

    pub fn idle_timeout(&self) -> Duration {
        self.idle_timeout
    }

    /// Registers upload `id` of repository `name`, started by `client` in the slot
    /// [`Self::reserve`] took.
    pub fn insert(&self, name: RepoName, id: UploadRef, client: Option<IpAddr>, file: UploadFile) {
        let session = Session {
            name,
            client,
            file: Some(file),
            last_used: Instant::now(),
        };
        self.lock()
            .sessions
            .insert(id, Arc::new(tokio::sync::Mutex::new(session)));
    }

    /// Takes exclusive use of upload `id`, which must belong to `name`.
    pub async fn checkout(&self, name: &RepoName, id: &UploadRef) -> Result<Checkout> {
        let unknown = || Error::UploadUnknown { id: id.clone() };
        let session = self.lock().sessions.get(id).cloned().ok_or_else(unknown)?;
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
        let mut map = self.lock();
        if map.sessions.remove(&checkout.id).is_some() {
            map.release(checkout.guard.client);
        }
        drop(map);
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
        let mut released = Vec::new();
        let mut map = self.lock();
        map.sessions.retain(|id, session| {
            let Ok(mut session) = session.try_lock() else {
                return true;
            };
            if now.saturating_duration_since(session.last_used) <= self.idle_timeout {
                return true;
            }
            dropped.extend(session.file.take());
            released.push(session.client);
            info!(upload = %id, name = %session.name, "idle upload dropped");
            false
        });
        for client in released {
            map.release(client);
        }
        drop(map);
        // Temp files are deleted outside the map lock.
        let count = dropped.len();
        drop(dropped);
        count
    }

    /// Drops every upload (at shutdown), deleting the temp files of those not in use.
    pub fn clear(&self) {
        let sessions: Vec<_> = {
            let mut map = self.lock();
            map.open = 0;
            map.per_client.clear();
            map.sessions.drain().collect()
        };
        for (_, session) in sessions {
            if let Ok(mut session) = session.try_lock() {
                session.file.take();
            }
        }
    }

    /// Uploads in progress.
    pub fn len(&self) -> usize {
        self.lock().sessions.len()
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

    const LIMITS: SessionLimits = SessionLimits {
        total: 3,
        per_client: 2,
    };

    #[test]
    fn uploads_are_capped_per_client_and_in_total() {
        let sessions = Sessions::new(Duration::from_secs(60), LIMITS);
        let (a, b) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        sessions.reserve(Some(a)).unwrap();
        sessions.reserve(Some(a)).unwrap();
        assert!(matches!(
            sessions.reserve(Some(a)),
            Err(Error::TooManyUploads { limit: 2, .. })
        ));
        sessions.reserve(Some(b)).unwrap();
        assert!(matches!(
            sessions.reserve(Some(b)),
            Err(Error::TooManyUploads { limit: 3, .. })
        ));
        sessions.release(Some(a));
        sessions.reserve(Some(b)).unwrap();
        assert!(
            sessions.reserve(None).is_err(),
            "the total cap counts everyone"
        );
    }

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
        sessions.reserve(None).unwrap();
        let file = UploadFile::create(dir, &id).await.unwrap();
        sessions.insert(name.clone(), id.clone(), None, file);
        id
    }

    #[tokio::test]
    async fn uploads_belong_to_their_repository() {
        let dir = tempfile::tempdir().unwrap();
        let sessions = Sessions::new(Duration::from_secs(60), LIMITS);
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
        let sessions = Sessions::new(Duration::from_secs(60), LIMITS);
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
