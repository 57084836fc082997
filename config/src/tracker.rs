//! Configuration of the tracker: BitTorrent HTTP announce, peer hand-out and metainfo
//! lookup. The tracker keeps no state on disk, so it needs no store section.

use std::net::SocketAddr;
use std::time::Duration;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::Component;
use crate::cluster::ClusterConfig;
use crate::connections::ConnectionsConfig;
use crate::drain::DrainConfig;
use crate::error::{Error, Result};
use crate::rules::{at_least_one, host_list, host_port, positive_duration};
use crate::tls::{ClientTlsConfig, TlsConfig};

/// The tracker component: where it listens, how long peers stay listed, and which
/// origins it asks for metainfo.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct TrackerConfig {
    /// HTTP address for `/announce`, metainfo lookups, health and metrics.
    pub listen: SocketAddr,
    /// `interval` sent to agents: how often they announce.
    #[serde(with = "crate::units::duration")]
    pub announce_interval: Duration,
    /// A peer that has not announced for this long is dropped; must exceed `announce_interval`.
    #[serde(with = "crate::units::duration")]
    pub peer_ttl: Duration,
    /// Most peers handed out per announce.
    pub announce_limit: usize,
    /// Most peers of one swarm at one IP address; one more evicts the entry of that IP
    /// that announced least recently. Not applied to announces from `trusted_networks`,
    /// where many peers may share an address (a one-host cluster, SNAT).
    pub max_peers_per_ip: usize,
    /// The origin ring, asked for metainfo and listed as seeders of the blobs whose
    /// metainfo this tracker served (origins do not announce).
    pub origins: ClusterConfig,
    /// The tracker ring (`host:port`), sharded by blob digest; empty means just this tracker.
    pub trackers: Vec<String>,
    /// This tracker's `host:port` as agents reach it; the announce URL in metainfo (required).
    pub advertise: String,
    /// How long metainfo fetched from an origin is cached.
    #[serde(with = "crate::units::duration")]
    pub metainfo_cache_ttl: Duration,
    /// Networks (CIDR) whose announces may name the peer's address with `ip=`: the
    /// agents' own networks when they sit behind SNAT, an L4 proxy or a sidecar.
    /// From anywhere else the connection's source address is used. A loopback `ip=`
    /// is taken only from a loopback peer, whatever this says.
    pub trusted_networks: Vec<IpNet>,
    /// Graceful stop on SIGTERM: readiness 503, a delay, then in-flight requests get a bound.
    pub drain: DrainConfig,
    /// Bounds on the HTTP connections of this component's listeners (`connections.rs`).
    pub connections: ConnectionsConfig,
    /// HTTPS on this component's HTTP listeners, optionally mutual TLS (`tls.rs`).
    pub tls: TlsConfig,
    /// HTTPS from this component's clients of the other components (`tls.rs`).
    pub client_tls: ClientTlsConfig,
}

pub fn default_tracker_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 15003))
}

pub fn default_announce_interval() -> Duration {
    Duration::from_secs(30)
}

pub fn default_peer_ttl() -> Duration {
    Duration::from_secs(90)
}

pub fn default_announce_limit() -> usize {
    50
}

/// Above what one host legitimately runs per swarm, far below a hand-out (`announce_limit`).
pub fn default_max_peers_per_ip() -> usize {
    8
}

pub fn default_metainfo_cache_ttl() -> Duration {
    Duration::from_secs(600)
}

/// Loopback only: local tooling and a one-host cluster may announce for others.
pub fn default_trusted_networks() -> Vec<IpNet> {
    ["127.0.0.0/8", "::1/128"]
        .iter()
        .map(|net| net.parse().expect("a valid CIDR literal"))
        .collect()
}

impl Default for TrackerConfig {
    fn default() -> Self {
        Self {
            listen: default_tracker_listen(),
            announce_interval: default_announce_interval(),
            peer_ttl: default_peer_ttl(),
            announce_limit: default_announce_limit(),
            max_peers_per_ip: default_max_peers_per_ip(),
            origins: ClusterConfig::default(),
            trackers: Vec::new(),
            advertise: String::new(),
            metainfo_cache_ttl: default_metainfo_cache_ttl(),
            trusted_networks: default_trusted_networks(),
            drain: DrainConfig::default(),
            connections: ConnectionsConfig::default(),
            tls: TlsConfig::default(),
            client_tls: ClientTlsConfig::default(),
        }
    }
}

impl TrackerConfig {
    /// The announce URL written into metainfo.
    pub fn announce_url(&self) -> String {
        format!("http://{}/announce", self.advertise)
    }
}

impl Component for TrackerConfig {
    const NAME: &'static str = "tracker";

    fn validate(&self) -> Result<()> {
        positive_duration("announce_interval", self.announce_interval)?;
        if self.peer_ttl <= self.announce_interval {
            return Err(Error::invalid(
                "peer_ttl",
                format!(
                    "must exceed announce_interval ({}), or every peer expires between announces",
                    humantime::format_duration(self.announce_interval)
                ),
            ));
        }
        at_least_one("announce_limit", self.announce_limit as u64)?;
        at_least_one("max_peers_per_ip", self.max_peers_per_ip as u64)?;
        self.origins.validate().map_err(|e| e.at("origins"))?;
        host_list("trackers", &self.trackers, false)?;
        host_port("advertise", &self.advertise)?;
        if !self.trackers.is_empty() && !self.trackers.contains(&self.advertise) {
            return Err(Error::invalid(
                "advertise",
                format!("{:?} must be one of trackers", self.advertise),
            ));
        }
        positive_duration("metainfo_cache_ttl", self.metainfo_cache_ttl)?;
        self.drain.validate().map_err(|e| e.at("drain"))?;
        self.connections
            .validate()
            .map_err(|e| e.at("connections"))?;
        self.tls.validate().map_err(|e| e.at("tls"))?;
        self.client_tls.validate().map_err(|e| e.at("client_tls"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_yaml_str, yaml_with};

    const MINIMAL: &str = "
advertise: 127.0.0.1:15003
origins: {hosts: ['127.0.0.1:15002']}
";

    fn invalid(extra: &str) -> String {
        from_yaml_str::<TrackerConfig>(&yaml_with(MINIMAL, extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let cfg: TrackerConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(cfg.listen, default_tracker_listen());
        assert_eq!(cfg.announce_interval, Duration::from_secs(30));
        assert_eq!(cfg.peer_ttl, Duration::from_secs(90));
        assert_eq!(cfg.announce_limit, 50);
        assert_eq!(cfg.max_peers_per_ip, 8);
        assert_eq!(cfg.metainfo_cache_ttl, Duration::from_secs(600));
        assert!(cfg.trackers.is_empty());
        assert_eq!(cfg.origins.replicas, 3);
        assert_eq!(cfg.announce_url(), "http://127.0.0.1:15003/announce");
        assert_eq!(cfg.trusted_networks, default_trusted_networks());
    }

    #[test]
    fn trusted_networks_are_cidr_ranges() {
        let cfg: TrackerConfig = from_yaml_str(&yaml_with(
            MINIMAL,
            "trusted_networks: [10.0.0.0/8, 'fd00::/8']",
        ))
        .unwrap();
        assert_eq!(cfg.trusted_networks.len(), 2);
        assert!(cfg.trusted_networks[0].contains(&"10.2.3.4".parse::<std::net::IpAddr>().unwrap()));
        let err = invalid("trusted_networks: [10.0.0.0/33]");
        assert!(err.contains("trusted_networks"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            invalid("peer_ttl: 30s"),
            "tracker.peer_ttl: must exceed announce_interval (30s), \
             or every peer expires between announces"
        );
        assert_eq!(
            invalid("announce_limit: 0"),
            "tracker.announce_limit: must be at least 1"
        );
        assert_eq!(
            invalid("max_peers_per_ip: 0"),
            "tracker.max_peers_per_ip: must be at least 1"
        );
        assert_eq!(
            invalid("trackers: ['10.0.0.1:15003']"),
            "tracker.advertise: \"127.0.0.1:15003\" must be one of trackers"
        );
        let err = from_yaml_str::<TrackerConfig>("advertise: 127.0.0.1:15003")
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "tracker.origins.hosts: at least one host:port is required"
        );
        let err = from_yaml_str::<TrackerConfig>("origins: {hosts: ['a:1']}")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("tracker.advertise: \"\": expected host:port"),
            "{err}"
        );
    }

    #[test]
    fn a_tracker_ring_including_this_tracker_is_valid() {
        let cfg: TrackerConfig = from_yaml_str(&format!(
            "{MINIMAL}trackers: ['127.0.0.1:15003', '127.0.0.1:15013']"
        ))
        .unwrap();
        assert_eq!(cfg.trackers.len(), 2);
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = invalid("anounce_limit: 5");
        assert!(err.contains("unknown field `anounce_limit`"), "{err}");
    }
}
