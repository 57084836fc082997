//! The persistent task queue: one SQLite table of pending write-backs and replications.
//!
//! ```sql
//! tasks(id, kind, namespace, digest, target, attempts, next_attempt_at, last_error)
//! UNIQUE (kind, namespace, digest, target)
//! ```
//!
//! `target` is the owner to copy to for a replication and `''` for a write-back;
//! `next_attempt_at` is Unix milliseconds. A row exists exactly while the task is
//! pending: it is deleted when the task succeeds or is given up. Enqueueing a task
//! that is already pending is a no-op (its backoff is kept). The database runs in WAL
//! mode with `synchronous=FULL`, so an acknowledged enqueue survives a crash.
//!
//! All methods are blocking; async callers run them through `blocking`.

use std::path::Path;
use std::str::FromStr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rusqlite::{Connection, OptionalExtension, params};
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};
use crate::tasks::{NewTask, Task, TaskKind};

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS tasks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    namespace TEXT NOT NULL,
    digest TEXT NOT NULL,
    target TEXT NOT NULL DEFAULT '',
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    last_error TEXT,
    UNIQUE (kind, namespace, digest, target)
);
CREATE INDEX IF NOT EXISTS tasks_due ON tasks (next_attempt_at);
";

const COLUMNS: &str = "id, kind, namespace, digest, target, attempts, next_attempt_at, last_error";

/// Pending tasks by kind.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Depth {
    pub writeback: u64,
    pub replicate: u64,
}

/// The SQLite queue file.
pub struct TaskQueue {
    conn: Mutex<Connection>,
}

impl TaskQueue {
    /// Opens (creating if needed) the queue at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)
                .map_err(Error::io("create the queue directory", dir.to_path_buf()))?;
        }
        let conn = Connection::open(path).map_err(Error::queue("open the database"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(Error::queue("enable WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(Error::queue("set synchronous"))?;
        conn.busy_timeout(Duration::from_secs(5))
            .map_err(Error::queue("set the busy timeout"))?;
        conn.execute_batch(SCHEMA)
            .map_err(Error::queue("create the schema"))?;
        Ok(Self {
            conn: Mutex::new(conn),
        })
    }

    /// Adds `tasks` in one transaction; returns how many were new.
    pub fn enqueue(&self, tasks: &[NewTask]) -> Result<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction().map_err(Error::queue("begin"))?;
        let mut added = 0;
        {
            let mut insert = tx
                .prepare_cached(
                    "INSERT OR IGNORE INTO tasks (kind, namespace, digest, target, next_attempt_at)
                     VALUES (?1, ?2, ?3, ?4, ?5)",
                )
                .map_err(Error::queue("prepare an insert"))?;
            for task in tasks {
                added += insert
                    .execute(params![
                        task.kind.as_str(),
                        task.namespace.as_str(),
                        task.digest.to_string(),
                        task.target.as_deref().unwrap_or(""),
                        millis(task.not_before),
                    ])
                    .map_err(Error::queue("insert a task"))?;
            }
        }
        tx.commit().map_err(Error::queue("commit an enqueue"))?;
        Ok(added)
    }

    /// Up to `limit` tasks due at `now`, soonest first, leaving out the ids in `skip`
    /// (tasks already running).
    pub fn due(&self, now: SystemTime, limit: usize, skip: &[i64]) -> Result<Vec<Task>> {
        let conn = self.lock();
        let mut select = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM tasks WHERE next_attempt_at <= ?1
                 ORDER BY next_attempt_at, id LIMIT ?2"
            ))
            .map_err(Error::queue("prepare a due query"))?;
        let rows = select
            .query_map(
                params![millis(now), (limit + skip.len()) as i64],
                row_to_task,
            )
            .map_err(Error::queue("query due tasks"))?;
        let mut due = Vec::new();
        for row in rows {
            let task = row.map_err(Error::queue("read a task"))??;
            if !skip.contains(&task.id) && due.len() < limit {
                due.push(task);
            }
        }
        Ok(due)
    }

    /// When the soonest task not in `skip` is due, if any is pending.
    pub fn next_due(&self, skip: &[i64]) -> Result<Option<SystemTime>> {
        let conn = self.lock();
        let mut select = conn
            .prepare_cached("SELECT id, next_attempt_at FROM tasks ORDER BY next_attempt_at, id")
            .map_err(Error::queue("prepare a next-due query"))?;
        let mut rows = select.query([]).map_err(Error::queue("query next due"))?;
        while let Some(row) = rows.next().map_err(Error::queue("read next due"))? {
            let id: i64 = row.get(0).map_err(Error::queue("read an id"))?;
            if !skip.contains(&id) {
                let at: i64 = row.get(1).map_err(Error::queue("read a due time"))?;
                return Ok(Some(from_millis(at)));
            }
        }
        Ok(None)
    }

    /// Removes a finished (or abandoned) task.
    pub fn remove(&self, id: i64) -> Result<()> {
        self.lock()
            .execute("DELETE FROM tasks WHERE id = ?1", [id])
            .map_err(Error::queue("delete a task"))?;
        Ok(())
    }

    /// Records a failed attempt and when to try again.
    pub fn reschedule(&self, id: i64, attempts: u32, at: SystemTime, error: &str) -> Result<()> {
        self.lock()
            .execute(
                "UPDATE tasks SET attempts = ?2, next_attempt_at = ?3, last_error = ?4 WHERE id = ?1",
                params![id, attempts, millis(at), error],
            )
            .map_err(Error::queue("reschedule a task"))?;
        Ok(())
    }

    /// Every pending task, oldest first.
    pub fn all(&self) -> Result<Vec<Task>> {
        let conn = self.lock();
        let mut select = conn
            .prepare_cached(&format!("SELECT {COLUMNS} FROM tasks ORDER BY id"))
            .map_err(Error::queue("prepare a listing"))?;
        let rows = select
            .query_map([], row_to_task)
            .map_err(Error::queue("list tasks"))?;
        rows.map(|row| row.map_err(Error::queue("read a task"))?)
            .collect()
    }

    /// The task with this id, if still pending.
    pub fn get(&self, id: i64) -> Result<Option<Task>> {
        let conn = self.lock();
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM tasks WHERE id = ?1"),
            [id],
            row_to_task,
        )
        .optional()
        .map_err(Error::queue("read a task"))?
        .transpose()
    }

    /// Whether any pending task refers to `digest`.
    pub fn references(&self, digest: &Digest) -> Result<bool> {
        self.lock()
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM tasks WHERE digest = ?1)",
                [digest.to_string()],
                |row| row.get(0),
            )
            .map_err(Error::queue("look up a digest"))
    }

    pub fn depth(&self) -> Result<Depth> {
        let conn = self.lock();
        let mut select = conn
            .prepare_cached("SELECT kind, COUNT(*) FROM tasks GROUP BY kind")
            .map_err(Error::queue("prepare a count"))?;
        let rows = select
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, i64>(1)?))
            })
            .map_err(Error::queue("count tasks"))?;
        let mut depth = Depth::default();
        for row in rows {
            let (kind, count) = row.map_err(Error::queue("read a count"))?;
            match TaskKind::from_str(&kind) {
                Ok(TaskKind::Writeback) => depth.writeback = count as u64,
                Ok(TaskKind::Replicate) => depth.replicate = count as u64,
                Err(_) => {}
            }
        }
        Ok(depth)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().expect("queue connection lock poisoned")
    }
}

/// Decodes a row; the inner `Result` reports a row that does not parse (a corrupted or
/// hand-edited database) without failing the SQLite iteration itself.
fn row_to_task(row: &rusqlite::Row<'_>) -> rusqlite::Result<Result<Task>> {
    let id: i64 = row.get(0)?;
    let kind: String = row.get(1)?;
    let namespace: String = row.get(2)?;
    let digest: String = row.get(3)?;
    let target: String = row.get(4)?;
    let attempts: u32 = row.get(5)?;
    let at: i64 = row.get(6)?;
    let last_error: Option<String> = row.get(7)?;
    let corrupt =
        |what: &str| Error::Config(format!("task {id} in the queue has an invalid {what}"));
    let parsed = (|| {
        Ok(Task {
            id,
            kind: TaskKind::from_str(&kind).map_err(|()| corrupt("kind"))?,
            namespace: RepoName::parse(&namespace).map_err(|_| corrupt("namespace"))?,
            digest: Digest::parse(&digest).map_err(|_| corrupt("digest"))?,
            target: (!target.is_empty()).then_some(target),
            attempts,
            next_attempt_at: from_millis(at),
            last_error,
        })
    })();
    Ok(parsed)
}

fn millis(at: SystemTime) -> i64 {
    at.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis().min(i64::MAX as u128) as i64)
}

fn from_millis(at: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_millis(at.max(0) as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn task(kind: TaskKind, data: &[u8], target: Option<&str>, at: SystemTime) -> NewTask {
        NewTask {
            kind,
            namespace: RepoName::parse("team/app").unwrap(),
            digest: Digest::of(data),
            target: target.map(str::to_owned),
            not_before: at,
        }
    }

    #[test]
    fn tasks_survive_reopening_and_duplicates_are_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("q/writeback.db");
        let now = SystemTime::now();
        {
            let queue = TaskQueue::open(&path).unwrap();
            let tasks = [
                task(TaskKind::Writeback, b"a", None, now),
                task(TaskKind::Replicate, b"a", Some("h1:1"), now),
                task(TaskKind::Replicate, b"a", Some("h2:1"), now),
            ];
            assert_eq!(queue.enqueue(&tasks).unwrap(), 3);
            assert_eq!(queue.enqueue(&tasks[..1]).unwrap(), 0, "already pending");
        }
        let queue = TaskQueue::open(&path).unwrap();
        let all = queue.all().unwrap();
        assert_eq!(all.len(), 3);
        assert_eq!(all[0].kind, TaskKind::Writeback);
        assert_eq!(all[0].digest, Digest::of(b"a"));
        assert_eq!(all[1].target.as_deref(), Some("h1:1"));
        assert_eq!(
            queue.depth().unwrap(),
            Depth {
                writeback: 1,
                replicate: 2
            }
        );
    }

    #[test]
    fn due_respects_time_order_limits_and_skips() {
        let dir = tempfile::tempdir().unwrap();
        let queue = TaskQueue::open(&dir.path().join("q.db")).unwrap();
        let now = SystemTime::now();
        let later = now + Duration::from_secs(60);
        queue
            .enqueue(&[
                task(TaskKind::Writeback, b"late", None, later),
                task(
                    TaskKind::Writeback,
                    b"b",
                    None,
                    now - Duration::from_secs(1),
                ),
                task(TaskKind::Writeback, b"c", None, now),
            ])
            .unwrap();
        let due = queue.due(now, 10, &[]).unwrap();
        let digests: Vec<_> = due.iter().map(|t| t.digest).collect();
        assert_eq!(digests, [Digest::of(b"b"), Digest::of(b"c")]);
        assert_eq!(queue.due(now, 1, &[]).unwrap().len(), 1);
        let skipped = queue.due(now, 10, &[due[0].id]).unwrap();
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].digest, Digest::of(b"c"));

        let first = queue.next_due(&[]).unwrap().unwrap();
        assert!(first < now);
        let next = queue.next_due(&[due[0].id, due[1].id]).unwrap().unwrap();
        assert_eq!(millis(next), millis(later));

        queue
            .reschedule(due[0].id, 1, later, "backend down")
            .unwrap();
        let again = queue.get(due[0].id).unwrap().unwrap();
        assert_eq!(
            (again.attempts, again.last_error.as_deref()),
            (1, Some("backend down"))
        );
        assert_eq!(queue.due(now, 10, &[]).unwrap().len(), 1);
        queue.remove(due[1].id).unwrap();
        assert!(queue.get(due[1].id).unwrap().is_none());
        assert!(!queue.references(&Digest::of(b"c")).unwrap());
        assert!(queue.references(&Digest::of(b"b")).unwrap());
        assert_eq!(queue.depth().unwrap().writeback, 2);
    }
}
