//! The `replication` table: forwards of tag updates to replicas that failed and must be
//! retried, persisted so that a restart does not lose them.
//!
//! At most one row per `(target, repo, tag)`: enqueuing a newer update of a queued tag
//! replaces it (an older one is ignored), since only the newest value matters to the
//! receiver. Completion and rescheduling name the `updated_at` they attempted, so a row
//! replaced meanwhile by a newer update is left for its own attempt.

use rusqlite::{OptionalExtension, params};
use starling_core::{Digest, RepoName, Tag};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::{Db, TagUpdate};

/// One queued forward.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedForward {
    pub id: i64,
    /// The replica's `host:port`.
    pub target: String,
    pub update: TagUpdate,
    /// Failed attempts so far, at least 1.
    pub attempts: u32,
}

type Row = (i64, String, String, String, String, i64, u32);

impl Db {
    /// Queues `update` for `target` after a first failed attempt; retried at `next_at`.
    pub async fn enqueue_forward(
        &self,
        target: &str,
        update: &TagUpdate,
        next_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        let (target, u, error) = (target.to_owned(), update.clone(), error.to_owned());
        self.call("queue a forward", move |conn| {
            conn.execute(
                "INSERT INTO replication
                    (target, repo, tag, digest, updated_at, attempts, next_attempt_at, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, 1, ?6, ?7)
                 ON CONFLICT (target, repo, tag) DO UPDATE SET
                    digest = excluded.digest, updated_at = excluded.updated_at, attempts = 1,
                    next_attempt_at = excluded.next_attempt_at, last_error = excluded.last_error
                 WHERE excluded.updated_at >= replication.updated_at",
                params![
                    target,
                    u.repo.as_str(),
                    u.tag.as_str(),
                    u.digest.to_string(),
                    u.updated_at.0,
                    next_at.0,
                    error
                ],
            )
        })
        .await?;
        Ok(())
    }

    /// Up to `limit` forwards whose next attempt is due at `now`, oldest due first.
    pub async fn due_forwards(&self, now: Timestamp, limit: usize) -> Result<Vec<QueuedForward>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows: Vec<Row> = self
            .call("read due forwards", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT id, target, repo, tag, digest, updated_at, attempts FROM replication
                     WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![now.0, limit], |row| {
                    Ok((
                        row.get(0)?,
                        row.get(1)?,
                        row.get(2)?,
                        row.get(3)?,
                        row.get(4)?,
                        row.get(5)?,
                        row.get(6)?,
                    ))
                })?;
                rows.collect()
            })
            .await?;
        rows.into_iter().map(parse_row).collect()
    }

    /// When the earliest queued forward is due; `None` when the queue is empty.
    pub async fn next_forward_due(&self) -> Result<Option<Timestamp>> {
        let next: Option<i64> = self
            .call("read the next due forward", |conn| {
                conn.query_row("SELECT MIN(next_attempt_at) FROM replication", [], |row| {
                    row.get(0)
                })
                .optional()
                .map(Option::flatten)
            })
            .await?;
        Ok(next.map(Timestamp))
    }

    /// Removes a forward that succeeded (or was given up), unless a newer update
    /// replaced it since it was read.
    pub async fn remove_forward(&self, forward: &QueuedForward) -> Result<()> {
        let (id, stamp) = (forward.id, forward.update.updated_at.0);
        self.call("remove a forward", move |conn| {
            conn.execute(
                "DELETE FROM replication WHERE id = ?1 AND updated_at = ?2",
                params![id, stamp],
            )
        })
        .await?;
        Ok(())
    }

    /// Records a failed retry: `attempts` so far, the next attempt at `next_at`.
    pub async fn reschedule_forward(
        &self,
        forward: &QueuedForward,
        attempts: u32,
        next_at: Timestamp,
        error: &str,
    ) -> Result<()> {
        let (id, stamp, error) = (forward.id, forward.update.updated_at.0, error.to_owned());
        self.call("reschedule a forward", move |conn| {
            conn.execute(
                "UPDATE replication SET attempts = ?3, next_attempt_at = ?4, last_error = ?5
                 WHERE id = ?1 AND updated_at = ?2",
                params![id, stamp, attempts, next_at.0, error],
            )
        })
        .await?;
        Ok(())
    }

    /// The number of queued forwards.
    pub async fn queued_forwards(&self) -> Result<u64> {
        self.call("count forwards", |conn| {
            conn.query_row("SELECT COUNT(*) FROM replication", [], |row| row.get(0))
        })
        .await
    }
}

fn parse_row((id, target, repo, tag, digest, updated_at, attempts): Row) -> Result<QueuedForward> {
    let corrupt = |e: starling_core::Error| Error::Corrupt {
        what: format!("replication task {id}"),
        reason: e.to_string(),
    };
    Ok(QueuedForward {
        id,
        target,
        update: TagUpdate {
            repo: RepoName::parse(&repo).map_err(corrupt)?,
            tag: Tag::parse(&tag).map_err(corrupt)?,
            digest: Digest::parse(&digest).map_err(corrupt)?,
            updated_at: Timestamp(updated_at),
        },
        attempts,
    })
}
