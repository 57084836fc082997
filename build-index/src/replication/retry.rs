//! The retry loop shared by the persistent queues: forwards to replicas (here) and
//! tags for remote clusters ([`crate::remotes`]).
//!
//! Each pass attempts the due tasks (oldest first, a batch at a time), then sleeps until
//! the next one is due, until a new task is queued, or until shutdown. A database
//! failure is logged and retried after `initial_backoff`; it never ends the loop,
//! because a dead loop would silently stop replication. Shutdown may interrupt an
//! attempt: its row stays queued and is retried after the restart.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use starling_config::RetryConfig;
use starling_runtime::Backoff;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::error::Result;
use crate::metrics::Forward;
use crate::replication::{IDLE_WAIT, Replicator, next_attempt};
use crate::store::{Db, Queue, QueuedTask, Schedule};

/// Forwards attempted per pass.
const BATCH: usize = 64;

/// A persistent queue that [`retry_loop`] works through.
pub trait QueueWorker: Send + Sync + 'static {
    /// The queue's name in logs.
    const NAME: &'static str;

    /// Attempts the due tasks; returns how long to wait before the next pass.
    fn pass(&self) -> impl Future<Output = Result<Duration>> + Send;

    /// Notified when a task is queued, so the loop re-reads the next due time.
    fn woken(&self) -> &Notify;

    /// The wait after a pass failed.
    fn error_wait(&self) -> Duration;
}

/// The exponential backoff of `retry`: `initial_backoff` doubled per further failure,
/// capped at `max_backoff`; [`Backoff::delay`] jitters each wait.
pub fn backoff(retry: &RetryConfig) -> Backoff {
    Backoff::new(retry.initial_backoff, retry.max_backoff)
}

/// Runs `worker`'s passes until `shutdown` fires.
pub async fn retry_loop<W: QueueWorker>(worker: Arc<W>, shutdown: CancellationToken) -> Result<()> {
    loop {
        let wait = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            pass = worker.pass() => pass.unwrap_or_else(|error| {
                tracing::error!(queue = W::NAME, %error, "replication queue failed; trying again");
                worker.error_wait()
            }),
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = worker.woken().notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// How long to sleep until the next task of `queue` is due (at most [`IDLE_WAIT`]).
pub async fn wait_for_next(db: &Db, queue: Queue, clock: &Clock) -> Result<Duration> {
    let now = clock.now();
    Ok(match db.next_due(queue).await? {
        Some(next) => next.since(now).min(IDLE_WAIT),
        None => IDLE_WAIT,
    })
}

impl QueueWorker for Replicator {
    const NAME: &'static str = "replicas";

    async fn pass(&self) -> Result<Duration> {
        let due = self
            .db
            .due(Queue::Replicas, self.clock.now(), BATCH)
            .await?;
        let full = due.len() == BATCH;
        for forward in due {
            self.retry_one(forward).await?;
        }
        if full {
            return Ok(Duration::ZERO);
        }
        wait_for_next(&self.db, Queue::Replicas, &self.clock).await
    }

    fn woken(&self) -> &Notify {
        &self.wake
    }

    fn error_wait(&self) -> Duration {
        self.retry.initial_backoff
    }
}

impl Replicator {
    async fn retry_one(&self, forward: QueuedTask) -> Result<()> {
        let QueuedTask { target, update, .. } = &forward;
        let Some(replica) = self.replica(target) else {
            tracing::info!(
                target,
                "replica no longer configured; dropping its queued forward"
            );
            return self.db.remove_task(&forward).await;
        };
        let error = match replica.forward(update, &self.advertise).await {
            Ok(()) => {
                tracing::info!(target, repo = %update.repo, tag = %update.tag, attempts = forward.attempts, "queued forward delivered");
                self.metrics.forward(Forward::Retried);
                return self.db.remove_task(&forward).await;
            }
            Err(error) => error,
        };
        let attempts = forward.attempts.saturating_add(1);
        match next_attempt(&self.retry, attempts, self.clock.now()) {
            Some(next_at) => {
                tracing::debug!(target, %error, attempts, "forward failed again");
                let schedule = Schedule::failed(attempts, next_at, &error);
                self.db.reschedule(&forward, schedule).await
            }
            None => {
                tracing::error!(target, repo = %update.repo, tag = %update.tag, %error, attempts, "forward given up");
                self.metrics.forward(Forward::GivenUp);
                self.db.remove_task(&forward).await
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;

    fn retry(max_attempts: u32) -> RetryConfig {
        RetryConfig {
            max_attempts,
            initial_backoff: Duration::from_secs(1),
            max_backoff: Duration::from_secs(10),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let waits: Vec<u64> = (1..=6)
            .map(|a| backoff(&retry(0)).ceiling(a).as_secs())
            .collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(
            backoff(&retry(0)).ceiling(u32::MAX),
            Duration::from_secs(10)
        );
    }

    #[test]
    fn max_attempts_gives_up_and_zero_never_does() {
        let now = Timestamp(1_000);
        // Jittered over the upper half of the capped exponential wait.
        let capped = next_attempt(&retry(0), 1_000, now).unwrap();
        assert!((Timestamp(6_000)..=Timestamp(11_000)).contains(&capped));
        let second = next_attempt(&retry(3), 2, now).unwrap();
        assert!((Timestamp(2_000)..=Timestamp(3_000)).contains(&second));
        assert_eq!(next_attempt(&retry(3), 3, now), None);
        assert_eq!(next_attempt(&retry(1), 1, now), None);
    }
}
