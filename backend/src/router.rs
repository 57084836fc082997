//! Chooses the backend of each namespace, and builds backends from configuration.
//!
//! [`build_backend`] is the one place that maps a `BackendConfig` to an implementation.
//! [`Backends`] is built once at startup from the ordered `backends:` list; the first
//! entry whose pattern matches the whole namespace serves it, as in the config crate.

use std::fmt;
use std::sync::Arc;

use starling_config::backend::{BackendConfig, NamespaceBackend};
use starling_config::pattern;
use starling_core::RepoName;
use tracing::info;

use crate::Backend;
use crate::error::{Error, Result};
use crate::objects::ObjectStoreBackend;
use crate::registry::RegistryBackend;

/// Builds the backend `config` describes.
pub fn build_backend(config: &BackendConfig) -> Result<Arc<dyn Backend>> {
    config.validate().map_err(|e| Error::Config {
        field: "backend",
        reason: e.to_string(),
    })?;
    let backend: Arc<dyn Backend> = match config {
        BackendConfig::Filesystem { .. }
        | BackendConfig::S3 { .. }
        | BackendConfig::Gcs { .. }
        | BackendConfig::Azure { .. }
        | BackendConfig::Http { .. } => Arc::new(ObjectStoreBackend::from_config(config)?),
        BackendConfig::Registry { .. } => Arc::new(RegistryBackend::from_config(config)?),
    };
    Ok(backend)
}

/// The backends of a component, in precedence order.
#[derive(Clone)]
pub struct Backends {
    routes: Vec<Route>,
}

#[derive(Clone)]
struct Route {
    entry: NamespaceBackend,
    backend: Arc<dyn Backend>,
}

impl Backends {
    /// Builds every configured backend up front, so a bad entry fails at startup.
    pub fn new(list: &[NamespaceBackend]) -> Result<Self> {
        let mut routes = Vec::with_capacity(list.len());
        for entry in list {
            let backend = build_backend(&entry.backend)?;
            info!(
                namespace = pattern::source(&entry.namespace),
                kind = entry.backend.kind(),
                "backend configured"
            );
            routes.push(Route {
                entry: entry.clone(),
                backend,
            });
        }
        Ok(Self { routes })
    }

    /// The backend serving `namespace`.
    pub fn for_namespace(&self, namespace: &RepoName) -> Result<Arc<dyn Backend>> {
        self.routes
            .iter()
            .find(|route| route.entry.matches(namespace.as_str()))
            .map(|route| route.backend.clone())
            .ok_or_else(|| Error::NoBackend {
                namespace: namespace.clone(),
            })
    }
}

impl fmt::Debug for Backends {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut list = f.debug_list();
        for route in &self.routes {
            list.entry(&format_args!(
                "{} => {:?}",
                pattern::source(&route.entry.namespace),
                route.backend
            ));
        }
        list.finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::key::Key;
    use starling_core::{Digest, Tag};

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    #[tokio::test]
    async fn the_first_whole_name_match_wins() {
        let dir = tempfile::tempdir().unwrap();
        let list = [
            NamespaceBackend::filesystem("team/.*", dir.path().join("team")).unwrap(),
            NamespaceBackend::filesystem("team/app|other", dir.path().join("shadowed")).unwrap(),
            NamespaceBackend::filesystem("other", dir.path().join("other")).unwrap(),
        ];
        let backends = Backends::new(&list).unwrap();
        let digest = Digest::of(b"x");
        let team = backends.for_namespace(&repo("team/app")).unwrap();
        let key = Key::tag(repo("team/app"), Tag::parse("v1").unwrap());
        crate::write_tag(
            team.as_ref(),
            &repo("team/app"),
            &Tag::parse("v1").unwrap(),
            &digest,
        )
        .await
        .unwrap();
        assert!(dir.path().join("team/tags/team/app/_tags/v1").is_file());
        assert!(!dir.path().join("shadowed/tags").exists());
        assert_eq!(team.stat(&key).await.unwrap(), Some(71));

        let other = backends.for_namespace(&repo("other")).unwrap();
        assert!(Arc::ptr_eq(
            &other,
            &backends.for_namespace(&repo("other")).unwrap()
        ));
        assert_eq!(other.stat(&key).await.unwrap(), None, "separate root");

        let err = backends.for_namespace(&repo("xteam/app")).unwrap_err();
        assert!(matches!(err, Error::NoBackend { .. }), "{err}");
        assert_eq!(
            err.to_string(),
            "no backend is configured for namespace xteam/app"
        );
        let err = backends.for_namespace(&repo("other/app")).unwrap_err();
        assert!(err.to_string().contains("other/app"), "{err}");
    }

    #[test]
    fn invalid_configs_fail_when_built() {
        let config = BackendConfig::Registry {
            url: "ftp://example".to_owned(),
            username: None,
            password: None,
            password_file: None,
            timeout: std::time::Duration::from_secs(1),
            mirror_of: None,
        };
        let err = build_backend(&config).unwrap_err();
        assert!(err.to_string().contains("url"), "{err}");
        let config = BackendConfig::S3 {
            bucket: "b".to_owned(),
            region: "us-east-1".to_owned(),
            endpoint: Some("http://127.0.0.1:9".to_owned()),
            access_key_id: Some("k".to_owned()),
            secret_access_key: Some("s".to_owned()),
            secret_access_key_file: None,
            allow_http: true,
            prefix: "a//b".to_owned(),
        };
        let err = build_backend(&config).unwrap_err();
        assert!(err.to_string().contains("prefix"), "{err}");
    }
}
