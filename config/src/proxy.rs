//! Configuration of the proxy: the Registry v2 push and pull endpoint for CI and
//! builders. It keeps no state beyond uploads in progress; blobs go to the origin ring
//! and tags to the build-index.

use std::net::SocketAddr;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::Component;
use crate::auth::AuthConfig;
use crate::cluster::ClusterConfig;
use crate::connections::ConnectionsConfig;
use crate::drain::DrainConfig;
use crate::error::{Error, Result};
use crate::notifications::NotificationsConfig;
use crate::rules::{host_list, required_path};
use crate::tls::{ClientTlsConfig, TlsConfig};
use crate::units::ByteSize;

/// The proxy component.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct ProxyConfig {
    /// HTTP address of the registry API, health and metrics.
    pub listen: SocketAddr,
    /// The origin ring that stores blobs.
    pub origins: ClusterConfig,
    /// Build-index hosts (`host:port`) that store tags (required, at least one).
    pub build_index: Vec<String>,
    /// Apache htpasswd file (bcrypt) for basic auth; no authentication when unset.
    pub htpasswd: Option<PathBuf>,
    /// Largest manifest accepted on push; manifests are held in memory.
    pub max_manifest_size: ByteSize,
    /// Temp area for uploads in progress (required).
    pub upload_dir: PathBuf,
    /// Chunked uploads open at once, all clients together; past it, starting one
    /// answers 429 TOOMANYREQUESTS.
    pub max_uploads: usize,
    /// Chunked uploads open at once from one client IP address.
    pub max_uploads_per_client: usize,
    /// Graceful stop on SIGTERM: readiness 503, a delay, then in-flight requests get a bound.
    pub drain: DrainConfig,
    /// Bounds on the HTTP connections of this component's listeners (`connections.rs`).
    pub connections: ConnectionsConfig,
    /// HTTPS on this component's HTTP listeners, optionally mutual TLS (`tls.rs`).
    pub tls: TlsConfig,
    /// HTTPS from this component's clients of the other components (`tls.rs`).
    pub client_tls: ClientTlsConfig,
    /// The cluster's bearer token, sent on blob uploads to origins and tag puts to the
    /// build-index. See `auth.rs`.
    pub auth: AuthConfig,
    /// Where push events are posted (`notifications.rs`); none by default.
    pub notifications: NotificationsConfig,
}

pub fn default_proxy_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 15000))
}

pub const DEFAULT_MAX_UPLOADS: usize = 1024;
pub const DEFAULT_MAX_UPLOADS_PER_CLIENT: usize = 64;

pub fn default_max_manifest_size() -> ByteSize {
    ByteSize::mib(4)
}

impl Default for ProxyConfig {
    fn default() -> Self {
        Self {
            listen: default_proxy_listen(),
            origins: ClusterConfig::default(),
            build_index: Vec::new(),
            htpasswd: None,
            max_manifest_size: default_max_manifest_size(),
            upload_dir: PathBuf::new(),
            max_uploads: DEFAULT_MAX_UPLOADS,
            max_uploads_per_client: DEFAULT_MAX_UPLOADS_PER_CLIENT,
            drain: DrainConfig::default(),
            connections: ConnectionsConfig::default(),
            tls: TlsConfig::default(),
            client_tls: ClientTlsConfig::default(),
            auth: AuthConfig::default(),
            notifications: NotificationsConfig::default(),
        }
    }
}

impl Component for ProxyConfig {
    const NAME: &'static str = "proxy";

    fn validate(&self) -> Result<()> {
        self.origins.validate().map_err(|e| e.at("origins"))?;
        host_list("build_index", &self.build_index, true)?;
        if let Some(htpasswd) = &self.htpasswd {
            required_path("htpasswd", htpasswd)?;
        }
        if self.max_manifest_size.as_u64() == 0 {
            return Err(Error::invalid("max_manifest_size", "must be above 0B"));
        }
        required_path("upload_dir", &self.upload_dir)?;
        if self.max_uploads == 0 {
            return Err(Error::invalid("max_uploads", "must be at least 1"));
        }
        if self.max_uploads_per_client == 0 {
            return Err(Error::invalid(
                "max_uploads_per_client",
                "must be at least 1",
            ));
        }
        self.drain.validate().map_err(|e| e.at("drain"))?;
        self.connections
            .validate()
            .map_err(|e| e.at("connections"))?;
        self.tls.validate().map_err(|e| e.at("tls"))?;
        self.client_tls.validate().map_err(|e| e.at("client_tls"))?;
        self.auth.validate().map_err(|e| e.at("auth"))?;
        self.notifications
            .validate()
            .map_err(|e| e.at("notifications"))
    }

    fn read_secret_files(&mut self) -> Result<()> {
        self.auth.read_secret_files().map_err(|e| e.at("auth"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_yaml_str, yaml_with};

    const MINIMAL: &str = "
origins: {hosts: ['127.0.0.1:15002']}
build_index: ['127.0.0.1:15004']
upload_dir: /tmp/starling/proxy/uploads
";

    fn invalid(extra: &str) -> String {
        from_yaml_str::<ProxyConfig>(&yaml_with(MINIMAL, extra))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn defaults() {
        let cfg: ProxyConfig = from_yaml_str(MINIMAL).unwrap();
        assert_eq!(cfg.listen, default_proxy_listen());
        assert_eq!(cfg.max_manifest_size.to_string(), "4MiB");
        assert!(cfg.htpasswd.is_none());
        assert_eq!((cfg.max_uploads, cfg.max_uploads_per_client), (1024, 64));
    }

    #[test]
    fn validation_names_the_field() {
        assert_eq!(
            invalid("build_index: []"),
            "proxy.build_index: at least one host:port is required"
        );
        assert_eq!(
            invalid("max_manifest_size: 0"),
            "proxy.max_manifest_size: must be above 0B"
        );
        assert_eq!(
            invalid("max_uploads_per_client: 0"),
            "proxy.max_uploads_per_client: must be at least 1"
        );
        assert_eq!(
            invalid("connections: {header_read_timeout: 0s}"),
            "proxy.connections.header_read_timeout: must be greater than 0s"
        );
        assert_eq!(
            invalid("tls: {cert_file: /etc/tls/cert.pem}"),
            "proxy.tls.key_file: cert_file needs a key_file"
        );
        assert_eq!(
            invalid("client_tls: {key_file: /etc/tls/client.key}"),
            "proxy.client_tls.cert_file: key_file needs a cert_file"
        );
        assert_eq!(
            invalid("origins: {hosts: ['a:1'], replicas: 0}"),
            "proxy.origins.replicas: must be at least 1"
        );
        assert_eq!(
            invalid("notifications: {endpoints: [{name: o, url: 'origin:15002'}]}"),
            "proxy.notifications.endpoints[0].url: \"origin:15002\" must start with http:// or https://"
        );
        assert_eq!(
            from_yaml_str::<ProxyConfig>("origins: {hosts: ['a:1']}\nbuild_index: ['b:2']")
                .unwrap_err()
                .to_string(),
            "proxy.upload_dir: required"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = invalid("max_manifest: 1MiB");
        assert!(err.contains("unknown field `max_manifest`"), "{err}");
    }
}
