//! The one way components start background tasks.
//!
//! [`spawn_named`] runs a future in its own `task` span and logs how it ended: an error
//! or a panic is logged once at error level with the task name, so a dying background
//! loop is never silent. Tasks must themselves stop when their shutdown token fires;
//! the returned handle lets `run` wait for them in its shutdown order.

use std::fmt::Display;
use std::future::Future;
use std::panic::AssertUnwindSafe;

use futures::FutureExt;
use tokio::task::JoinHandle;
use tracing::Instrument;

/// Spawns `task` on the current runtime under the name `name`.
pub fn spawn_named<F, E>(name: &'static str, task: F) -> JoinHandle<()>
where
    F: Future<Output = Result<(), E>> + Send + 'static,
    E: Display + Send + 'static,
{
    let span = tracing::info_span!("task", name);
    tokio::spawn(
        async move {
            tracing::debug!("started");
            match AssertUnwindSafe(task).catch_unwind().await {
                Ok(Ok(())) => tracing::debug!("stopped"),
                Ok(Err(error)) => tracing::error!(%error, "background task failed"),
                Err(panic) => {
                    let message = panic
                        .downcast_ref::<&str>()
                        .copied()
                        .or_else(|| panic.downcast_ref::<String>().map(String::as_str))
                        .unwrap_or("non-string panic payload");
                    tracing::error!(panic = message, "background task panicked");
                }
            }
        }
        .instrument(span),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_and_panics_end_the_task_without_propagating() {
        let failed = spawn_named("fails", async { Err::<(), _>("broken") });
        let panicked = spawn_named("panics", async {
            panic!("boom");
            #[allow(unreachable_code)]
            Ok::<(), String>(())
        });
        let fine = spawn_named("fine", async { Ok::<(), String>(()) });
        for handle in [failed, panicked, fine] {
            handle
                .await
                .expect("the helper catches failures and panics");
        }
    }
}
