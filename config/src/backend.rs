//! Storage backends, chosen per namespace by regex.
//!
//! A component holds an ordered `backends:` list of [`NamespaceBackend`]; the first entry
//! whose `namespace` pattern matches the whole repository name
//! ([`NamespaceBackend::matches`]) serves it. [`BackendConfig`] is tagged by `type:` and
//! only says where data lives and how to authenticate; the backend crate builds the
//! client from it.

use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;
use serde::{Deserialize, Serialize};
use starling_core::registry_name::registry_component;

use crate::error::{Error, Result};
use crate::pattern;
use crate::rules::{http_url, non_empty, positive_duration, required_path};
use crate::secrets::{one_of, take_file};

/// One `backends:` entry: the namespaces it serves and where their data lives.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceBackend {
    /// Regex that must match the whole namespace (repository name), e.g. `library/.*`.
    #[serde(with = "crate::pattern")]
    pub namespace: Regex,
    /// The storage behind the matching namespaces.
    pub backend: BackendConfig,
}

/// A storage backend, selected by `type:`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum BackendConfig {
    /// A directory on local disk; used by `starling dev` and single-host setups.
    Filesystem {
        /// Directory holding the data; created if missing.
        root: PathBuf,
    },
    /// Amazon S3 or an S3-compatible server (MinIO, Ceph RGW).
    S3 {
        /// Bucket name.
        bucket: String,
        /// Region of the bucket.
        #[serde(default = "default_s3_region")]
        region: String,
        /// Endpoint URL for S3-compatible servers; AWS when unset.
        #[serde(default)]
        endpoint: Option<String>,
        /// Static access key id; the environment or instance role is used when unset.
        #[serde(default)]
        access_key_id: Option<String>,
        /// Static secret key, set together with `access_key_id`.
        #[serde(default)]
        secret_access_key: Option<String>,
        /// File holding the secret key, instead of `secret_access_key`.
        #[serde(default)]
        secret_access_key_file: Option<PathBuf>,
        /// Allow a plain `http://` endpoint (local MinIO).
        #[serde(default)]
        allow_http: bool,
        /// Key prefix inside the bucket.
        #[serde(default)]
        prefix: String,
    },
    /// Google Cloud Storage.
    Gcs {
        /// Bucket name.
        bucket: String,
        /// Service-account JSON key; application default credentials when unset.
        #[serde(default)]
        service_account_path: Option<PathBuf>,
        /// Key prefix inside the bucket.
        #[serde(default)]
        prefix: String,
    },
    /// Azure Blob Storage.
    Azure {
        /// Storage account name.
        account: String,
        /// Blob container name.
        container: String,
        /// Account access key; the environment's credentials are used when unset.
        #[serde(default)]
        access_key: Option<String>,
        /// File holding the access key, instead of `access_key`.
        #[serde(default)]
        access_key_file: Option<PathBuf>,
        /// Key prefix inside the container.
        #[serde(default)]
        prefix: String,
    },
    /// A plain HTTP server holding blobs under a base URL (WebDAV-style PUT for uploads).
    Http {
        /// Base URL, `http://` or `https://`.
        url: String,
    },
    /// A Docker Registry v2 read through on a miss (e.g. Docker Hub), with token auth.
    Registry {
        /// Registry base URL, e.g. `https://registry-1.docker.io`.
        url: String,
        /// Registry user, set together with `password`; anonymous when both are unset.
        #[serde(default)]
        username: Option<String>,
        /// Registry password or token.
        #[serde(default)]
        password: Option<String>,
        /// File holding the password or token, instead of `password`.
        #[serde(default)]
        password_file: Option<PathBuf>,
        /// Timeout of one request to the registry.
        #[serde(default = "default_registry_timeout", with = "crate::units::duration")]
        timeout: Duration,
        /// The registry this one mirrors or is, as clients name it (`docker.io`,
        /// `harbor.corp:443`): Starling's names for its images start with that registry
        /// (`docker.io/library/alpine`), and this component is stripped before asking the
        /// upstream (`library/alpine`). Unset: names go upstream unchanged.
        #[serde(default)]
        mirror_of: Option<String>,
    },
}

pub fn default_s3_region() -> String {
    "us-east-1".to_owned()
}

pub fn default_registry_timeout() -> Duration {
    Duration::from_secs(60)
}

impl NamespaceBackend {
    /// A filesystem backend serving the namespaces matching `namespace`.
    pub fn filesystem(namespace: &str, root: impl Into<PathBuf>) -> Result<Self> {
        let namespace =
            pattern::anchored(namespace).map_err(|e| Error::invalid("namespace", e.to_string()))?;
        let backend = BackendConfig::Filesystem { root: root.into() };
        Ok(Self { namespace, backend })
    }

    /// Whether this entry serves `namespace` (a whole-name match).
    pub fn matches(&self, namespace: &str) -> bool {
        self.namespace.is_match(namespace)
    }

    pub fn validate(&self) -> Result<()> {
        self.backend.validate().map_err(|e| e.at("backend"))
    }

    /// Reads the backend's `*_file` credentials (see [`crate::secrets`]).
    pub fn read_secret_files(&mut self) -> Result<()> {
        self.backend
            .read_secret_files()
            .map_err(|e| e.at("backend"))
    }
}

impl BackendConfig {
    /// The `type:` tag, for logs and metric labels.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Filesystem { .. } => "filesystem",
            Self::S3 { .. } => "s3",
            Self::Gcs { .. } => "gcs",
            Self::Azure { .. } => "azure",
            Self::Http { .. } => "http",
            Self::Registry { .. } => "registry",
        }
    }

    pub fn validate(&self) -> Result<()> {
        match self {
            Self::Filesystem { root } => required_path("root", root),
            Self::S3 {
                bucket,
                region,
                endpoint,
                access_key_id,
                secret_access_key,
                secret_access_key_file,
                allow_http,
                ..
            } => {
                non_empty("bucket", bucket)?;
                non_empty("region", region)?;
                if let Some(endpoint) = endpoint {
                    http_url("endpoint", endpoint)?;
                    if endpoint.starts_with("http://") && !allow_http {
                        return Err(Error::invalid(
                            "allow_http",
                            format!("must be true to use the plain-http endpoint {endpoint}"),
                        ));
                    }
                }
                one_of(
                    ("secret_access_key", secret_access_key),
                    ("secret_access_key_file", secret_access_key_file),
                )?;
                both_or_neither(
                    ("access_key_id", access_key_id.is_some()),
                    (
                        "secret_access_key",
                        secret_access_key.is_some() || secret_access_key_file.is_some(),
                    ),
                )
            }
            Self::Gcs { bucket, .. } => non_empty("bucket", bucket),
            Self::Azure {
                account,
                container,
                access_key,
                access_key_file,
                ..
            } => {
                non_empty("account", account)?;
                non_empty("container", container)?;
                one_of(
                    ("access_key", access_key),
                    ("access_key_file", access_key_file),
                )
            }
            Self::Http { url } => http_url("url", url),
            Self::Registry {
                url,
                username,
                password,
                password_file,
                timeout,
                mirror_of,
            } => {
                http_url("url", url)?;
                if let Some(registry) = mirror_of {
                    registry_component(registry).map_err(|_| {
                        Error::invalid(
                            "mirror_of",
                            format!("{registry:?} is not a registry host or host:port"),
                        )
                    })?;
                }
                one_of(("password", password), ("password_file", password_file))?;
                both_or_neither(
                    ("username", username.is_some()),
                    ("password", password.is_some() || password_file.is_some()),
                )?;
                positive_duration("timeout", *timeout)
            }
        }
    }

    /// Reads every `*_file` credential into its inline field and clears the file field;
    /// run after [`Self::validate`]. Errors name the file field.
    pub fn read_secret_files(&mut self) -> Result<()> {
        match self {
            Self::S3 {
                secret_access_key,
                secret_access_key_file,
                ..
            } => take_file(
                "secret_access_key_file",
                secret_access_key,
                secret_access_key_file,
            ),
            Self::Azure {
                access_key,
                access_key_file,
                ..
            } => take_file("access_key_file", access_key, access_key_file),
            Self::Registry {
                password,
                password_file,
                ..
            } => take_file("password_file", password, password_file),
            Self::Filesystem { .. } | Self::Gcs { .. } | Self::Http { .. } => Ok(()),
        }
    }
}

/// Credentials come in pairs: half a pair is always a mistake.
fn both_or_neither(a: (&str, bool), b: (&str, bool)) -> Result<()> {
    match (a.1, b.1) {
        (true, false) => Err(Error::invalid(b.0, format!("required when {} is set", a.0))),
        (false, true) => Err(Error::invalid(a.0, format!("required when {} is set", b.0))),
        _ => Ok(()),
    }
}

/// Reads the `*_file` credentials of every entry of a `backends:` list at `field`.
pub fn read_backend_secrets(field: &str, list: &mut [NamespaceBackend]) -> Result<()> {
    for (i, entry) in list.iter_mut().enumerate() {
        entry
            .read_secret_files()
            .map_err(|e| e.at(&format!("{field}[{i}]")))?;
    }
    Ok(())
}

/// Validates a `backends:` list at `field`; a pattern repeated verbatim would shadow the
/// later entry forever, so it is rejected.
pub fn validate_backends(field: &str, list: &[NamespaceBackend]) -> Result<()> {
    for (i, entry) in list.iter().enumerate() {
        let item = format!("{field}[{i}]");
        entry.validate().map_err(|e| e.at(&item))?;
        let source = pattern::source(&entry.namespace);
        if let Some(j) = list[..i]
            .iter()
            .position(|e| pattern::source(&e.namespace) == source)
        {
            return Err(Error::invalid(
                format!("{item}.namespace"),
                format!("{source:?} repeats {field}[{j}].namespace, so this entry is never used"),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Vec<NamespaceBackend> {
        serde_norway::from_str(yaml).unwrap()
    }

    fn invalid(yaml: &str) -> String {
        validate_backends("backends", &parse(yaml))
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn every_backend_type_parses_with_defaults() {
        let list = parse(
            "
- namespace: local/.*
  backend: {type: filesystem, root: ./data/backend}
- namespace: s3/.*
  backend: {type: s3, bucket: blobs}
- namespace: gcs/.*
  backend: {type: gcs, bucket: blobs}
- namespace: azure/.*
  backend: {type: azure, account: acct, container: blobs}
- namespace: http/.*
  backend: {type: http, url: 'http://127.0.0.1:8080/blobs'}
- namespace: .*
  backend: {type: registry, url: 'https://registry-1.docker.io'}
",
        );
        validate_backends("backends", &list).unwrap();
        let kinds: Vec<_> = list.iter().map(|b| b.backend.kind()).collect();
        assert_eq!(
            kinds,
            ["filesystem", "s3", "gcs", "azure", "http", "registry"]
        );
        match &list[1].backend {
            BackendConfig::S3 {
                region,
                endpoint,
                allow_http,
                prefix,
                access_key_id,
                ..
            } => {
                assert_eq!(region, "us-east-1");
                assert_eq!((endpoint, allow_http, prefix.as_str()), (&None, &false, ""));
                assert!(access_key_id.is_none());
            }
            other => panic!("{other:?}"),
        }
        match &list[5].backend {
            BackendConfig::Registry { timeout, .. } => {
                assert_eq!(*timeout, Duration::from_secs(60))
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn s3_compatible_endpoint_with_credentials() {
        let list = parse(
            "
- namespace: .*
  backend:
    type: s3
    bucket: starling
    region: eu-west-1
    endpoint: http://127.0.0.1:9000
    allow_http: true
    access_key_id: minio
    secret_access_key: minio123
    prefix: blobs/
",
        );
        validate_backends("backends", &list).unwrap();
    }

    #[test]
    fn entries_match_whole_names() {
        let built = NamespaceBackend::filesystem("team/.*", "/tmp/starling/team").unwrap();
        assert!(built.matches("team/app"));
        assert!(!built.matches("other/team/app"));
        assert!(NamespaceBackend::filesystem("(team", "/x").is_err());
    }

    #[test]
    fn validation_names_the_field() {
        let cases = [
            (
                "backend: {type: s3, bucket: ''}",
                "backends[0].backend.bucket: must not be empty",
            ),
            (
                "backend: {type: s3, bucket: b, endpoint: 'http://127.0.0.1:9000'}",
                "backends[0].backend.allow_http: must be true",
            ),
            (
                "backend: {type: s3, bucket: b, access_key_id: k}",
                "backends[0].backend.secret_access_key: required when access_key_id is set",
            ),
            (
                "backend: {type: gcs, bucket: ' '}",
                "backends[0].backend.bucket: must not be empty",
            ),
            (
                "backend: {type: azure, account: a, container: ''}",
                "backends[0].backend.container: must not be empty",
            ),
            (
                "backend: {type: http, url: 'example.com/blobs'}",
                "backends[0].backend.url: \"example.com/blobs\" must start with http://",
            ),
            (
                "backend: {type: registry, url: 'https://r.example', password: p}",
                "backends[0].backend.username: required when password is set",
            ),
            (
                "backend: {type: registry, url: 'https://r.example', timeout: 0s}",
                "backends[0].backend.timeout: must be greater than 0s",
            ),
            (
                "backend: {type: filesystem, root: ''}",
                "backends[0].backend.root: required",
            ),
        ];
        for (backend, expected) in cases {
            let err = invalid(&format!("- namespace: .*\n  {backend}"));
            assert!(err.starts_with(expected), "{err}\nexpected: {expected}");
        }
    }

    #[test]
    fn credentials_come_inline_or_from_a_file() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "from-file\n").unwrap();
        let path = secret.display();
        let mut list = parse(&format!(
            "
- namespace: a/.*
  backend: {{type: registry, url: 'https://r.example', username: u, password_file: '{path}'}}
- namespace: b/.*
  backend: {{type: s3, bucket: b, access_key_id: k, secret_access_key_file: '{path}'}}
- namespace: c/.*
  backend: {{type: azure, account: a, container: c, access_key_file: '{path}'}}
"
        ));
        validate_backends("backends", &list).unwrap();
        read_backend_secrets("backends", &mut list).unwrap();
        match &list[0].backend {
            BackendConfig::Registry {
                password,
                password_file,
                ..
            } => assert_eq!(
                (password.as_deref(), password_file),
                (Some("from-file"), &None)
            ),
            other => panic!("{other:?}"),
        }
        match &list[1].backend {
            BackendConfig::S3 {
                secret_access_key, ..
            } => assert_eq!(secret_access_key.as_deref(), Some("from-file")),
            other => panic!("{other:?}"),
        }
        match &list[2].backend {
            BackendConfig::Azure { access_key, .. } => {
                assert_eq!(access_key.as_deref(), Some("from-file"))
            }
            other => panic!("{other:?}"),
        }

        let cases = [
            (
                "backend: {type: registry, url: 'https://r', username: u, password: p, password_file: /p}",
                "backends[0].backend.password_file: set either password or password_file, not both",
            ),
            (
                "backend: {type: registry, url: 'https://r', password_file: /p}",
                "backends[0].backend.username: required when password is set",
            ),
            (
                "backend: {type: s3, bucket: b, secret_access_key_file: /s}",
                "backends[0].backend.access_key_id: required when secret_access_key is set",
            ),
            (
                "backend: {type: azure, account: a, container: c, access_key: k, access_key_file: /k}",
                "backends[0].backend.access_key_file: set either access_key or access_key_file, not both",
            ),
        ];
        for (backend, expected) in cases {
            assert_eq!(invalid(&format!("- namespace: .*\n  {backend}")), expected);
        }

        let mut missing = parse(
            "- namespace: .*\n  backend: {type: registry, url: 'https://r', username: u, password_file: /no/such/file}",
        );
        let err = read_backend_secrets("backends", &mut missing)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("backends[0].backend.password_file: cannot read /no/such/file"),
            "{err}"
        );
    }

    #[test]
    fn a_repeated_pattern_is_rejected() {
        let err = invalid(
            "
- namespace: a/.*
  backend: {type: gcs, bucket: x}
- namespace: a/.*
  backend: {type: gcs, bucket: y}
",
        );
        assert!(
            err.starts_with("backends[1].namespace: \"a/.*\" repeats backends[0]"),
            "{err}"
        );
    }

    #[test]
    fn unknown_types_and_keys_are_rejected_by_name() {
        let err = serde_norway::from_str::<Vec<NamespaceBackend>>(
            "- namespace: .*\n  backend: {type: ftp, root: /x}",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown variant `ftp`"), "{err}");
        let err = serde_norway::from_str::<Vec<NamespaceBackend>>(
            "- namespace: .*\n  backend: {type: s3, bucket: b, regoin: x}",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `regoin`"), "{err}");
        let err = serde_norway::from_str::<Vec<NamespaceBackend>>(
            "- namespace: '(x'\n  backend: {type: gcs, bucket: b}",
        )
        .unwrap_err()
        .to_string();
        assert!(err.starts_with(".[0].namespace: invalid regex"), "{err}");
        assert!(err.contains("line 1 column 14"), "{err}");
    }

    #[test]
    fn mirror_of_names_a_registry_host() {
        let ok = parse(
            "- namespace: docker\\.io/.*\n  backend: {type: registry, url: 'http://127.0.0.1:5000', mirror_of: docker.io}",
        );
        validate_backends("backends", &ok).unwrap();
        let err = invalid(
            "- namespace: x/.*\n  backend: {type: registry, url: 'http://127.0.0.1:5000', mirror_of: 'a/b'}",
        );
        assert!(err.contains("backends[0].backend.mirror_of"), "{err}");
    }
}
