//! `notifications:` of the proxy: where it posts an event after every manifest push, in
//! the CNCF distribution registry's format (`starling_core::registry::notification`), so
//! an origin's receiver, Harbor-style webhooks or any tool that reads distribution's
//! notifications can act on pushes.
//!
//! Sending never blocks a push: events are queued in memory and posted in the
//! background with a bounded number of jittered retries; an event that still fails, or
//! that finds the queue full, is dropped and counted.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::retry::validate_backoff;
use crate::rules::{at_least_one, http_url, non_empty, positive_duration};

/// The proxy's notification endpoints.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationsConfig {
    /// Endpoints that each receive every push event; none sends nothing.
    pub endpoints: Vec<NotificationEndpoint>,
}

/// One receiver of push events.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct NotificationEndpoint {
    /// A name for logs and metrics (required, unique).
    pub name: String,
    /// The URL events are POSTed to (`http://` or `https://`, required), e.g. an
    /// origin's `http://origin:15002/notifications`.
    pub url: String,
    /// Bound on one POST, connection included.
    #[serde(with = "crate::units::duration")]
    pub timeout: Duration,
    /// Attempts per event before it is dropped (at least 1).
    pub attempts: u32,
    /// Wait after the first failed attempt; doubles per failure, jittered.
    #[serde(with = "crate::units::duration")]
    pub initial_backoff: Duration,
    /// Upper bound of the wait between attempts.
    #[serde(with = "crate::units::duration")]
    pub max_backoff: Duration,
    /// Extra request headers (e.g. `Authorization` for a webhook receiver).
    pub headers: BTreeMap<String, String>,
    /// Send the proxy's `auth.token` as `Authorization: Bearer …` (what an origin's
    /// receiver requires when the cluster has a token).
    pub cluster_token: bool,
    /// Events waiting to be sent to this endpoint; past it new events are dropped.
    pub queue: usize,
}

pub fn default_notification_timeout() -> Duration {
    Duration::from_secs(5)
}

pub const DEFAULT_NOTIFICATION_ATTEMPTS: u32 = 5;
pub const DEFAULT_NOTIFICATION_QUEUE: usize = 1024;

impl Default for NotificationEndpoint {
    fn default() -> Self {
        Self {
            name: String::new(),
            url: String::new(),
            timeout: default_notification_timeout(),
            attempts: DEFAULT_NOTIFICATION_ATTEMPTS,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            headers: BTreeMap::new(),
            cluster_token: false,
            queue: DEFAULT_NOTIFICATION_QUEUE,
        }
    }
}

impl NotificationsConfig {
    pub fn validate(&self) -> Result<()> {
        let mut names = std::collections::HashSet::new();
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            let at = format!("endpoints[{i}]");
            endpoint.validate().map_err(|e| e.at(&at))?;
            if !names.insert(endpoint.name.as_str()) {
                return Err(Error::invalid(
                    format!("{at}.name"),
                    format!("{:?} is listed twice", endpoint.name),
                ));
            }
        }
        Ok(())
    }
}

impl NotificationEndpoint {
    fn validate(&self) -> Result<()> {
        non_empty("name", &self.name)?;
        http_url("url", &self.url)?;
        positive_duration("timeout", self.timeout)?;
        at_least_one("attempts", u64::from(self.attempts))?;
        validate_backoff(self.initial_backoff, self.max_backoff)?;
        at_least_one("queue", self.queue as u64)?;
        for (name, value) in &self.headers {
            let valid = !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                && value
                    .bytes()
                    .all(|b| b == b'\t' || (b' '..=b'~').contains(&b));
            if !valid {
                return Err(Error::invalid(
                    format!("headers.{name}"),
                    "must be a header name (letters, digits, '-') with a printable value",
                ));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<NotificationsConfig> {
        let cfg: NotificationsConfig = serde_norway::from_str(yaml).unwrap();
        cfg.validate().map(|()| cfg)
    }

    #[test]
    fn an_endpoint_with_defaults() {
        let cfg = parse("endpoints: [{name: origin, url: 'http://127.0.0.1:15002/notifications', cluster_token: true}]").unwrap();
        let endpoint = &cfg.endpoints[0];
        assert_eq!(endpoint.timeout, Duration::from_secs(5));
        assert_eq!((endpoint.attempts, endpoint.queue), (5, 1024));
        assert!(endpoint.cluster_token);
        assert!(parse("{}").unwrap().endpoints.is_empty());
    }

    #[test]
    fn validation_names_the_field() {
        let err = |yaml: &str| parse(yaml).unwrap_err().to_string();
        assert_eq!(
            err("endpoints: [{name: a, url: 'ftp://x'}]"),
            "endpoints[0].url: \"ftp://x\" must start with http:// or https://"
        );
        assert_eq!(
            err("endpoints: [{name: a, url: 'http://x', attempts: 0}]"),
            "endpoints[0].attempts: must be at least 1"
        );
        assert_eq!(
            err("endpoints: [{name: a, url: 'http://x'}, {name: a, url: 'http://y'}]"),
            "endpoints[1].name: \"a\" is listed twice"
        );
        assert_eq!(
            err("endpoints: [{name: a, url: 'http://x', headers: {'Bad Name': v}}]"),
            "endpoints[0].headers.Bad Name: must be a header name (letters, digits, '-') with a printable value"
        );
    }
}
