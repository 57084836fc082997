//! Configuration of an origin: the blob store that accepts uploads, reads through from
//! storage backends, generates metainfo, seeds to the swarm and writes blobs back to the
//! backends through a persistent queue.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::Component;
use crate::auth::AuthConfig;
use crate::backend::{NamespaceBackend, read_backend_secrets, validate_backends};
use crate::cluster::ClusterConfig;
use crate::connections::ConnectionsConfig;
use crate::drain::DrainConfig;
use crate::error::{Error, Result};
use crate::p2p::P2pConfig;
use crate::piece::PieceLengthConfig;
use crate::retry::{default_initial_backoff, default_max_backoff, validate_backoff};
use crate::rules::{at_least_one, distinct_listens, host_port, required_path};
use crate::store::StoreConfig;
use crate::tls::{ClientTlsConfig, TlsConfig};

/// The origin component.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct OriginConfig {
    /// HTTP address for the blob API, health and metrics.
    pub listen: SocketAddr,
    /// The seeder: peer port and limits. Agents dial `advertise`'s host on this port
    /// (trackers learn it from `GET /peer`); port 0 picks a free one.
    pub peer: P2pConfig,
    /// The local blob cache (its `root` is required).
    pub store: StoreConfig,
    /// Piece lengths used when generating metainfo.
    pub piece_lengths: PieceLengthConfig,
    /// Storage per namespace; blobs of a namespace matching no entry live only in `store`.
    pub backends: Vec<NamespaceBackend>,
    /// The origin ring; `hosts` are the origins' HTTP addresses.
    pub cluster: ClusterConfig,
    /// This origin's `host:port` exactly as it appears in `cluster.hosts` (required).
    pub advertise: String,
    /// The persistent queue that writes uploaded blobs to the backends.
    pub writeback: WritebackConfig,
    /// Graceful stop on SIGTERM: readiness 503, a delay, then in-flight requests get a bound.
    pub drain: DrainConfig,
    /// Bounds on the HTTP connections of this component's listeners (`connections.rs`).
    pub connections: ConnectionsConfig,
    /// HTTPS on this component's HTTP listeners, optionally mutual TLS (`tls.rs`).
    pub tls: TlsConfig,
    /// HTTPS from this component's clients of the other components (`tls.rs`).
    pub client_tls: ClientTlsConfig,
    /// The cluster's bearer token: required on writes here, sent on writes to other
    /// origins (replication). See `auth.rs`; unset, writes are open.
    pub auth: AuthConfig,
}

/// Write-back of uploaded blobs to the backends, retried with backoff across restarts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct WritebackConfig {
    /// SQLite queue file; `<store.root>/writeback.db` when unset.
    pub database: Option<PathBuf>,
    /// Attempts per blob before it is given up; 0 retries forever.
    pub max_attempts: u32,
    /// Wait after the first failure; doubles after each further failure.
    #[serde(with = "crate::units::duration")]
    pub initial_backoff: Duration,
    /// Upper bound of the wait between attempts.
    #[serde(with = "crate::units::duration")]
    pub max_backoff: Duration,
    /// Blobs written back concurrently.
    pub workers: usize,
}

pub fn default_origin_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 15002))
}

pub fn default_origin_peer() -> P2pConfig {
    P2pConfig::with_listen(SocketAddr::from(([127, 0, 0, 1], 15001)))
}

pub fn default_writeback_workers() -> usize {
    4
}

impl Default for OriginConfig {
    fn default() -> Self {
        Self {
            listen: default_origin_listen(),
            peer: default_origin_peer(),
            store: StoreConfig::default(),
            piece_lengths: PieceLengthConfig::default(),
            backends: Vec::new(),
            cluster: ClusterConfig::default(),
            advertise: String::new(),
            writeback: WritebackConfig::default(),
            drain: DrainConfig::default(),
            connections: ConnectionsConfig::default(),
            tls: TlsConfig::default(),
            client_tls: ClientTlsConfig::default(),
            auth: AuthConfig::default(),
        }
    }
}

impl Default for WritebackConfig {
    fn default() -> Self {
        Self {
            database: None,
            max_attempts: 0,
            initial_backoff: default_initial_backoff(),
            max_backoff: default_max_backoff(),
            workers: default_writeback_workers(),
        }
    }
}

impl WritebackConfig {
    /// The queue file: `database`, or `writeback.db` under the store root.
    pub fn database_path(&self, store: &StoreConfig) -> PathBuf {
        self.database
            .clone()
            .unwrap_or_else(|| store.root.join("writeback.db"))
    }

    pub fn validate(&self) -> Result<()> {
        if let Some(database) = &self.database {
            required_path("database", database)?;
        }
        validate_backoff(self.initial_backoff, self.max_backoff)?;
        at_least_one("workers", self.workers as u64)
    }
}

impl OriginConfig {
    /// The write-back queue file, resolved against the store root.
    pub fn writeback_database(&self) -> PathBuf {
        self.writeback.database_path(&self.store)
    }
}

impl Component for OriginConfig {
    const NAME: &'static str = "origin";

    fn validate(&self) -> Result<()> {
        distinct_listens(&[("listen", self.listen), ("peer.listen", self.peer.listen)])?;
        self.peer.validate().map_err(|e| e.at("peer"))?;
        self.store.validate().map_err(|e| e.at("store"))?;
        self.piece_lengths.policy()?;
        validate_backends("backends", &self.backends)?;
        self.cluster.validate().map_err(|e| e.at("cluster"))?;
        host_port("advertise", &self.advertise)?;
        if !self.cluster.hosts.contains(&self.advertise) {
            return Err(Error::invalid(
                "advertise",
                format!("{:?} must be one of cluster.hosts", self.advertise),
            ));
        }
        self.writeback.validate().map_err(|e| e.at("writeback"))?;
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
        self.auth.read_secret_files().map_err(|e| e.at("auth"))
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::{from_yaml_str, yaml_with};

    const MINIMAL: &str = "
store: {root: /tmp/starling/origin}
cluster: {hosts: ['127.0.0.1:15002']}
advertise: 127.0.0.1:15002
";

    fn invalid(extra: &str) -> String {
        from_yaml_str::<OriginConfig>(&yaml_with(MINIMAL, extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let cfg: OriginConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(cfg.listen, default_origin_listen());
        assert_eq!(cfg.peer, default_origin_peer());
        assert_eq!(cfg.peer.listen.port(), 15001);
        assert_eq!(cfg.piece_lengths, PieceLengthConfig::default());
        assert!(cfg.backends.is_empty());
        assert_eq!(cfg.writeback, WritebackConfig::default());
        assert_eq!(cfg.writeback.workers, 4);
        assert_eq!(cfg.writeback.max_backoff, Duration::from_secs(300));
        assert_eq!(
            cfg.writeback_database(),
            Path::new("/tmp/starling/origin/writeback.db")
        );
    }

    #[test]
    fn an_explicit_writeback_database_wins() {
        let cfg: OriginConfig =
            from_yaml_str(&format!("{MINIMAL}writeback: {{database: /var/lib/wb.db}}")).unwrap();
        assert_eq!(cfg.writeback_database(), Path::new("/var/lib/wb.db"));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            invalid("store: {root: /x, low_watermark: 200GiB}"),
            "origin.store.low_watermark: must be below high_watermark (100GiB)"
        );
        assert_eq!(
            invalid("advertise: 10.0.0.9:15002"),
            "origin.advertise: \"10.0.0.9:15002\" must be one of cluster.hosts"
        );
        assert_eq!(
            invalid("peer: {listen: 127.0.0.1:15002}"),
            "origin.peer.listen: 127.0.0.1:15002 is already used by listen"
        );
        assert_eq!(
            invalid("writeback: {workers: 0}"),
            "origin.writeback.workers: must be at least 1"
        );
        assert!(invalid("piece_lengths: {largest: 1000}").starts_with("origin.piece_lengths: "),);
        assert_eq!(
            invalid("backends: [{namespace: .*, backend: {type: s3, bucket: ''}}]"),
            "origin.backends[0].backend.bucket: must not be empty"
        );
        assert_eq!(
            from_yaml_str::<OriginConfig>("advertise: a:1")
                .unwrap_err()
                .to_string(),
            "origin.store.root: required"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = invalid("writeback: {worker: 2}");
        assert!(err.contains("writeback: unknown field `worker`"), "{err}");
        assert!(
            err.starts_with("cannot parse config file <string>: "),
            "{err}"
        );
    }
}
