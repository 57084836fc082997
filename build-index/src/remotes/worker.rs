//! One pass over the due tasks for remote clusters, and one attempt of a task: blobs
//! first, the tag only once every blob is on the remote origins.
//!
//! Up to [`TASKS_AT_ONCE`] tasks run at once, so one slow or unreachable remote does not
//! hold up the others; the blobs of one task are copied one after the other. A pass
//! ends when its batch is done; the next pass reads the queue again.

use std::time::Duration;

use futures::StreamExt;
use tokio::sync::Notify;

use crate::error::{Error, Result};
use crate::metrics::{RemoteBlob, RemoteTask};
use crate::remotes::blobs::needed_blobs;
use crate::remotes::copy::{Copied, copy_blob};
use crate::remotes::{Remote, RemoteReplicator};
use crate::replication::{QueueWorker, next_attempt, wait_for_next};
use crate::store::{Queue, QueuedTask, Schedule, TagUpdate};

/// Tasks attempted per pass.
const BATCH: usize = 64;

/// Tasks attempted at the same time.
pub const TASKS_AT_ONCE: usize = 4;

impl QueueWorker for RemoteReplicator {
    const NAME: &'static str = "remotes";

    async fn pass(&self) -> Result<Duration> {
        let due = self.db.due(Queue::Remotes, self.clock.now(), BATCH).await?;
        let full = due.len() == BATCH;
        let attempts: Vec<Result<()>> = futures::stream::iter(due)
            .map(|task| self.attempt(task))
            .buffer_unordered(TASKS_AT_ONCE)
            .collect()
            .await;
        attempts.into_iter().collect::<Result<()>>()?;
        if full {
            return Ok(Duration::ZERO);
        }
        wait_for_next(&self.db, Queue::Remotes, &self.clock).await
    }

    fn woken(&self) -> &Notify {
        &self.wake
    }

    fn error_wait(&self) -> Duration {
        self.retry.initial_backoff
    }
}

impl RemoteReplicator {
    /// Attempts `task` and records the outcome; fails only when the database does.
    async fn attempt(&self, task: QueuedTask) -> Result<()> {
        let QueuedTask { target, update, .. } = &task;
        let Some(remote) = self.remote(target, update) else {
            tracing::info!(remote = target, repo = %update.repo, "remote no longer configured for the repository; dropping its task");
            self.metrics.remote_task(RemoteTask::Dropped);
            return self.db.remove_task(&task).await;
        };
        let error = match self.deliver(remote, update).await {
            Ok(blobs) => {
                tracing::info!(remote = target, repo = %update.repo, tag = %update.tag, digest = %update.digest, blobs, attempts = task.attempts, "tag replicated to the remote cluster");
                self.metrics.remote_task(RemoteTask::Delivered);
                return self.db.remove_task(&task).await;
            }
            Err(error) => error,
        };
        let attempts = task.attempts.saturating_add(1);
        let next_at = next_attempt(&self.retry, attempts, self.clock.now());
        match next_at.filter(|_| !is_permanent(&error)) {
            Some(next_at) => {
                tracing::warn!(remote = target, repo = %update.repo, tag = %update.tag, %error, attempts, "replication to the remote cluster failed; will retry");
                self.metrics.remote_task(RemoteTask::Failed);
                let schedule = Schedule::failed(attempts, next_at, &error);
                self.db.reschedule(&task, schedule).await
            }
            None => {
                tracing::error!(remote = target, repo = %update.repo, tag = %update.tag, %error, attempts, "replication to the remote cluster given up");
                self.metrics.remote_task(RemoteTask::GivenUp);
                self.db.remove_task(&task).await
            }
        }
    }

    /// Puts every blob of the tag on the remote origins, then the tag on the remote
    /// build-index; returns the number of blobs.
    async fn deliver(&self, remote: &Remote, update: &TagUpdate) -> Result<usize> {
        let blobs = needed_blobs(&self.local, &update.repo, &update.digest).await?;
        // In dependency order, stopping at the first failure: the remote never holds
        // a manifest without its blobs. What was copied stays there and is skipped by
        // the next attempt.
        for digest in &blobs {
            match copy_blob(&self.local, &remote.origins, &update.repo, digest).await? {
                Copied::Present => self.metrics.remote_blob(RemoteBlob::Present, 0),
                Copied::Streamed(bytes) => self.metrics.remote_blob(RemoteBlob::Copied, bytes),
            }
        }
        remote
            .index
            .put_from_cluster(update, &self.advertise)
            .await?;
        Ok(blobs.len())
    }
}

/// Failures that a retry cannot fix: a manifest that cannot be followed (its content
/// never changes) and a remote build-index that refuses the tag (4xx).
fn is_permanent(error: &Error) -> bool {
    match error {
        Error::Manifest { .. } => true,
        Error::Status { status, .. } => (400..500).contains(status),
        _ => false,
    }
}
