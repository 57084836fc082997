//! Configuration of an agent, the per-node daemon: a Registry v2 read API for the local
//! container runtime, P2P download and seeding, and the node's blob cache.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Component;
use crate::connections::ConnectionsConfig;
use crate::drain::DrainConfig;
use crate::error::{Error, Result};
use crate::p2p::P2pConfig;
use crate::preheat::PreheatConfig;
use crate::pull_auth::PullAuthConfig;
use crate::rules::{distinct_listens, host_list, non_empty, positive_duration};
use crate::store::StoreConfig;
use crate::tls::{ClientTlsConfig, TlsConfig};

/// The agent component.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AgentConfig {
    /// Registry API address that docker / containerd pull from.
    pub registry_listen: SocketAddr,
    /// Admin address: health, readiness, metrics.
    pub admin_listen: SocketAddr,
    /// The peer side: port, limits and rates.
    pub peer: P2pConfig,
    /// The node's blob cache (its `root` is required).
    pub store: StoreConfig,
    /// The tracker ring (`host:port`, required, at least one).
    pub trackers: Vec<String>,
    /// Build-index hosts (`host:port`, required) used to resolve tags.
    pub build_index: Vec<String>,
    /// Clients allowed on the registry port (required, at least one): addresses
    /// (`127.0.0.1`) or CIDR networks (`10.0.0.0/8`, a pod or node network).
    #[serde(with = "crate::nets")]
    pub allowed_clients: Vec<IpNet>,
    /// This node's zone, for locality in peer hand-out.
    pub zone: Option<String>,
    /// This node's rack, for locality in peer hand-out.
    pub rack: Option<String>,
    /// How long a resolved tag is cached.
    #[serde(with = "crate::units::duration")]
    pub tag_cache_ttl: Duration,
    /// Registry hosts (`host[:port]`) that mean this cluster's own proxy when containerd
    /// sends them as `?ns=`: their repositories are looked up as they are. Any other
    /// `?ns=` registry becomes the repository's first path component.
    pub cluster_registries: Vec<String>,
    /// Graceful stop on SIGTERM: readiness 503, a delay, then in-flight requests get a bound.
    pub drain: DrainConfig,
    /// Bounds on the HTTP connections of this component's listeners (`connections.rs`).
    pub connections: ConnectionsConfig,
    /// HTTPS on this component's HTTP listeners, optionally mutual TLS (`tls.rs`).
    pub tls: TlsConfig,
    /// HTTPS from this component's clients of the other components (`tls.rs`).
    pub client_tls: ClientTlsConfig,
    /// Pull-ahead of pushed tags of chosen repositories (`preheat.rs`); off by default.
    pub preheat: PreheatConfig,
    /// Private repositories: pulls that need the client's credentials (`pull_auth.rs`).
    pub pull_auth: PullAuthConfig,
}

pub fn default_registry_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 16000))
}

pub fn default_admin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 16002))
}

pub fn default_agent_peer() -> P2pConfig {
    P2pConfig::with_listen(SocketAddr::from(([127, 0, 0, 1], 16001)))
}

/// Loopback only: the node's own container runtime.
pub fn default_allowed_clients() -> Vec<IpNet> {
    ["127.0.0.1/32", "::1/128"]
        .iter()
        .map(|net| net.parse().expect("a valid CIDR literal"))
        .collect()
}

pub fn default_agent_tag_cache_ttl() -> Duration {
    Duration::from_secs(5)
}

/// Zone and rack names travel in announce URLs and are checked by trackers: 1 to 63
/// letters, digits, `.`, `_` or `-`.
fn locality_name(field: &str, value: &str) -> Result<()> {
    let valid = value.len() <= 63
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    if valid {
        Ok(())
    } else {
        Err(Error::invalid(
            field,
            format!("{value:?} must be at most 63 letters, digits, '.', '_' or '-'"),
        ))
    }
}

pub fn default_cluster_registries() -> Vec<String> {
    vec!["127.0.0.1:15000".into(), "localhost:15000".into()]
}

impl Default for AgentConfig {
    fn default() -> Self {
        Self {
            registry_listen: default_registry_listen(),
            admin_listen: default_admin_listen(),
            peer: default_agent_peer(),
            store: StoreConfig::default(),
            trackers: Vec::new(),
            build_index: Vec::new(),
            allowed_clients: default_allowed_clients(),
            zone: None,
            rack: None,
            tag_cache_ttl: default_agent_tag_cache_ttl(),
            cluster_registries: default_cluster_registries(),
            drain: DrainConfig::default(),
            connections: ConnectionsConfig::default(),
            tls: TlsConfig::default(),
            client_tls: ClientTlsConfig::default(),
            preheat: PreheatConfig::default(),
            pull_auth: PullAuthConfig::default(),
        }
    }
}

impl Component for AgentConfig {
    const NAME: &'static str = "agent";

    fn validate(&self) -> Result<()> {
        distinct_listens(&[
            ("registry_listen", self.registry_listen),
            ("admin_listen", self.admin_listen),
            ("peer.listen", self.peer.listen),
        ])?;
        self.peer.validate().map_err(|e| e.at("peer"))?;
        self.store.validate().map_err(|e| e.at("store"))?;
        host_list("trackers", &self.trackers, true)?;
        host_list("build_index", &self.build_index, true)?;
        if self.allowed_clients.is_empty() {
            return Err(Error::invalid(
                "allowed_clients",
                "must list at least one address, or no client could pull",
            ));
        }
        for (field, value) in [("zone", &self.zone), ("rack", &self.rack)] {
            if let Some(value) = value {
                non_empty(field, value)?;
                locality_name(field, value)?;
            }
        }
        for (i, registry) in self.cluster_registries.iter().enumerate() {
            if registry.trim().is_empty() || registry.contains('/') {
                return Err(Error::invalid(
                    format!("cluster_registries[{i}]"),
                    "must be a registry host such as 127.0.0.1:15000 (no scheme or path)",
                ));
            }
        }
        positive_duration("tag_cache_ttl", self.tag_cache_ttl)?;
        self.drain.validate().map_err(|e| e.at("drain"))?;
        self.connections
            .validate()
            .map_err(|e| e.at("connections"))?;
        self.tls.validate().map_err(|e| e.at("tls"))?;
        self.client_tls.validate().map_err(|e| e.at("client_tls"))?;
        self.preheat.validate().map_err(|e| e.at("preheat"))?;
        self.pull_auth.validate().map_err(|e| e.at("pull_auth"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_yaml_str, yaml_with};

    const MINIMAL: &str = "
store: {root: /tmp/starling/agent-0}
trackers: ['127.0.0.1:15003']
build_index: ['127.0.0.1:15004']
";

    fn invalid(extra: &str) -> String {
        from_yaml_str::<AgentConfig>(&yaml_with(MINIMAL, extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let cfg: AgentConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(cfg.registry_listen, default_registry_listen());
        assert_eq!(cfg.admin_listen, default_admin_listen());
        assert_eq!(cfg.peer, default_agent_peer());
        assert_eq!(cfg.peer.listen.port(), 16001);
        assert_eq!(cfg.allowed_clients, default_allowed_clients());
        assert_eq!((cfg.zone, cfg.rack), (None, None));
        assert_eq!(cfg.tag_cache_ttl, Duration::from_secs(5));
        assert_eq!(
            cfg.cluster_registries,
            ["127.0.0.1:15000", "localhost:15000"]
        );
    }

    #[test]
    fn a_second_agent_moves_every_port() {
        let cfg: AgentConfig = from_yaml_str(&format!(
            "{MINIMAL}registry_listen: 127.0.0.1:17000
admin_listen: 127.0.0.1:17002
peer: {{listen: 127.0.0.1:17001, egress_rate: 50MiB/s}}
allowed_clients: [127.0.0.1, 10.0.0.0/8, 'fd00::/8']
zone: us-east-1a
rack: r12
"
        ))
        .unwrap();
        assert_eq!(cfg.peer.listen.port(), 17001);
        assert_eq!(cfg.allowed_clients.len(), 3);
        assert_eq!(cfg.allowed_clients[0].to_string(), "127.0.0.1/32");
        assert!(
            cfg.allowed_clients[1].contains(&"10.200.3.4".parse::<std::net::IpAddr>().unwrap())
        );
        assert_eq!(cfg.zone.as_deref(), Some("us-east-1a"));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            invalid("admin_listen: 127.0.0.1:16000"),
            "agent.admin_listen: 127.0.0.1:16000 is already used by registry_listen"
        );
        assert_eq!(
            invalid("allowed_clients: []"),
            "agent.allowed_clients: must list at least one address, or no client could pull"
        );
        assert_eq!(invalid("zone: ''"), "agent.zone: must not be empty");
        assert_eq!(
            invalid("rack: 'r 12'"),
            "agent.rack: \"r 12\" must be at most 63 letters, digits, '.', '_' or '-'"
        );
        assert_eq!(
            invalid("cluster_registries: ['http://proxy:15000']"),
            "agent.cluster_registries[0]: must be a registry host such as 127.0.0.1:15000 \
             (no scheme or path)"
        );
        assert_eq!(
            invalid("peer: {listen: 127.0.0.1:16001, pipeline_depth: 0}"),
            "agent.peer.pipeline_depth: must be at least 1"
        );
        assert_eq!(
            from_yaml_str::<AgentConfig>("store: {root: /x}\nbuild_index: ['a:1']")
                .unwrap_err()
                .to_string(),
            "agent.trackers: at least one host:port is required"
        );
    }

    #[test]
    fn bad_values_name_the_field_and_line() {
        // The entry is named by its value and its line and column.
        let err = invalid("allowed_clients: [localhost]");
        assert!(
            err.contains("allowed_clients: \"localhost\" is not an IP address or CIDR network"),
            "{err}"
        );
        assert!(err.contains("line 5 column 18"), "{err}");
        let err = invalid("allowed_clients: [127.0.0.1, 10.0.0.0/33]");
        assert!(err.contains("allowed_clients: \"10.0.0.0/33\""), "{err}");
        let err = invalid("peer: {upload_slots: 3}");
        assert!(err.contains("peer: missing field `listen`"), "{err}");
        let err = invalid("tag_cache_tl: 5s");
        assert!(err.contains("unknown field `tag_cache_tl`"), "{err}");
        assert!(err.contains("line 5 column 1"), "{err}");
    }
}
