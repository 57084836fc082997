//! The task runner: claims due tasks from the queue and runs up to `workers` attempts at
//! once, each in its own named task.
//!
//! The loop wakes when a task is enqueued, when an attempt finishes, when the next task
//! falls due, and at least every [`MAX_IDLE`]. A running task's id is in the `running`
//! set until its outcome is recorded, so it is never claimed twice.
//!
//! Shutdown: on cancellation the loop stops claiming, running attempts are abandoned
//! mid-stream (their rows stay in the queue unchanged, so the next start retries them),
//! and `run` returns once every attempt task has ended.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::StreamExt;
use futures::stream::FuturesUnordered;
use starling_runtime::spawn_named;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{error, warn};

use crate::error::Result;
use crate::tasks::work::{Outcome, Worker};
use crate::tasks::{Task, Tasks};
use starling_runtime::blocking;

/// Longest sleep between looks at the queue.
pub const MAX_IDLE: Duration = Duration::from_secs(30);
/// Pause after the queue itself failed (e.g. disk full), before trying again.
const QUEUE_ERROR_PAUSE: Duration = Duration::from_secs(1);

/// Runs tasks until `shutdown` fires.
pub async fn run(
    tasks: Arc<Tasks>,
    worker: Arc<Worker>,
    workers: usize,
    shutdown: CancellationToken,
) -> Result<()> {
    let permits = Arc::new(Semaphore::new(workers.max(1)));
    let running: Arc<Mutex<HashSet<i64>>> = Arc::default();
    let mut attempts = FuturesUnordered::new();
    loop {
        let wait = match claim(&tasks, &permits, &running).await {
            Ok(claimed) => {
                for (task, permit) in claimed {
                    let attempt = Attempt {
                        tasks: tasks.clone(),
                        worker: worker.clone(),
                        running: running.clone(),
                        shutdown: shutdown.clone(),
                        _permit: permit,
                    };
                    attempts.push(spawn_named("task-attempt", attempt.run(task)));
                }
                next_wait(&tasks, &running).await
            }
            Err(e) => {
                error!(error = %e, "cannot read the task queue");
                QUEUE_ERROR_PAUSE
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => break,
            () = tasks.wake().notified() => {}
            () = tokio::time::sleep(wait) => {}
            Some(_) = attempts.next(), if !attempts.is_empty() => {}
        }
    }
    while attempts.next().await.is_some() {}
    Ok(())
}

/// Claims as many due tasks as there are free workers.
async fn claim(
    tasks: &Tasks,
    permits: &Arc<Semaphore>,
    running: &Mutex<HashSet<i64>>,
) -> Result<Vec<(Task, OwnedSemaphorePermit)>> {
    let free = permits.available_permits();
    if free == 0 {
        return Ok(Vec::new());
    }
    let skip = running_ids(running);
    let queue = tasks.queue().clone();
    let due = blocking("claim tasks", move || {
        queue.due(SystemTime::now(), free, &skip)
    })
    .await?;
    let mut claimed = Vec::with_capacity(due.len());
    for task in due {
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            break;
        };
        running
            .lock()
            .expect("running set poisoned")
            .insert(task.id);
        claimed.push((task, permit));
    }
    Ok(claimed)
}

/// Time until the soonest task that is not running falls due.
async fn next_wait(tasks: &Tasks, running: &Mutex<HashSet<i64>>) -> Duration {
    let skip = running_ids(running);
    let queue = tasks.queue().clone();
    match blocking("find the next task", move || queue.next_due(&skip)).await {
        Ok(Some(at)) => at
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .min(MAX_IDLE),
        Ok(None) => MAX_IDLE,
        Err(e) => {
            error!(error = %e, "cannot read the task queue");
            QUEUE_ERROR_PAUSE
        }
    }
}

fn running_ids(running: &Mutex<HashSet<i64>>) -> Vec<i64> {
    running
        .lock()
        .expect("running set poisoned")
        .iter()
        .copied()
        .collect()
}

/// One attempt at one task, holding a worker permit.
struct Attempt {
    tasks: Arc<Tasks>,
    worker: Arc<Worker>,
    running: Arc<Mutex<HashSet<i64>>>,
    shutdown: CancellationToken,
    _permit: OwnedSemaphorePermit,
}

impl Attempt {
    async fn run(self, task: Task) -> Result<()> {
        let outcome = tokio::select! {
            () = self.shutdown.cancelled() => None,
            outcome = self.worker.attempt(&task) => Some(outcome),
        };
        let recorded = match outcome {
            None => Ok(()),
            Some(outcome) => self.record(&task, outcome).await,
        };
        self.running
            .lock()
            .expect("running set poisoned")
            .remove(&task.id);
        // Lets the runner claim the next task (or this one, rescheduled) right away.
        self.tasks.wake().notify_one();
        recorded
    }

    async fn record(&self, task: &Task, outcome: Outcome) -> Result<()> {
        let (kind, digest) = (task.kind.as_str(), task.digest);
        match outcome {
            Outcome::Done => self.tasks.finish(task).await,
            Outcome::GiveUp(reason) => {
                error!(kind, %digest, %reason, "task cannot succeed; dropped");
                self.tasks.finish(task).await
            }
            Outcome::Retry(reason) => {
                let attempts = task.attempts.saturating_add(1);
                let policy = self.tasks.retry_policy();
                if policy.exhausted(attempts) {
                    error!(kind, %digest, attempts, %reason, "task failed too often; given up");
                    return self.tasks.finish(task).await;
                }
                let delay = policy.delay(attempts);
                warn!(kind, %digest, attempts, retry_in = ?delay, %reason, "task failed; will retry");
                let at = SystemTime::now() + delay;
                self.tasks.reschedule(task, attempts, at, reason).await
            }
        }
    }
}
