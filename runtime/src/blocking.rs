//! The one way to run blocking work (disk i/o, SQLite, hashing) from async code: on
//! tokio's blocking pool, with a panic in the work turned into the caller's error type
//! (through `From<TaskFailed>`) instead of a panic in the async task.

use thiserror::Error;

/// Blocking work panicked (or its runtime shut down) before returning.
#[derive(Debug, Error)]
#[error("a blocking task to {action} failed: {source}")]
pub struct TaskFailed {
    pub action: &'static str,
    #[source]
    pub source: tokio::task::JoinError,
}

/// Runs `work` on the blocking pool; `action` names it in the error if it panics.
pub async fn blocking<T, E, F>(action: &'static str, work: F) -> Result<T, E>
where
    F: FnOnce() -> Result<T, E> + Send + 'static,
    T: Send + 'static,
    E: From<TaskFailed> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|source| E::from(TaskFailed { action, source }))?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    enum Failure {
        Own(&'static str),
        Task(TaskFailed),
    }

    impl From<TaskFailed> for Failure {
        fn from(failed: TaskFailed) -> Self {
            Self::Task(failed)
        }
    }

    #[tokio::test]
    async fn values_errors_and_panics_come_back_as_results() {
        assert_eq!(
            blocking::<_, Failure, _>("add", || Ok(1 + 1))
                .await
                .unwrap(),
            2
        );
        let own = blocking::<u8, _, _>("fail", || Err(Failure::Own("nope"))).await;
        assert!(matches!(own, Err(Failure::Own("nope"))));
        let panicked = blocking::<u8, Failure, _>("hash a blob", || panic!("boom")).await;
        match panicked {
            Err(Failure::Task(failed)) => {
                assert!(failed.to_string().contains("hash a blob"), "{failed}");
            }
            other => panic!("expected a task failure, got {other:?}"),
        }
    }
}
