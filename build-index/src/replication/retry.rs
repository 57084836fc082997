//! The retry loop: sends queued forwards when they are due, until they succeed.
//!
//! Each pass attempts the due forwards (oldest first, a batch at a time), then sleeps
//! until the next one is due, until a new forward is queued, or until shutdown. A
//! database failure is logged and retried after `initial_backoff`; it never ends the
//! loop, because a dead loop would silently stop replication. Shutdown may interrupt an
//! attempt: its row stays queued and is retried after the restart.

use std::sync::Arc;
use std::time::Duration;

use starling_config::RetryConfig;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::metrics::Forward;
use crate::replication::{IDLE_WAIT, Replicator, next_attempt};
use crate::store::QueuedForward;

/// Forwards attempted per pass.
const BATCH: usize = 64;

/// The wait after `attempts` failed attempts: `initial_backoff` doubled per further
/// failure, capped at `max_backoff`.
pub fn backoff(retry: &RetryConfig, attempts: u32) -> Duration {
    let doublings = attempts.saturating_sub(1).min(31);
    retry
        .initial_backoff
        .saturating_mul(1u32 << doublings)
        .min(retry.max_backoff)
}

/// Runs until `shutdown` fires.
pub async fn retry_loop(replicator: Arc<Replicator>, shutdown: CancellationToken) -> Result<()> {
    loop {
        let wait = tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            pass = replicator.retry_pass() => pass.unwrap_or_else(|error| {
                tracing::error!(%error, "replication queue failed; trying again");
                replicator.retry.initial_backoff
            }),
        };
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = replicator.wake.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

impl Replicator {
    /// Attempts the due forwards; returns how long to wait before the next pass.
    async fn retry_pass(&self) -> Result<Duration> {
        let due = self.db.due_forwards(self.clock.now(), BATCH).await?;
        let full = due.len() == BATCH;
        for forward in due {
            self.retry_one(forward).await?;
        }
        if full {
            return Ok(Duration::ZERO);
        }
        let now = self.clock.now();
        Ok(match self.db.next_forward_due().await? {
            Some(next) => next.since(now).min(IDLE_WAIT),
            None => IDLE_WAIT,
        })
    }

    async fn retry_one(&self, forward: QueuedForward) -> Result<()> {
        let QueuedForward { target, update, .. } = &forward;
        let Some(replica) = self.replica(target) else {
            tracing::info!(
                target,
                "replica no longer configured; dropping its queued forward"
            );
            return self.db.remove_forward(&forward).await;
        };
        let error = match replica.forward(update, &self.advertise).await {
            Ok(()) => {
                tracing::info!(target, repo = %update.repo, tag = %update.tag, attempts = forward.attempts, "queued forward delivered");
                self.metrics.forward(Forward::Retried);
                return self.db.remove_forward(&forward).await;
            }
            Err(error) => error,
        };
        let attempts = forward.attempts.saturating_add(1);
        match next_attempt(&self.retry, attempts, self.clock.now()) {
            Some(next_at) => {
                tracing::debug!(target, %error, attempts, "forward failed again");
                self.db
                    .reschedule_forward(&forward, attempts, next_at, &error.to_string())
                    .await
            }
            None => {
                tracing::error!(target, repo = %update.repo, tag = %update.tag, %error, attempts, "forward given up");
                self.metrics.forward(Forward::GivenUp);
                self.db.remove_forward(&forward).await
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
        let waits: Vec<u64> = (1..=6).map(|a| backoff(&retry(0), a).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 10, 10]);
        assert_eq!(backoff(&retry(0), u32::MAX), Duration::from_secs(10));
    }

    #[test]
    fn max_attempts_gives_up_and_zero_never_does() {
        let now = Timestamp(1_000);
        assert_eq!(next_attempt(&retry(0), 1_000, now), Some(Timestamp(11_000)));
        assert_eq!(next_attempt(&retry(3), 2, now), Some(Timestamp(3_000)));
        assert_eq!(next_attempt(&retry(3), 3, now), None);
        assert_eq!(next_attempt(&retry(1), 1, now), None);
    }
}
