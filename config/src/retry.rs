//! Retry with exponential backoff for persistent task queues (build-index replication;
//! origin write-back uses the same rule through [`validate_backoff`]).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::positive_duration;

/// How a failed persistent task is retried.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct RetryConfig {
    /// Attempts before a task is given up; 0 retries forever.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles after each further failure.
    #[serde(with = "crate::units::duration")]
    pub initial_backoff: Duration,
    /// Upper bound of the wait between attempts.
    #[serde(with = "crate::units::duration")]
    pub max_backoff: Duration,
}

pub fn default_initial_backoff() -> Duration {
    Duration::from_secs(1)
}

pub fn default_max_backoff() -> Duration {
    Duration::from_secs(300)
}

impl Default for RetryConfig {
    fn default() -> Self {
        Self {
            max_attempts: 0,
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
        }
    }
}

impl RetryConfig {
    pub fn validate(&self) -> Result<()> {
        validate_backoff(self.initial_backoff, self.max_backoff)
    }
}

/// `initial_backoff` must be positive and no larger than `max_backoff`.
pub fn validate_backoff(initial: Duration, max: Duration) -> Result<()> {
    positive_duration("initial_backoff", initial)?;
    if max < initial {
        return Err(Error::invalid(
            "max_backoff",
            format!(
                "must be at least initial_backoff ({})",
                humantime::format_duration(initial)
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> RetryConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults() {
        let retry = parse("{}");
        retry.validate().unwrap();
        assert_eq!(retry, RetryConfig::default());
        assert_eq!(retry.max_attempts, 0);
        assert_eq!(retry.initial_backoff, Duration::from_secs(1));
        assert_eq!(retry.max_backoff, Duration::from_secs(300));
    }

    #[test]
    fn validation_names_the_field() {
        let err = |yaml: &str| parse(yaml).validate().unwrap_err().to_string();
        assert_eq!(
            err("initial_backoff: 10s\nmax_backoff: 5s"),
            "max_backoff: must be at least initial_backoff (10s)"
        );
        assert_eq!(
            err("initial_backoff: 0s"),
            "initial_backoff: must be greater than 0s"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = serde_norway::from_str::<RetryConfig>("max_attempt: 3")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `max_attempt`"), "{err}");
    }
}
