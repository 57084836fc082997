//! Background work that must survive restarts: writing uploaded blobs back to their
//! namespace's backend, and copying them to the other owners on the ring.
//!
//! Both kinds live in one SQLite queue ([`queue`]) and run on one worker pool
//! ([`runner`]), retried with exponential backoff until they succeed (or, with
//! `max_attempts`, are given up). [`Tasks`] is the handle the rest of the origin uses.
//!
//! Pinning: a blob with a pending task must not be evicted before it has been written
//! back or copied, or it would be lost. The store never evicts a blob that has a live
//! reader (a lease), so [`pins::Pins`] holds one open reader per digest that some
//! pending task references, taken when the task is enqueued (and for every pending task
//! when the origin starts), and dropped when the last task referencing the digest is
//! gone. The cost is two file descriptors per pinned blob.

pub mod pins;
pub mod queue;
pub mod runner;
pub mod work;

use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use starling_config::WritebackConfig;
use starling_core::{Digest, RepoName};
use starling_runtime::Backoff;
use starling_store::{BlobInfo, Store};
use tokio::sync::Notify;
use tracing::{debug, warn};

use crate::backends::BackendLookup;
use crate::error::Result;
use crate::metrics::OriginMetrics;
use pins::Pins;
use queue::{Depth, TaskQueue};
use starling_clients::OriginRing;
use starling_runtime::blocking;

/// A copy that arrived from another origin is written back by that origin; this one
/// writes it back only after this delay, as a safety net should the first origin die
/// first. The task checks the backend before uploading, so normally it finds the blob
/// there and uploads nothing.
pub const REPLICA_WRITEBACK_DELAY: Duration = Duration::from_secs(300);

/// What a task does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TaskKind {
    /// Upload the blob from the store to the namespace's backend.
    Writeback,
    /// Copy the blob to the owner named in the task's `target`.
    Replicate,
}

impl TaskKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Writeback => "writeback",
            Self::Replicate => "replicate",
        }
    }
}

impl FromStr for TaskKind {
    type Err = ();
    fn from_str(s: &str) -> std::result::Result<Self, ()> {
        match s {
            "writeback" => Ok(Self::Writeback),
            "replicate" => Ok(Self::Replicate),
            _ => Err(()),
        }
    }
}

/// A pending task as stored in the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Task {
    pub id: i64,
    pub kind: TaskKind,
    pub namespace: RepoName,
    pub digest: Digest,
    /// The owner to copy to (replication only).
    pub target: Option<String>,
    /// Failed attempts so far.
    pub attempts: u32,
    pub next_attempt_at: SystemTime,
    pub last_error: Option<String>,
}

/// A task to add to the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTask {
    pub kind: TaskKind,
    pub namespace: RepoName,
    pub digest: Digest,
    pub target: Option<String>,
    pub not_before: SystemTime,
}

/// Where a committed upload came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UploadSource {
    /// A client: copy the blob to the other owners, and write it back now.
    Client,
    /// Another origin's replication: neither copy it on nor write it back right away.
    Replica,
}

/// Retry timing, from the `writeback` config section.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    /// Attempts before a task is given up; 0 retries forever.
    pub max_attempts: u32,
}

impl RetryPolicy {
    pub fn from_config(cfg: &WritebackConfig) -> Self {
        Self {
            initial_backoff: cfg.initial_backoff,
            max_backoff: cfg.max_backoff,
            max_attempts: cfg.max_attempts,
        }
    }

    /// The exponential backoff of failed tasks.
    pub fn backoff(&self) -> Backoff {
        Backoff::new(self.initial_backoff, self.max_backoff)
    }

    /// The wait after the `attempts`-th consecutive failure: up to `initial *
    /// 2^(attempts-1)`, capped at `max_backoff`, jittered (see [`Backoff`]).
    pub fn delay(&self, attempts: u32) -> Duration {
        self.backoff().delay(attempts)
    }

    /// Whether a task that has failed `attempts` times should be given up.
    pub fn exhausted(&self, attempts: u32) -> bool {
        self.max_attempts != 0 && attempts >= self.max_attempts
    }
}

/// The task queue, its pins and the wake-up signal of its runner.
pub struct Tasks {
    queue: Arc<TaskQueue>,
    pins: Pins,
    wake: Notify,
    metrics: Arc<OriginMetrics>,
    retry: RetryPolicy,
}

impl Tasks {
    /// Opens the queue at `path` and pins the blobs of every task already pending.
    pub async fn open(
        path: std::path::PathBuf,
        store: Store,
        metrics: Arc<OriginMetrics>,
        retry: RetryPolicy,
    ) -> Result<Self> {
        let queue =
            Arc::new(blocking("open the task queue", move || TaskQueue::open(&path)).await?);
        let tasks = Self {
            queue,
            pins: Pins::new(store),
            wake: Notify::new(),
            metrics,
            retry,
        };
        let pending = tasks.pending().await?;
        for task in &pending {
            tasks.pins.pin(&task.digest).await?;
        }
        tasks.update_depth().await?;
        debug!(pending = pending.len(), "task queue loaded");
        Ok(tasks)
    }

    /// Persists `new` (ignoring tasks already pending), pins their blobs and wakes the
    /// runner.
    pub async fn enqueue(&self, new: Vec<NewTask>) -> Result<()> {
        if new.is_empty() {
            return Ok(());
        }
        let digests: Vec<Digest> = new.iter().map(|t| t.digest).collect();
        let queue = self.queue.clone();
        blocking("enqueue tasks", move || queue.enqueue(&new)).await?;
        for digest in &digests {
            self.pins.pin(digest).await?;
        }
        self.update_depth().await?;
        self.wake.notify_one();
        Ok(())
    }

    /// Every pending task, oldest first.
    pub async fn pending(&self) -> Result<Vec<Task>> {
        let queue = self.queue.clone();
        blocking("list tasks", move || queue.all()).await
    }

    pub fn is_pinned(&self, digest: &Digest) -> bool {
        self.pins.is_pinned(digest)
    }

    pub fn retry_policy(&self) -> RetryPolicy {
        self.retry
    }

    /// Removes a finished or abandoned task and unpins its blob if nothing else needs it.
    pub(crate) async fn finish(&self, task: &Task) -> Result<()> {
        let (queue, id, digest) = (self.queue.clone(), task.id, task.digest);
        let still_needed = blocking("finish a task", move || {
            queue.remove(id)?;
            queue.references(&digest)
        })
        .await?;
        if !still_needed {
            self.pins.unpin(&digest);
        }
        self.update_depth().await
    }

    /// Records a failed attempt; the task runs again at `at`.
    pub(crate) async fn reschedule(
        &self,
        task: &Task,
        attempts: u32,
        at: SystemTime,
        error: String,
    ) -> Result<()> {
        self.metrics.task_retries.increment(1);
        let (queue, id) = (self.queue.clone(), task.id);
        blocking("reschedule a task", move || {
            queue.reschedule(id, attempts, at, &error)
        })
        .await
    }

    pub(crate) fn queue(&self) -> &Arc<TaskQueue> {
        &self.queue
    }

    pub(crate) fn wake(&self) -> &Notify {
        &self.wake
    }

    async fn update_depth(&self) -> Result<()> {
        let queue = self.queue.clone();
        let Depth {
            writeback,
            replicate,
        } = blocking("count tasks", move || queue.depth()).await?;
        self.metrics.writeback_queue_depth.set(writeback as f64);
        self.metrics.replication_queue_depth.set(replicate as f64);
        Ok(())
    }
}

/// Decides, after a commit, which tasks the blob needs.
pub struct Distribution {
    tasks: Arc<Tasks>,
    ring: OriginRing,
    advertise: String,
    backends: Arc<dyn BackendLookup>,
}

impl Distribution {
    pub fn new(
        tasks: Arc<Tasks>,
        ring: OriginRing,
        advertise: String,
        backends: Arc<dyn BackendLookup>,
    ) -> Self {
        Self {
            tasks,
            ring,
            advertise,
            backends,
        }
    }

    /// Queues the write-back (if the namespace has a backend) and, for a client upload,
    /// the copies to the digest's other owners.
    pub async fn committed(
        &self,
        namespace: &RepoName,
        info: &BlobInfo,
        source: UploadSource,
    ) -> Result<()> {
        let now = SystemTime::now();
        let task = |kind, target, not_before| NewTask {
            kind,
            namespace: namespace.clone(),
            digest: info.digest,
            target,
            not_before,
        };
        let mut new = Vec::new();
        if self.backends.backend_for(namespace).is_some() {
            let at = match source {
                UploadSource::Client => now,
                UploadSource::Replica => now + REPLICA_WRITEBACK_DELAY,
            };
            new.push(task(TaskKind::Writeback, None, at));
        }
        if source == UploadSource::Client {
            let others = self.ring.owners(&info.digest).into_iter();
            for owner in others.filter(|owner| *owner != self.advertise) {
                new.push(task(TaskKind::Replicate, Some(owner), now));
            }
        }
        if let Err(e) = self.tasks.enqueue(new).await {
            warn!(digest = %info.digest, error = %e, "cannot queue the blob's write-back or copies");
            return Err(e);
        }
        Ok(())
    }

    pub fn tasks(&self) -> &Arc<Tasks> {
        &self.tasks
    }

    pub fn ring(&self) -> &OriginRing {
        &self.ring
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let policy = RetryPolicy {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(1),
            max_attempts: 0,
        };
        let ceilings: Vec<u64> = (1..=6)
            .map(|n| policy.backoff().ceiling(n).as_millis() as u64)
            .collect();
        assert_eq!(ceilings, [100, 200, 400, 800, 1000, 1000]);
        assert!(policy.delay(1000) <= Duration::from_secs(1), "no overflow");
        assert!(
            policy.delay(3) >= Duration::from_millis(200),
            "at least half"
        );
        assert!(!policy.exhausted(1_000_000), "0 retries forever");
        let limited = RetryPolicy {
            max_attempts: 3,
            ..policy
        };
        assert!(!limited.exhausted(2));
        assert!(limited.exhausted(3));
    }

    #[test]
    fn kinds_round_trip() {
        for kind in [TaskKind::Writeback, TaskKind::Replicate] {
            assert_eq!(kind.as_str().parse::<TaskKind>(), Ok(kind));
        }
        assert!("other".parse::<TaskKind>().is_err());
    }
}
