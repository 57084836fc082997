//! `pull_auth:` of an agent — pulls of private repositories need the client's registry
//! credentials, checked against a registry that knows them.
//!
//! The agent serves any blob of the cluster to any allowed client; for the repositories
//! matched by `repositories` it first asks `registry` (the cluster's proxy with its
//! htpasswd users, or the upstream registry the images come from) whether the client's
//! credentials may list the repository, and remembers the answer per (credential,
//! repository) for `cache_ttl`. An empty `repositories` list turns the check off: every
//! pull is anonymous, as without this section.

use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::{http_url, positive_duration};

/// The longest a decision may be remembered: a revoked user keeps pulling that long.
pub const MAX_CACHE_TTL: Duration = Duration::from_secs(3600);

/// The most decisions kept in memory (each is two hashes and an instant).
pub const MAX_CACHE_ENTRIES: usize = 1_000_000;

/// The `pull_auth:` section.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PullAuthConfig {
    /// Repositories whose pulls need credentials: regexes matching whole names
    /// (`team-a/.*`, `secret/app`). Empty (the default): no repository is private.
    pub repositories: Vec<RepoPattern>,
    /// Base URL (`http://` or `https://`) of the registry that checks credentials:
    /// the cluster's proxy (`http://proxy:15000`) or an upstream registry
    /// (`https://registry.example.com`). Required when `repositories` is not empty.
    pub registry: Option<String>,
    /// How long an allow or a deny is remembered per (credential, repository); 1s to 1h.
    #[serde(with = "crate::units::duration")]
    pub cache_ttl: Duration,
    /// The most decisions remembered; the oldest go first when it is full.
    pub cache_entries: usize,
    /// How long one check (with its token exchange) may take before the pull gets 503.
    #[serde(with = "crate::units::duration")]
    pub check_timeout: Duration,
}

/// A repository pattern: an anchored regex (see `pattern.rs`).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(transparent)]
pub struct RepoPattern(#[serde(with = "crate::pattern")] pub Regex);

impl RepoPattern {
    /// `pattern` anchored; `None` if it is no valid regex.
    pub fn new(pattern: &str) -> Option<Self> {
        crate::pattern::anchored(pattern).ok().map(Self)
    }

    pub fn matches(&self, repository: &str) -> bool {
        self.0.is_match(repository)
    }
}

pub fn default_cache_ttl() -> Duration {
    Duration::from_secs(60)
}

pub fn default_cache_entries() -> usize {
    10_000
}

pub fn default_check_timeout() -> Duration {
    Duration::from_secs(10)
}

impl Default for PullAuthConfig {
    fn default() -> Self {
        Self {
            repositories: Vec::new(),
            registry: None,
            cache_ttl: default_cache_ttl(),
            cache_entries: default_cache_entries(),
            check_timeout: default_check_timeout(),
        }
    }
}

impl PullAuthConfig {
    /// Whether any repository is private.
    pub fn is_enabled(&self) -> bool {
        !self.repositories.is_empty()
    }

    pub fn validate(&self) -> Result<()> {
        match (&self.registry, self.is_enabled()) {
            (Some(url), _) => http_url("registry", url)?,
            (None, true) => {
                return Err(Error::invalid(
                    "registry",
                    "required when repositories are listed: the registry that checks \
                     the pullers' credentials",
                ));
            }
            (None, false) => {}
        }
        positive_duration("cache_ttl", self.cache_ttl)?;
        if self.cache_ttl < Duration::from_secs(1) || self.cache_ttl > MAX_CACHE_TTL {
            return Err(Error::invalid("cache_ttl", "must be from 1s to 1h"));
        }
        if self.cache_entries == 0 || self.cache_entries > MAX_CACHE_ENTRIES {
            return Err(Error::invalid(
                "cache_entries",
                format!("must be from 1 to {MAX_CACHE_ENTRIES}"),
            ));
        }
        positive_duration("check_timeout", self.check_timeout)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::AgentConfig;
    use crate::from_yaml_str;

    const AGENT: &str = "
store: {root: /tmp/starling/agent-0}
trackers: ['127.0.0.1:15003']
build_index: ['127.0.0.1:15004']
";

    fn agent(extra: &str) -> Result<AgentConfig> {
        from_yaml_str(&format!("{AGENT}{extra}"))
    }

    #[test]
    fn off_by_default() {
        let cfg = agent("").unwrap();
        assert!(!cfg.pull_auth.is_enabled());
        assert_eq!(cfg.pull_auth.cache_ttl, Duration::from_secs(60));
        assert_eq!(cfg.pull_auth.cache_entries, 10_000);
    }

    #[test]
    fn patterns_match_whole_names() {
        let cfg = agent(
            "pull_auth:
  repositories: ['team-a/.*', secret/app]
  registry: http://127.0.0.1:15000
  cache_ttl: 30s
  cache_entries: 500
",
        )
        .unwrap();
        let auth = cfg.pull_auth;
        assert!(auth.is_enabled());
        let private = |name: &str| auth.repositories.iter().any(|p| p.matches(name));
        assert!(private("team-a/app"));
        assert!(private("secret/app"));
        assert!(!private("secret/app2"));
        assert!(!private("other/team-a/app"));
        assert_eq!(auth.cache_ttl, Duration::from_secs(30));
        assert_eq!(auth.cache_entries, 500);
    }

    #[test]
    fn validation_names_the_field() {
        let invalid = |extra: &str| agent(extra).unwrap_err().to_string();
        assert!(
            invalid("pull_auth: {repositories: [a/.*]}")
                .starts_with("agent.pull_auth.registry: required when repositories"),
        );
        assert_eq!(
            invalid("pull_auth: {registry: 'proxy:15000'}"),
            "agent.pull_auth.registry: \"proxy:15000\" must start with http:// or https://"
        );
        assert_eq!(
            invalid("pull_auth: {registry: 'http://p:1', cache_ttl: 2h}"),
            "agent.pull_auth.cache_ttl: must be from 1s to 1h"
        );
        assert_eq!(
            invalid("pull_auth: {registry: 'http://p:1', cache_entries: 0}"),
            "agent.pull_auth.cache_entries: must be from 1 to 1000000"
        );
        let bad_regex = invalid("pull_auth: {repositories: ['a/(']}");
        assert!(bad_regex.contains("invalid regex"), "{bad_regex}");
    }
}
