//! `preheat:` of an agent: which repositories this node pulls ahead of its container
//! runtime when a tag is pushed, and how it learns of pushes.
//!
//! The agent polls the build-index for tags pushed since its last poll (a cursor, so a
//! restart starts from "now", not from history), and preloads those whose repository
//! matches one of `repositories` into its cache through the swarm. Each preload starts
//! after a random delay below `jitter`, so a thousand agents that learn of a push in the
//! same poll do not all ask the tracker and the origins in the same instant.

use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::{at_least_one, positive_duration};

/// Pull-ahead of pushed tags; off when `repositories` is empty.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PreheatConfig {
    /// Repository patterns (anchored regular expressions, e.g. `team/.*`) whose pushed
    /// tags this node preloads; empty turns polling off.
    pub repositories: Vec<RepositoryPattern>,
    /// How often the build-index is asked for tags pushed since the last poll.
    #[serde(with = "crate::units::duration")]
    pub poll_interval: Duration,
    /// Each preload waits a random time below this before it starts (0s: none).
    #[serde(with = "crate::units::duration")]
    pub jitter: Duration,
    /// Preloads (of whole images) running at once.
    pub concurrency: usize,
    /// Blobs of one image downloaded at once.
    pub blob_concurrency: usize,
}

/// One anchored repository pattern.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RepositoryPattern(#[serde(with = "crate::pattern")] pub Regex);

impl RepositoryPattern {
    pub fn matches(&self, repository: &str) -> bool {
        self.0.is_match(repository)
    }
}

impl PartialEq for RepositoryPattern {
    fn eq(&self, other: &Self) -> bool {
        self.0.as_str() == other.0.as_str()
    }
}

pub fn default_preheat_poll_interval() -> Duration {
    Duration::from_secs(10)
}

pub fn default_preheat_jitter() -> Duration {
    Duration::from_secs(5)
}

pub const DEFAULT_PREHEAT_CONCURRENCY: usize = 2;
pub const DEFAULT_PREHEAT_BLOB_CONCURRENCY: usize = 4;

impl Default for PreheatConfig {
    fn default() -> Self {
        Self {
            repositories: Vec::new(),
            poll_interval: default_preheat_poll_interval(),
            jitter: default_preheat_jitter(),
            concurrency: DEFAULT_PREHEAT_CONCURRENCY,
            blob_concurrency: DEFAULT_PREHEAT_BLOB_CONCURRENCY,
        }
    }
}

impl PreheatConfig {
    /// Whether this node polls for pushes at all.
    pub fn enabled(&self) -> bool {
        !self.repositories.is_empty()
    }

    /// Whether pushes to `repository` are preloaded here.
    pub fn wants(&self, repository: &str) -> bool {
        self.repositories.iter().any(|p| p.matches(repository))
    }

    pub fn validate(&self) -> Result<()> {
        positive_duration("poll_interval", self.poll_interval)?;
        if self.jitter > self.poll_interval * 60 {
            return Err(Error::invalid(
                "jitter",
                "must be at most 60 poll intervals",
            ));
        }
        at_least_one("concurrency", self.concurrency as u64)?;
        at_least_one("blob_concurrency", self.blob_concurrency as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<PreheatConfig> {
        let cfg: PreheatConfig = serde_norway::from_str(yaml).unwrap();
        cfg.validate().map(|()| cfg)
    }

    #[test]
    fn off_by_default() {
        let cfg = parse("{}").unwrap();
        assert!(!cfg.enabled());
        assert_eq!(cfg.poll_interval, Duration::from_secs(10));
        assert!(!cfg.wants("team/app"));
    }

    #[test]
    fn patterns_match_whole_repository_names() {
        let cfg = parse("repositories: ['team/.*', 'ml/trainer']\npoll_interval: 1s\njitter: 0s")
            .unwrap();
        assert!(cfg.enabled());
        assert!(cfg.wants("team/app"));
        assert!(cfg.wants("ml/trainer"));
        assert!(!cfg.wants("ml/trainer-old"));
        assert!(!cfg.wants("other/team/app"));
    }

    #[test]
    fn validation_names_the_field() {
        let err = |yaml: &str| parse(yaml).unwrap_err().to_string();
        assert_eq!(
            err("poll_interval: 0s"),
            "poll_interval: must be greater than 0s"
        );
        assert_eq!(err("concurrency: 0"), "concurrency: must be at least 1");
        let bad: std::result::Result<PreheatConfig, _> =
            serde_norway::from_str("repositories: ['team/(']");
        assert!(bad.unwrap_err().to_string().contains("invalid regex"));
    }
}
