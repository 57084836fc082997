//! The two persistent task queues: `replication` (forwards of tag updates to the other
//! replicas of this cluster that failed and must be retried) and `remote_replication`
//! (tags waiting to be sent to remote clusters), so that a restart loses neither.
//!
//! Both tables have the same shape and rules. At most one row per `(target, repo, tag)`:
//! enqueuing a newer update of a queued tag replaces it (an older one is ignored), since
//! only the newest value matters to the receiver. Completion and rescheduling name the
//! `updated_at` they attempted, so a row replaced meanwhile by a newer update is left
//! for its own attempt.

use rusqlite::{OptionalExtension, params};
use starling_core::{Digest, RepoName, Tag};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::{Db, TagUpdate};

/// Which queue a task is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Queue {
    /// Forwards to replicas of this cluster; the target is the replica's `host:port`.
    Replicas,
    /// Tags for remote clusters; the target is the remote build-index's URL.
    Remotes,
}

impl Queue {
    fn table(self) -> &'static str {
        match self {
            Self::Replicas => "replication",
            Self::Remotes => "remote_replication",
        }
    }
}

/// One queued task.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedTask {
    pub id: i64,
    pub queue: Queue,
    /// Who receives the update (see [`Queue`]).
    pub target: String,
    pub update: TagUpdate,
    /// Failed attempts so far.
    pub attempts: u32,
}

/// When a task is attempted next, and why the last attempt failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    /// Failed attempts so far.
    pub attempts: u32,
    pub next_at: Timestamp,
    pub last_error: Option<String>,
}

impl Schedule {
    /// A task not attempted yet, due at `now`.
    pub fn new(now: Timestamp) -> Self {
        Self {
            attempts: 0,
            next_at: now,
            last_error: None,
        }
    }

    /// After `attempts` failed attempts, the last with `error`.
    pub fn failed(attempts: u32, next_at: Timestamp, error: &impl ToString) -> Self {
        Self {
            attempts,
            next_at,
            last_error: Some(error.to_string()),
        }
    }
}

type Row = (i64, String, String, String, String, i64, u32);

impl Db {
    /// Queues `update` for `target` in `queue` as `schedule` says.
    pub async fn enqueue(
        &self,
        queue: Queue,
        target: &str,
        update: &TagUpdate,
        schedule: Schedule,
    ) -> Result<()> {
        let (target, u) = (target.to_owned(), update.clone());
        let sql = format!(
            "INSERT INTO {table}
                (target, repo, tag, digest, updated_at, attempts, next_attempt_at, last_error)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT (target, repo, tag) DO UPDATE SET
                digest = excluded.digest, updated_at = excluded.updated_at,
                attempts = excluded.attempts, next_attempt_at = excluded.next_attempt_at,
                last_error = excluded.last_error
             WHERE excluded.updated_at >= {table}.updated_at",
            table = queue.table()
        );
        self.call("queue a task", move |conn| {
            conn.execute(
                &sql,
                params![
                    target,
                    u.repo.as_str(),
                    u.tag.as_str(),
                    u.digest.to_string(),
                    u.updated_at.0,
                    schedule.attempts,
                    schedule.next_at.0,
                    schedule.last_error
                ],
            )
        })
        .await?;
        Ok(())
    }

    /// Up to `limit` tasks of `queue` whose next attempt is due at `now`, oldest due
    /// first.
    pub async fn due(&self, queue: Queue, now: Timestamp, limit: usize) -> Result<Vec<QueuedTask>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let sql = format!(
            "SELECT id, target, repo, tag, digest, updated_at, attempts FROM {}
             WHERE next_attempt_at <= ?1 ORDER BY next_attempt_at, id LIMIT ?2",
            queue.table()
        );
        let rows: Vec<Row> = self
            .call("read due tasks", move |conn| {
                let mut stmt = conn.prepare_cached(&sql)?;
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
        rows.into_iter().map(|row| parse_row(queue, row)).collect()
    }

    /// When the earliest task of `queue` is due; `None` when the queue is empty.
    pub async fn next_due(&self, queue: Queue) -> Result<Option<Timestamp>> {
        let sql = format!("SELECT MIN(next_attempt_at) FROM {}", queue.table());
        let next: Option<i64> = self
            .call("read the next due task", move |conn| {
                conn.query_row(&sql, [], |row| row.get(0))
                    .optional()
                    .map(Option::flatten)
            })
            .await?;
        Ok(next.map(Timestamp))
    }

    /// Removes a task that succeeded (or was given up), unless a newer update replaced
    /// it since it was read.
    pub async fn remove_task(&self, task: &QueuedTask) -> Result<()> {
        let (id, stamp) = (task.id, task.update.updated_at.0);
        let sql = format!(
            "DELETE FROM {} WHERE id = ?1 AND updated_at = ?2",
            task.queue.table()
        );
        self.call("remove a task", move |conn| {
            conn.execute(&sql, params![id, stamp])
        })
        .await?;
        Ok(())
    }

    /// Records a failed attempt of `task`, unless a newer update replaced it since it
    /// was read.
    pub async fn reschedule(&self, task: &QueuedTask, schedule: Schedule) -> Result<()> {
        let (id, stamp) = (task.id, task.update.updated_at.0);
        let sql = format!(
            "UPDATE {} SET attempts = ?3, next_attempt_at = ?4, last_error = ?5
             WHERE id = ?1 AND updated_at = ?2",
            task.queue.table()
        );
        self.call("reschedule a task", move |conn| {
            conn.execute(
                &sql,
                params![
                    id,
                    stamp,
                    schedule.attempts,
                    schedule.next_at.0,
                    schedule.last_error
                ],
            )
        })
        .await?;
        Ok(())
    }

    /// The number of tasks in `queue`.
    pub async fn queued(&self, queue: Queue) -> Result<u64> {
        let sql = format!("SELECT COUNT(*) FROM {}", queue.table());
        let count: i64 = self
            .call("count tasks", move |conn| {
                conn.query_row(&sql, [], |row| row.get(0))
            })
            .await?;
        Ok(count.unsigned_abs())
    }
}

fn parse_row(
    queue: Queue,
    (id, target, repo, tag, digest, updated_at, attempts): Row,
) -> Result<QueuedTask> {
    let corrupt = |e: starling_core::Error| Error::Corrupt {
        what: format!("{} task {id}", queue.table()),
        reason: e.to_string(),
    };
    Ok(QueuedTask {
        id,
        queue,
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
