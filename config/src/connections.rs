//! Bounds on the HTTP connections of every component's ports, so idle sockets, slow
//! clients and floods cannot exhaust file descriptors or hold connections forever.
//! The runtime crate enforces them (`starling_runtime::serve`).
//!
//! - `max`: connections open at once per listener; past it, a new connection is
//!   accepted and closed at once (no bytes written), so the process keeps its
//!   descriptors for the connections it serves;
//! - `header_read_timeout`: from the first byte of a request to the end of its header
//!   (a client trickling a header, slowloris, is disconnected);
//! - `idle_timeout`: a keep-alive connection with no request in flight and no byte of a
//!   new one is closed after this; longer than the usual load balancer idle timeout
//!   (60s), so a balancer does not reuse a connection the server is closing;
//! - `body_idle_timeout`: a request body that sends no byte for this long fails the
//!   request and closes the connection; a body that keeps moving, however large and
//!   slow, is never cut.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::positive_duration;

/// The `connections:` section of every component.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionsConfig {
    /// Connections open at once on one listener.
    pub max: usize,
    /// From a request's first byte to the end of its header.
    #[serde(with = "crate::units::duration")]
    pub header_read_timeout: Duration,
    /// How long a connection may wait, with nothing in flight, for its next request.
    #[serde(with = "crate::units::duration")]
    pub idle_timeout: Duration,
    /// How long a request body may send nothing.
    #[serde(with = "crate::units::duration")]
    pub body_idle_timeout: Duration,
}

pub const DEFAULT_MAX_CONNECTIONS: usize = 4096;

impl Default for ConnectionsConfig {
    fn default() -> Self {
        Self {
            max: DEFAULT_MAX_CONNECTIONS,
            header_read_timeout: Duration::from_secs(10),
            idle_timeout: Duration::from_secs(75),
            body_idle_timeout: Duration::from_secs(60),
        }
    }
}

impl ConnectionsConfig {
    pub fn validate(&self) -> Result<()> {
        if self.max == 0 {
            return Err(Error::invalid("max", "must be at least 1"));
        }
        positive_duration("header_read_timeout", self.header_read_timeout)?;
        positive_duration("idle_timeout", self.idle_timeout)?;
        positive_duration("body_idle_timeout", self.body_idle_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_overrides_and_validation() {
        let limits: ConnectionsConfig = serde_norway::from_str("{}").unwrap();
        assert_eq!(limits, ConnectionsConfig::default());
        assert_eq!(limits.max, 4096);
        assert_eq!(limits.header_read_timeout, Duration::from_secs(10));
        assert_eq!(limits.idle_timeout, Duration::from_secs(75));
        assert_eq!(limits.body_idle_timeout, Duration::from_secs(60));
        let set: ConnectionsConfig =
            serde_norway::from_str("{max: 10, header_read_timeout: 2s, idle_timeout: 5s}").unwrap();
        assert_eq!((set.max, set.idle_timeout), (10, Duration::from_secs(5)));
        set.validate().unwrap();
        let zero: ConnectionsConfig = serde_norway::from_str("max: 0").unwrap();
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "max: must be at least 1"
        );
        let zero: ConnectionsConfig = serde_norway::from_str("idle_timeout: 0s").unwrap();
        assert_eq!(
            zero.validate().unwrap_err().to_string(),
            "idle_timeout: must be greater than 0s"
        );
        let err = serde_norway::from_str::<ConnectionsConfig>("maximum: 5")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `maximum`"), "{err}");
    }
}
