//! A hash ring of hosts: which origins (or trackers) a component talks to, and how it
//! decides that one is down.
//!
//! Host lists are `host:port` strings; a ring with fewer hosts than `replicas` simply
//! places every key on every host.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::{at_least_one, host_list, positive_duration};

/// A consistent-hash ring of peer hosts, e.g. the origin cluster.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ClusterConfig {
    /// `host:port` of every member (required, at least one).
    pub hosts: Vec<String>,
    /// How many ring members hold each key.
    pub replicas: usize,
    /// When a member counts as down and when as back up.
    pub health_check: HealthCheckConfig,
}

/// Active `/health` probing of ring members.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct HealthCheckConfig {
    /// Time between probes of one host.
    #[serde(with = "crate::units::duration")]
    pub interval: Duration,
    /// A probe that takes longer fails.
    #[serde(with = "crate::units::duration")]
    pub timeout: Duration,
    /// Consecutive failures that mark a host down.
    pub fails: u32,
    /// Consecutive successes that mark a down host up again.
    pub passes: u32,
}

pub fn default_replicas() -> usize {
    3
}

pub fn default_health_interval() -> Duration {
    Duration::from_secs(5)
}

pub fn default_health_timeout() -> Duration {
    Duration::from_secs(2)
}

pub fn default_health_fails() -> u32 {
    3
}

pub fn default_health_passes() -> u32 {
    2
}

impl Default for ClusterConfig {
    fn default() -> Self {
        Self {
            hosts: Vec::new(),
            replicas: default_replicas(),
            health_check: HealthCheckConfig::default(),
        }
    }
}

impl Default for HealthCheckConfig {
    fn default() -> Self {
        Self {
            interval: default_health_interval(),
            timeout: default_health_timeout(),
            fails: default_health_fails(),
            passes: default_health_passes(),
        }
    }
}

impl ClusterConfig {
    /// A ring of `hosts` with the default replicas and health checks.
    pub fn with_hosts(hosts: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Self {
            hosts: hosts.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    pub fn validate(&self) -> Result<()> {
        host_list("hosts", &self.hosts, true)?;
        at_least_one("replicas", self.replicas as u64)?;
        self.health_check
            .validate()
            .map_err(|e| e.at("health_check"))
    }
}

impl HealthCheckConfig {
    pub fn validate(&self) -> Result<()> {
        positive_duration("interval", self.interval)?;
        positive_duration("timeout", self.timeout)?;
        if self.timeout > self.interval {
            return Err(Error::invalid(
                "timeout",
                format!(
                    "must not exceed interval ({})",
                    humantime::format_duration(self.interval)
                ),
            ));
        }
        at_least_one("fails", self.fails.into())?;
        at_least_one("passes", self.passes.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> ClusterConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    fn invalid(yaml: &str) -> String {
        parse(yaml).validate().unwrap_err().to_string()
    }

    #[test]
    fn defaults_fill_everything_but_hosts() {
        let cluster = parse("hosts: ['127.0.0.1:15002']");
        cluster.validate().unwrap();
        assert_eq!(cluster, ClusterConfig::with_hosts(["127.0.0.1:15002"]));
        assert_eq!(cluster.replicas, 3);
        let health = &cluster.health_check;
        assert_eq!(health.interval, Duration::from_secs(5));
        assert_eq!(health.timeout, Duration::from_secs(2));
        assert_eq!((health.fails, health.passes), (3, 2));
    }

    #[test]
    fn overrides_parse() {
        let cluster = parse(
            "
hosts: [origin-0:15002, origin-1:15002]
replicas: 2
health_check: {interval: 10s, timeout: 500ms, fails: 5, passes: 1}
",
        );
        cluster.validate().unwrap();
        assert_eq!(cluster.replicas, 2);
        assert_eq!(cluster.health_check.timeout, Duration::from_millis(500));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(invalid("{}"), "hosts: at least one host:port is required");
        assert!(invalid("hosts: [a:1, b]").starts_with("hosts[1]: \"b\": expected host:port"));
        assert_eq!(
            invalid("hosts: [a:1]\nreplicas: 0"),
            "replicas: must be at least 1"
        );
        assert_eq!(
            invalid("hosts: [a:1]\nhealth_check: {interval: 1s, timeout: 2s}"),
            "health_check.timeout: must not exceed interval (1s)"
        );
        assert_eq!(
            invalid("hosts: [a:1]\nhealth_check: {fails: 0}"),
            "health_check.fails: must be at least 1"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = serde_norway::from_str::<ClusterConfig>("hosts: [a:1]\nreplica: 2")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `replica`"), "{err}");
    }
}
