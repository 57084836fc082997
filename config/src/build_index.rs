//! Configuration of the build-index: the tag -> digest service, its storage, the other
//! build-index hosts of this cluster, and cross-cluster tag replication.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::Component;
use crate::auth::AuthConfig;
use crate::backend::{NamespaceBackend, read_backend_secrets, validate_backends};
use crate::cluster::ClusterConfig;
use crate::connections::ConnectionsConfig;
use crate::drain::DrainConfig;
use crate::error::{Error, Result};
use crate::retry::RetryConfig;
use crate::rules::{host_list, host_port, http_url, positive_duration, required_path};
use crate::tls::{ClientTlsConfig, TlsConfig};

/// The build-index component.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct BuildIndexConfig {
    /// HTTP address for the tag API, health and metrics.
    pub listen: SocketAddr,
    /// SQLite file holding tags and the replication queue (required).
    pub database: PathBuf,
    /// Where tags are persisted, per namespace.
    pub backends: Vec<NamespaceBackend>,
    /// The build-index hosts of this cluster (`host:port`), which receive every tag. This
    /// host's own `advertise` may be listed and is skipped, so one list (one ConfigMap)
    /// serves every host.
    pub replicas: Vec<String>,
    /// This build-index's `host:port` (required).
    pub advertise: String,
    /// Remote clusters' build-indexes that receive tags of matching repositories.
    pub remotes: Vec<RemoteConfig>,
    /// The origin ring, checked for a tag's blobs before the tag is replicated.
    pub origins: ClusterConfig,
    /// How long a tag lookup answered from the backends is cached.
    #[serde(with = "crate::units::duration")]
    pub tag_cache_ttl: Duration,
    /// Retry of replication tasks.
    pub replication: RetryConfig,
    /// Graceful stop on SIGTERM: readiness 503, a delay, then in-flight requests get a bound.
    pub drain: DrainConfig,
    /// Bounds on the HTTP connections of this component's listeners (`connections.rs`).
    pub connections: ConnectionsConfig,
    /// HTTPS on this component's HTTP listeners, optionally mutual TLS (`tls.rs`).
    pub tls: TlsConfig,
    /// HTTPS from this component's clients of the other components (`tls.rs`).
    pub client_tls: ClientTlsConfig,
    /// The cluster's bearer token: required on tag puts here, sent on forwards to the
    /// replicas. See `auth.rs`; unset, writes are open.
    pub auth: AuthConfig,
}

/// A remote cluster receiving the tags of the repositories matching `repo`: its
/// build-index gets the tag only after its origins hold every blob the tag needs.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct RemoteConfig {
    /// Regex that must match the whole repository name, e.g. `team-a/.*`.
    #[serde(with = "crate::pattern")]
    pub repo: Regex,
    /// Base URL of the remote build-index, `http://` or `https://`; identifies the
    /// remote, so each URL is listed once.
    pub url: String,
    /// The remote cluster's origin ring (its `hosts` and `replicas` as the remote
    /// cluster's own components see them), which receives the tag's blobs.
    pub origins: ClusterConfig,
    /// The remote cluster's bearer token, sent on its tag puts and blob copies.
    #[serde(default)]
    pub auth: AuthConfig,
}

pub fn default_build_index_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 15004))
}

pub fn default_tag_cache_ttl() -> Duration {
    Duration::from_secs(5)
}

impl Default for BuildIndexConfig {
    fn default() -> Self {
        Self {
            listen: default_build_index_listen(),
            database: PathBuf::new(),
            backends: Vec::new(),
            replicas: Vec::new(),
            advertise: String::new(),
            remotes: Vec::new(),
            origins: ClusterConfig::default(),
            tag_cache_ttl: default_tag_cache_ttl(),
            replication: RetryConfig::default(),
            drain: DrainConfig::default(),
            connections: ConnectionsConfig::default(),
            tls: TlsConfig::default(),
            client_tls: ClientTlsConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

impl BuildIndexConfig {
    /// The hosts of `replicas` other than this one: where tags are forwarded.
    pub fn other_replicas(&self) -> impl Iterator<Item = &String> {
        self.replicas.iter().filter(|host| **host != self.advertise)
    }

    /// The remotes that receive tags of `repo`, in configuration order.
    pub fn remotes_for<'a>(&'a self, repo: &'a str) -> impl Iterator<Item = &'a RemoteConfig> {
        self.remotes.iter().filter(move |r| r.repo.is_match(repo))
    }
}

impl Component for BuildIndexConfig {
    const NAME: &'static str = "build-index";

    fn validate(&self) -> Result<()> {
        required_path("database", &self.database)?;
        validate_backends("backends", &self.backends)?;
        host_list("replicas", &self.replicas, false)?;
        host_port("advertise", &self.advertise)?;
        validate_remotes(&self.remotes)?;
        self.origins.validate().map_err(|e| e.at("origins"))?;
        positive_duration("tag_cache_ttl", self.tag_cache_ttl)?;
        self.replication
            .validate()
            .map_err(|e| e.at("replication"))?;
        self.drain.validate().map_err(|e| e.at("drain"))?;
        self.connections
            .validate()
            .map_err(|e| e.at("connections"))?;
        self.tls.validate().map_err(|e| e.at("tls"))?;
        self.client_tls.validate().map_err(|e| e.at("client_tls"))?;
        self.auth.validate().map_err(|e| e.at("auth"))
    }

    fn read_secret_files(&mut self) -> Result<()> {
        read_backend_secrets("backends", &mut self.backends)?;
        self.auth.read_secret_files().map_err(|e| e.at("auth"))?;
        for (i, remote) in self.remotes.iter_mut().enumerate() {
            remote
                .auth
                .read_secret_files()
                .map_err(|e| e.at("auth").at(&format!("[{i}]")).at("remotes"))?;
        }
        Ok(())
    }
}

/// Each remote has a valid, distinct URL (queued tasks name their remote by URL) and
/// a valid origin ring.
fn validate_remotes(remotes: &[RemoteConfig]) -> Result<()> {
    for (i, remote) in remotes.iter().enumerate() {
        let field = format!("remotes[{i}]");
        http_url(&format!("{field}.url"), &remote.url)?;
        let same_url = |other: &RemoteConfig| other.url == remote.url;
        if remotes[..i].iter().any(same_url) {
            return Err(Error::invalid(
                format!("{field}.url"),
                format!(
                    "{:?} is listed twice; join the repo patterns with |",
                    remote.url
                ),
            ));
        }
        remote
            .origins
            .validate()
            .map_err(|e| e.at(&format!("{field}.origins")))?;
        remote
            .auth
            .validate()
            .map_err(|e| e.at(&format!("{field}.auth")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_yaml_str, yaml_with};

    const MINIMAL: &str = "
database: ./data/build-index/tags.db
advertise: 127.0.0.1:15004
origins: {hosts: ['127.0.0.1:15002']}
";

    fn invalid(extra: &str) -> String {
        from_yaml_str::<BuildIndexConfig>(&yaml_with(MINIMAL, extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let cfg: BuildIndexConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(cfg.listen, default_build_index_listen());
        assert_eq!(cfg.tag_cache_ttl, Duration::from_secs(5));
        assert_eq!(cfg.replication, RetryConfig::default());
        assert!(cfg.backends.is_empty() && cfg.replicas.is_empty() && cfg.remotes.is_empty());
    }

    #[test]
    fn remotes_match_whole_repository_names() {
        let cfg: BuildIndexConfig = from_yaml_str(&format!(
            "{MINIMAL}remotes:
  - repo: 'team-a/.*'
    url: 'https://index.dc2.example'
    origins: {{hosts: ['origin-0.dc2:15002', 'origin-1.dc2:15002'], replicas: 2}}
  - {{repo: '.*', url: 'http://10.0.0.4:15004', origins: {{hosts: ['10.0.0.5:15002']}}}}
"
        ))
        .unwrap();
        assert_eq!(cfg.remotes[0].origins.hosts.len(), 2);
        assert_eq!(cfg.remotes[0].origins.replicas, 2);
        assert_eq!(cfg.remotes[1].origins.replicas, 3, "the ring's default");
        let urls = |repo| {
            cfg.remotes_for(repo)
                .map(|r| r.url.as_str())
                .collect::<Vec<_>>()
        };
        assert_eq!(
            urls("team-a/app"),
            ["https://index.dc2.example", "http://10.0.0.4:15004"]
        );
        assert_eq!(urls("x/team-a/app"), ["http://10.0.0.4:15004"]);
    }

    #[test]
    fn validation_names_the_field() {
        let dc2 = "origins: {hosts: ['origin.dc2:15002']}";
        assert_eq!(
            invalid(&format!(
                "remotes: [{{repo: '.*', url: 'index.dc2:15004', {dc2}}}]"
            )),
            "build-index.remotes[0].url: \"index.dc2:15004\" must start with http:// or https://"
        );
        assert_eq!(
            invalid("remotes: [{repo: '.*', url: 'http://index.dc2', origins: {hosts: []}}]"),
            "build-index.remotes[0].origins.hosts: at least one host:port is required"
        );
        assert_eq!(
            invalid(&format!(
                "remotes: [{{repo: 'a/.*', url: 'http://i.dc2', {dc2}}}, \
                 {{repo: 'b/.*', url: 'http://i.dc2', {dc2}}}]"
            )),
            "build-index.remotes[1].url: \"http://i.dc2\" is listed twice; \
             join the repo patterns with |"
        );
        assert_eq!(
            invalid("replication: {initial_backoff: 1m, max_backoff: 1s}"),
            "build-index.replication.max_backoff: must be at least initial_backoff (1m)"
        );
        assert_eq!(
            from_yaml_str::<BuildIndexConfig>("advertise: a:1")
                .unwrap_err()
                .to_string(),
            "build-index.database: required"
        );
    }

    #[test]
    fn this_host_in_replicas_is_skipped() {
        let cfg: BuildIndexConfig = from_yaml_str(&yaml_with(
            MINIMAL,
            "replicas: ['127.0.0.1:15004', '127.0.0.1:15014']",
        ))
        .unwrap();
        let others: Vec<_> = cfg.other_replicas().collect();
        assert_eq!(others, ["127.0.0.1:15014"]);
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = invalid("remotes: [{repo: '.*', uri: 'http://x'}]");
        assert!(err.contains("unknown field `uri`"), "{err}");
        let err = invalid("remotes: [{repo: '.*', url: 'http://x'}]");
        assert!(err.contains("missing field `origins`"), "{err}");
    }
}
