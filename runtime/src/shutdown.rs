//! Process shutdown: one token that every component's `run` watches.
//!
//! The signal handlers are registered before this returns, so a SIGTERM that arrives
//! while the process is still starting (Kubernetes sends one at any time) cancels the
//! token instead of killing the process with the default action. Call it first thing,
//! before binding sockets or printing that anything started.

use tokio_util::sync::CancellationToken;

/// A token cancelled on the first Ctrl-C (SIGINT) or SIGTERM. Must be called inside a
/// Tokio runtime; the handlers are in place when it returns.
pub fn shutdown_on_signal() -> CancellationToken {
    let token = CancellationToken::new();
    let trigger = token.clone();
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let handlers = signal(SignalKind::terminate())
            .and_then(|term| signal(SignalKind::interrupt()).map(|interrupt| (term, interrupt)));
        match handlers {
            Ok((mut term, mut interrupt)) => {
                tokio::spawn(async move {
                    tokio::select! {
                        _ = term.recv() => {},
                        _ = interrupt.recv() => {},
                    }
                    tracing::info!("shutdown requested");
                    trigger.cancel();
                });
            }
            Err(error) => {
                tracing::warn!(%error, "cannot listen for SIGTERM; Ctrl-C only");
                spawn_ctrl_c(trigger);
            }
        }
    }
    #[cfg(not(unix))]
    spawn_ctrl_c(trigger);
    token
}

#[cfg_attr(unix, allow(dead_code))]
fn spawn_ctrl_c(trigger: CancellationToken) {
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutdown requested");
        trigger.cancel();
    });
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_sigterm_right_after_the_call_cancels_the_token() {
        let token = shutdown_on_signal();
        // No await in between: the handler must already be registered, or the default
        // action would kill the test process.
        // SAFETY: kill(2) on our own pid with a signal we handle.
        unsafe {
            libc::kill(libc::getpid(), libc::SIGTERM);
        }
        tokio::time::timeout(std::time::Duration::from_secs(5), token.cancelled())
            .await
            .expect("SIGTERM cancelled the token");
    }
}
