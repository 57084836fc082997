//! YAML configuration of every Starling component: types, parsing and validation only.
//!
//! Each component (origin, tracker, build-index, proxy, agent) has one top-level struct
//! implementing [`Component`]; it is built from shared sections (store, p2p, backends,
//! cluster). [`load`] reads a file, expands `${VAR}` environment placeholders
//! ([`expand`]), deserializes it (unknown keys are errors, and serde errors carry the
//! file path, line and column), validates it, and reads `*_file` credentials
//! ([`secrets`]); a validation error names the full field path, e.g.
//! `origin.store.low_watermark: must be below …`. Nothing here starts tasks or opens
//! sockets.

pub mod agent;
pub mod auth;
pub mod backend;
pub mod build_index;
pub mod cluster;
pub mod connections;
pub mod drain;
pub mod error;
pub mod expand;
pub mod nets;
pub mod notifications;
pub mod origin;
pub mod p2p;
pub mod pattern;
pub mod piece;
pub mod preheat;
pub mod proxy;
pub mod pull_auth;
pub mod retry;
mod rules;
mod secrets;
pub mod store;
pub mod tls;
pub mod tracker;
pub mod units;

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

pub use agent::AgentConfig;
pub use auth::AuthConfig;
pub use backend::{BackendConfig, NamespaceBackend, validate_backends};
pub use build_index::{BuildIndexConfig, RemoteConfig};
pub use cluster::{ClusterConfig, HealthCheckConfig};
pub use connections::ConnectionsConfig;
pub use drain::DrainConfig;
pub use error::{Error, Result};
pub use notifications::{NotificationEndpoint, NotificationsConfig};
pub use origin::{OriginConfig, WritebackConfig};
pub use p2p::P2pConfig;
pub use piece::{PieceLengthConfig, PieceStepConfig};
pub use preheat::{PreheatConfig, RepositoryPattern};
pub use proxy::ProxyConfig;
pub use pull_auth::PullAuthConfig;
pub use retry::RetryConfig;
pub use store::StoreConfig;
pub use tls::{ClientTlsConfig, TlsConfig};
pub use tracker::{TrackerConfig, default_trusted_networks};
pub use units::{ByteRate, ByteSize};

/// A component's top-level configuration.
pub trait Component: DeserializeOwned {
    /// The component name; prefixes the field path of validation errors from [`load`].
    const NAME: &'static str;

    /// Checks what serde cannot; errors name the field path relative to the component.
    fn validate(&self) -> Result<()>;

    /// Reads `*_file` credentials into their inline fields (after [`Self::validate`]);
    /// errors name the file field. Components without credentials keep the default.
    fn read_secret_files(&mut self) -> Result<()> {
        Ok(())
    }
}

/// Reads, parses and validates the configuration file at `path`.
pub fn load<T: Component>(path: &Path) -> Result<T> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Read {
        path: path.to_owned(),
        source,
    })?;
    parse(&text, path)
}

/// Parses and validates YAML text; errors name the source as `<string>`.
pub fn from_yaml_str<T: Component>(yaml: &str) -> Result<T> {
    parse(yaml, Path::new("<string>"))
}

fn parse<T: Component>(yaml: &str, path: &Path) -> Result<T> {
    let env = |name: &str| std::env::var(name).ok();
    let yaml = expand::expand(yaml, &env).map_err(|source| Error::Expand {
        path: PathBuf::from(path),
        source,
    })?;
    let mut config: T = serde_norway::from_str(&yaml).map_err(|source| Error::Parse {
        path: PathBuf::from(path),
        source,
    })?;
    config.validate().map_err(|e| e.at(T::NAME))?;
    config.read_secret_files().map_err(|e| e.at(T::NAME))?;
    Ok(config)
}

/// Builds test YAML: `base` with its top-level keys replaced by those set in `extra`.
#[cfg(test)]
pub(crate) fn yaml_with(base: &str, extra: &str) -> String {
    let key = |line: &str| line.split_once(':').map(|(k, _)| k.to_owned());
    let replaced: Vec<String> = extra
        .lines()
        .filter(|l| !l.starts_with(' '))
        .filter_map(key)
        .collect();
    let kept = base
        .lines()
        .filter(|l| key(l).is_none_or(|k| l.starts_with(' ') || !replaced.contains(&k)));
    kept.chain(extra.lines()).collect::<Vec<_>>().join("\n")
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn write_temp(yaml: &str) -> tempfile::NamedTempFile {
        let mut file = tempfile::Builder::new().suffix(".yaml").tempfile().unwrap();
        file.write_all(yaml.as_bytes()).unwrap();
        file
    }

    const AGENT: &str = "\
store: {root: /tmp/starling/agent-0}
trackers: ['127.0.0.1:15003']
build_index: ['127.0.0.1:15004']
";

    #[test]
    fn load_parses_and_validates_a_file() {
        let file = write_temp(AGENT);
        let agent: AgentConfig = load(file.path()).unwrap();
        assert_eq!(agent.trackers, ["127.0.0.1:15003"]);
    }

    #[test]
    fn parse_errors_name_the_file_line_and_field() {
        let file = write_temp(&format!(
            "{AGENT}peer:\n  listen: 127.0.0.1:16001\n  uplod_slots: 4\n"
        ));
        let err = load::<AgentConfig>(file.path()).unwrap_err();
        assert!(matches!(err, Error::Parse { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(text.contains("peer: unknown field `uplod_slots`"), "{text}");
        assert!(text.contains("line 6 column 3"), "{text}");
    }

    #[test]
    fn an_empty_file_reports_the_first_required_field() {
        let file = write_temp("");
        let err = load::<ProxyConfig>(file.path()).unwrap_err().to_string();
        assert_eq!(
            err,
            "proxy.origins.hosts: at least one host:port is required"
        );
    }

    #[test]
    fn validation_errors_are_prefixed_with_the_component() {
        let file = write_temp(&format!("{AGENT}tag_cache_ttl: 0s\n"));
        let err = load::<AgentConfig>(file.path()).unwrap_err();
        assert_eq!(
            err.to_string(),
            "agent.tag_cache_ttl: must be greater than 0s"
        );
        let unprefixed =
            serde_norway::from_str::<AgentConfig>(&format!("{AGENT}tag_cache_ttl: 0s"))
                .unwrap()
                .validate()
                .unwrap_err();
        assert_eq!(
            unprefixed.to_string(),
            "tag_cache_ttl: must be greater than 0s"
        );
    }

    #[test]
    fn environment_placeholders_are_expanded_before_parsing() {
        // A variable no other test sets, so parallel tests do not race on it.
        // SAFETY: the name is unique to this test and nothing reads it concurrently.
        unsafe { std::env::set_var("STARLING_CONFIG_TEST_IP", "10.9.8.7") };
        let file = write_temp(&format!(
            "{AGENT}peer: {{listen: '0.0.0.0:16001', advertise: '${{STARLING_CONFIG_TEST_IP}}:16001'}}\n\
             zone: ${{STARLING_CONFIG_TEST_UNSET_ZONE:-}}\n"
        ));
        let agent: AgentConfig = load(file.path()).unwrap();
        assert_eq!(agent.peer.advertise.as_deref(), Some("10.9.8.7:16001"));
        assert_eq!(agent.zone, None);

        let file = write_temp(&format!(
            "{AGENT}peer: {{listen: '0.0.0.0:16001', advertise: '${{STARLING_CONFIG_TEST_UNSET}}:1'}}\n"
        ));
        let err = load::<AgentConfig>(file.path()).unwrap_err();
        assert!(matches!(err, Error::Expand { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(&file.path().display().to_string()), "{text}");
        assert!(
            text.contains("line 4: environment variable STARLING_CONFIG_TEST_UNSET is not set"),
            "{text}"
        );
    }

    #[test]
    fn secret_files_are_read_at_load_and_missing_ones_name_the_field() {
        let dir = tempfile::tempdir().unwrap();
        let password = dir.path().join("password");
        std::fs::write(&password, "hunter2\n").unwrap();
        let origin = |path: &std::path::Path| {
            format!(
                "store: {{root: /x}}\ncluster: {{hosts: ['a:1']}}\nadvertise: a:1\n\
                 backends:\n  - namespace: .*\n    backend: {{type: registry, url: 'https://r', \
                 username: u, password_file: '{}'}}\n",
                path.display()
            )
        };
        let cfg: OriginConfig = from_yaml_str(&origin(&password)).unwrap();
        match &cfg.backends[0].backend {
            BackendConfig::Registry { password, .. } => {
                assert_eq!(password.as_deref(), Some("hunter2"))
            }
            other => panic!("{other:?}"),
        }
        let err = from_yaml_str::<OriginConfig>(&origin(&dir.path().join("gone")))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("origin.backends[0].backend.password_file: cannot read "),
            "{err}"
        );
    }

    #[test]
    fn errors_inside_a_tagged_backend_name_the_field() {
        let yaml = "
store: {root: /x}
cluster: {hosts: ['a:1']}
advertise: a:1
backends:
  - namespace: .*
    backend: {type: registry, url: 'https://r.example', timeout: soon}
";
        let err = from_yaml_str::<OriginConfig>(yaml).unwrap_err().to_string();
        // serde buffers a `type:`-tagged enum, so the path stops at the list entry; the
        // line still points at it.
        assert!(
            err.contains("backends[0]: invalid duration \"soon\""),
            "{err}"
        );
        assert!(err.contains("line 6"), "{err}");
    }

    #[test]
    fn a_serialized_config_reads_back_the_same() {
        let yaml = "
store: {root: /x, idle_ttl: 90m, low_watermark: 1GiB}
cluster: {hosts: ['a:1']}
advertise: a:1
peer: {listen: 127.0.0.1:15001, egress_rate: 100MiB/s}
backends:
  - namespace: team/.*
    backend: {type: s3, bucket: b, endpoint: 'http://127.0.0.1:9000', allow_http: true}
";
        let first: OriginConfig = from_yaml_str(yaml).unwrap();
        let text = serde_norway::to_string(&first).unwrap();
        let second: OriginConfig = from_yaml_str(&text).unwrap();
        assert_eq!(serde_norway::to_string(&second).unwrap(), text);
        assert!(text.contains("idle_ttl: 1h 30m"), "{text}");
        assert!(text.contains("namespace: team/.*"), "{text}");
        assert!(text.contains("egress_rate: 100MiB/s"), "{text}");
    }
}
