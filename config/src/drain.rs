//! Graceful stop of an HTTP component on SIGTERM, for rolling updates: readiness turns
//! 503 at once, the listeners keep accepting for `delay` (so endpoints controllers and
//! load balancers stop routing here before connections are refused), then they close,
//! and requests still in flight (a blob streaming to a client) get `timeout` to finish
//! before they are cut. The runtime crate carries it out (`starling_runtime::Drain`).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::rules::positive_duration;

/// The `drain:` section of every component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct DrainConfig {
    /// From readiness 503 to the listeners closing; 0s closes them at once.
    #[serde(with = "crate::units::duration")]
    pub delay: Duration,
    /// After the listeners close, how long requests in flight may take before they are
    /// cut (their connection is closed mid-response, so clients see an error, not a
    /// short blob).
    #[serde(with = "crate::units::duration")]
    pub timeout: Duration,
}

pub fn default_drain_delay() -> Duration {
    Duration::ZERO
}

pub fn default_drain_timeout() -> Duration {
    Duration::from_secs(30)
}

impl Default for DrainConfig {
    fn default() -> Self {
        Self {
            delay: default_drain_delay(),
            timeout: default_drain_timeout(),
        }
    }
}

impl DrainConfig {
    pub fn validate(&self) -> Result<()> {
        positive_duration("timeout", self.timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_validation() {
        let drain: DrainConfig = serde_norway::from_str("{}").unwrap();
        assert_eq!(drain, DrainConfig::default());
        assert_eq!(
            (drain.delay, drain.timeout),
            (Duration::ZERO, Duration::from_secs(30))
        );
        let drain: DrainConfig = serde_norway::from_str("{delay: 5s, timeout: 1m}").unwrap();
        assert_eq!(drain.delay, Duration::from_secs(5));
        drain.validate().unwrap();
        let zero: DrainConfig = serde_norway::from_str("timeout: 0s").unwrap();
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "timeout: must be greater than 0s"
        );
        let err = serde_norway::from_str::<DrainConfig>("dealy: 5s")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `dealy`"), "{err}");
    }
}
