//! Replication of puts to the other build-index hosts of this cluster (`replicas`).
//!
//! A client put, once applied locally, is forwarded at once to every replica, marked
//! with [`starling_clients::build_index::api::REPLICATED_FROM`] so that the receiver does not forward it again.
//! A forward that fails is queued in the database and retried with exponential backoff
//! (`replication` config) by [`retry_loop`] until it succeeds, across restarts. A replica
//! that answers 4xx rejects the put itself, so retrying cannot help: it is given up.
//!
//! So a put reaches every reachable replica before the client's request returns; a
//! replica that was down receives it within one backoff interval (at most
//! `replication.max_backoff`) of coming back.
//!
//! Cross-cluster replication (`remotes`) is in [`crate::remotes`]; it shares the
//! backoff rule and [`retry_loop`] with this module.

mod retry;

use std::time::Duration;

use starling_config::RetryConfig;
use starling_core::registry::Referrer;
use starling_core::{Digest, RepoName};
use tokio::sync::Notify;

use crate::clock::{Clock, Timestamp};
use crate::error::{Error, Result};
use crate::metrics::{BuildIndexMetrics, Forward};
use crate::store::{Db, Queue, Schedule, TagUpdate};
use starling_clients::build_index::client::BuildIndexClient;

pub use retry::{QueueWorker, backoff, retry_loop, wait_for_next};

use std::sync::Arc;

/// Forwards puts to the replicas and owns the retry queue.
pub struct Replicator {
    db: Db,
    clock: Clock,
    replicas: Vec<BuildIndexClient>,
    /// This host's address, sent as the forward's origin.
    advertise: String,
    retry: RetryConfig,
    /// Woken when a forward is queued, so the retry loop re-reads its next due time.
    wake: Notify,
    metrics: Arc<BuildIndexMetrics>,
}

/// What [`Replicator::new`] needs besides the database.
pub struct ReplicatorParts {
    pub clock: Clock,
    pub replicas: Vec<BuildIndexClient>,
    pub advertise: String,
    pub retry: RetryConfig,
    pub metrics: Arc<BuildIndexMetrics>,
}

impl Replicator {
    pub fn new(db: Db, parts: ReplicatorParts) -> Self {
        Self {
            db,
            clock: parts.clock,
            replicas: parts.replicas,
            advertise: parts.advertise,
            retry: parts.retry,
            wake: Notify::new(),
            metrics: parts.metrics,
        }
    }

    /// Sends `update` to every replica at once; queues the forwards that fail. Fails only
    /// when a failed forward cannot be queued.
    pub async fn forward(&self, update: &TagUpdate) -> Result<()> {
        let sends = self
            .replicas
            .iter()
            .map(|replica| replica.forward(update, &self.advertise));
        let results = futures::future::join_all(sends).await;
        for (replica, result) in self.replicas.iter().zip(results) {
            match result {
                Ok(()) => self.metrics.forward(Forward::Delivered),
                Err(error) => {
                    let error = Error::from(error);
                    self.first_failure(replica.host(), update, &error).await?
                }
            }
        }
        Ok(())
    }

    async fn first_failure(&self, target: &str, update: &TagUpdate, error: &Error) -> Result<()> {
        let next = next_attempt(&self.retry, 1, self.clock.now());
        match next.filter(|_| !is_rejection(error)) {
            Some(next_at) => {
                tracing::warn!(target, repo = %update.repo, tag = %update.tag, %error, "forward failed; queued for retry");
                let schedule = Schedule::failed(1, next_at, error);
                self.db
                    .enqueue(Queue::Replicas, target, update, schedule)
                    .await?;
                self.metrics.forward(Forward::Queued);
                self.wake.notify_one();
            }
            None => {
                tracing::error!(target, repo = %update.repo, tag = %update.tag, %error, "forward given up");
                self.metrics.forward(Forward::GivenUp);
            }
        }
        Ok(())
    }

    /// Sends a newly recorded referrer to every replica at once. A failed forward is
    /// logged, not queued: readers ask every replica and take the union
    /// (`BuildIndexCluster::list_referrers`), so one replica that has it is enough.
    pub async fn forward_referrer(&self, repo: &RepoName, subject: &Digest, referrer: &Referrer) {
        let sends = self
            .replicas
            .iter()
            .map(|replica| replica.forward_referrer(repo, subject, referrer, &self.advertise));
        let results = futures::future::join_all(sends).await;
        for (replica, result) in self.replicas.iter().zip(results) {
            match result {
                Ok(()) => self.metrics.forward(Forward::Delivered),
                Err(error) => {
                    tracing::warn!(target = replica.host(), %repo, %subject, referrer = %referrer.digest, %error, "referrer forward failed");
                    self.metrics.forward(Forward::GivenUp);
                }
            }
        }
    }

    fn replica(&self, host: &str) -> Option<&BuildIndexClient> {
        self.replicas.iter().find(|r| r.host() == host)
    }

    /// The number of queued forwards.
    pub async fn queued(&self) -> Result<u64> {
        self.db.queued(Queue::Replicas).await
    }
}

/// When to try again after `attempts` failed attempts; `None` to give up.
pub fn next_attempt(retry: &RetryConfig, attempts: u32, now: Timestamp) -> Option<Timestamp> {
    if retry.max_attempts != 0 && attempts >= retry.max_attempts {
        return None;
    }
    Some(now.saturating_add(backoff(retry).delay(attempts)))
}

/// A 4xx answer: the replica refuses the put itself, so a retry would be refused too.
fn is_rejection(error: &Error) -> bool {
    matches!(error, Error::Status { status, .. } if (400..500).contains(status))
}

/// How long a retry loop sleeps when its queue is empty, at most; a newly queued
/// task wakes it earlier.
pub const IDLE_WAIT: Duration = Duration::from_secs(60);
