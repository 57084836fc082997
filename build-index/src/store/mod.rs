//! The build-index's SQLite database: the `tags` table (the local source of truth), the
//! `replication` table (forwards to other replicas that still have to succeed), the
//! `remote_replication` table (tags still to be sent to remote clusters) and the
//! `referrers` table (manifests pushed with a `subject`, for the referrers API).
//!
//! One connection behind a mutex, used from `spawn_blocking`: every statement is a
//! single-row write or a small indexed read, so a pool would only add lock contention
//! inside SQLite. The mutex is never held across an `.await`. WAL mode keeps a crash
//! between two statements from losing committed rows.
//!
//! Tag operations are in [`tags`] (the change feed in [`changes`]), queue operations in
//! [`queue`], referrers in [`referrers`].

pub mod changes;
pub mod queue;
pub mod referrers;
pub mod tags;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use rusqlite::Connection;

use crate::error::{Error, Result};

pub use queue::{Queue, QueuedTask, Schedule};
pub use tags::{Source, Supersedes, TagEntry, TagUpdate};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tags (
    repo       TEXT    NOT NULL,
    tag        TEXT    NOT NULL,
    digest     TEXT    NOT NULL,
    -- Unix ms. A push: its last-writer-wins stamp. A read-through copy: when it was read.
    updated_at INTEGER NOT NULL,
    source     TEXT    NOT NULL CHECK (source IN ('push', 'backend')),
    PRIMARY KEY (repo, tag)
) WITHOUT ROWID;
-- The change feed (`GET /changes`): pushes by stamp.
CREATE INDEX IF NOT EXISTS tags_updated_at ON tags (updated_at);

CREATE TABLE IF NOT EXISTS replication (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    target          TEXT    NOT NULL,
    repo            TEXT    NOT NULL,
    tag             TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    -- A newer put of the same tag replaces the queued one: the queue never grows past
    -- one row per tag and replica.
    UNIQUE (target, repo, tag)
);
CREATE INDEX IF NOT EXISTS replication_due ON replication (next_attempt_at);
-- Same shape as `replication`; `target` is the remote build-index's URL and `attempts`
-- starts at 0, since a task is queued before its first attempt.
CREATE TABLE IF NOT EXISTS remote_replication (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    target          TEXT    NOT NULL,
    repo            TEXT    NOT NULL,
    tag             TEXT    NOT NULL,
    digest          TEXT    NOT NULL,
    updated_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    last_error      TEXT,
    UNIQUE (target, repo, tag)
);
CREATE INDEX IF NOT EXISTS remote_replication_due ON remote_replication (next_attempt_at);
-- One row per referrer of a subject; rows are only ever added (a manifest's subject
-- never changes), so replicas converge by union.
CREATE TABLE IF NOT EXISTS referrers (
    repo       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    digest     TEXT NOT NULL,
    -- The referrer's descriptor as the referrers API lists it (JSON).
    descriptor TEXT NOT NULL,
    PRIMARY KEY (repo, subject, digest)
) WITHOUT ROWID;
";

/// The open database; cheap to clone.
#[derive(Clone)]
pub struct Db {
    conn: Arc<Mutex<Connection>>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Db")
    }
}

impl Db {
    /// Opens (creating if needed, with its parent directory) the database at `path`.
    pub async fn open(path: &Path) -> Result<Self> {
        let path = path.to_owned();
        let conn = tokio::task::spawn_blocking(move || open_blocking(&path))
            .await
            .map_err(Error::DatabaseTask)??;
        Ok(Self {
            conn: Arc::new(Mutex::new(conn)),
        })
    }

    /// Runs `f` on the connection in a blocking thread.
    pub(crate) async fn call<T, F>(&self, action: &'static str, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> rusqlite::Result<T> + Send + 'static,
    {
        let conn = self.conn.clone();
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock cannot leave a half-applied statement:
            // SQLite rolls back, so the connection is still usable.
            let mut conn = conn.lock().unwrap_or_else(PoisonError::into_inner);
            f(&mut conn).map_err(Error::db(action))
        })
        .await
        .map_err(Error::DatabaseTask)?
    }

    /// True when the database answers a trivial query (for readiness).
    pub async fn ping(&self) -> bool {
        self.call("ping", |conn| conn.query_row("SELECT 1", [], |_| Ok(())))
            .await
            .is_ok()
    }
}

fn open_blocking(path: &Path) -> Result<Connection> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| Error::CreateDir {
            path: parent.to_owned(),
            source,
        })?;
    }
    let conn = Connection::open(path).map_err(Error::db("open"))?;
    conn.pragma_update(None, "journal_mode", "WAL")
        .map_err(Error::db("enable WAL"))?;
    conn.execute_batch(SCHEMA)
        .map_err(Error::db("create the schema"))?;
    Ok(conn)
}

#[cfg(test)]
mod tests;
