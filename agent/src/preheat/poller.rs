//! The preheat poller: asks the build-index for tags pushed since its cursor every
//! `poll_interval` and preloads those of repositories this node opted into.
//!
//! The first poll only fetches the cursor (the newest stamp), so an agent that starts
//! preloads what is pushed from then on, not the history. A full page of changes is
//! followed at once by the next. Each matching push waits a random delay below
//! `jitter` and then a slot among `concurrency`: the thousand agents that see a push in
//! the same second spread their first requests to the tracker and origins over the
//! jitter window, and the swarm then serves them from each other.

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use starling_clients::build_index::api::{MAX_CHANGES, TagChange};
use starling_core::registry::Reference;
use starling_runtime::spawn_named;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::preheat::preload::preload;
use crate::state::AgentState;

/// Polls until `shutdown` fires; preloads in flight stop with it.
pub async fn run(state: Arc<AgentState>, shutdown: CancellationToken) -> Result<(), Infallible> {
    let config = state.preheat.config.clone();
    let slots = Arc::new(Semaphore::new(config.concurrency));
    let mut cursor: Option<i64> = None;
    loop {
        let full = match state.tags.build_index().changes(cursor, MAX_CHANGES).await {
            Ok(page) => {
                state.preheat.metrics.polls.increment(1);
                let full = page.changes.len() >= MAX_CHANGES;
                if cursor.is_some() {
                    for change in page
                        .changes
                        .into_iter()
                        .filter(|c| config.wants(c.repository.as_str()))
                    {
                        let delay = jitter(config.jitter);
                        spawn_preload(&state, change, delay, &slots, &shutdown);
                    }
                }
                cursor = Some(page.cursor);
                full
            }
            Err(error) => {
                state.preheat.metrics.polls_failed.increment(1);
                warn!(%error, "preheat: the build-index change feed did not answer");
                false
            }
        };
        if full {
            continue;
        }
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            () = tokio::time::sleep(config.poll_interval) => {}
        }
    }
}

/// A uniform draw in `[0, max)`.
fn jitter(max: Duration) -> Duration {
    if max.is_zero() {
        return Duration::ZERO;
    }
    max.mul_f64(rand::random::<f64>())
}

fn spawn_preload(
    state: &Arc<AgentState>,
    change: TagChange,
    delay: Duration,
    slots: &Arc<Semaphore>,
    shutdown: &CancellationToken,
) {
    let (state, slots, shutdown) = (state.clone(), slots.clone(), shutdown.clone());
    spawn_named("preload", async move {
        debug!(name = %change.repository, tag = %change.tag, ?delay, "preheat: push seen");
        let work = async {
            tokio::time::sleep(delay).await;
            let _slot = slots.acquire_owned().await;
            // The tag may have moved since; the stamped digest is what was pushed.
            let reference = Reference::Digest(change.digest);
            let _ = preload(&state, &change.repository, &reference).await;
        };
        tokio::select! {
            () = shutdown.cancelled() => {}
            () = work => {}
        }
        Ok::<(), Infallible>(())
    });
}
