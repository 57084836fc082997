//! Containerd's mirror parameter: `GET /v2/<name>/...?ns=<registry host>`.
//!
//! When containerd uses the agent as a mirror (`hosts.toml`), it keeps the image's
//! original registry in `?ns=`. A pull of `127.0.0.1:15000/team/app` through the mirror
//! arrives as `/v2/team/app/...?ns=127.0.0.1:15000`. The rule:
//! - no `ns`, or an `ns` listed in the agent's `cluster_registries` (the addresses of
//!   this cluster's own proxy), leaves the repository as it is: `team/app`;
//! - any other registry becomes the repository's first path component:
//!   `?ns=docker.io` + `library/alpine` is `docker.io/library/alpine`, so tags and blobs
//!   of different upstream registries never collide, and origins and build-index can
//!   map the prefix to an upstream-registry backend by namespace regex.
//!
//! A registry host that is no valid repository component (`registry:5000`, with its
//! port) and is not a cluster registry is refused as `NAME_INVALID`, naming the setting
//! that would accept it.

use starling_core::RepoName;

use crate::error::{Error, Result};

/// Maps `?ns=` to namespaces, from the agent's `cluster_registries`.
#[derive(Debug, Clone, Default)]
pub struct MirrorNamespaces {
    cluster_registries: Vec<String>,
}

impl MirrorNamespaces {
    pub fn new(cluster_registries: &[String]) -> Self {
        Self {
            cluster_registries: cluster_registries
                .iter()
                .map(|r| r.to_ascii_lowercase())
                .collect(),
        }
    }

    /// The repository that `name` requested with `ns` means in this cluster.
    pub fn resolve(&self, name: RepoName, ns: Option<&str>) -> Result<RepoName> {
        let Some(ns) = ns.map(str::trim).filter(|ns| !ns.is_empty()) else {
            return Ok(name);
        };
        let ns = ns.to_ascii_lowercase();
        if self.cluster_registries.contains(&ns) {
            return Ok(name);
        }
        RepoName::parse(&format!("{ns}/{name}")).map_err(|_| Error::MirrorNamespace { ns })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    fn namespaces() -> MirrorNamespaces {
        MirrorNamespaces::new(&["127.0.0.1:15000".into(), "Localhost:15000".into()])
    }

    #[test]
    fn no_ns_and_cluster_registries_keep_the_name() {
        let ns = namespaces();
        assert_eq!(
            ns.resolve(repo("team/app"), None).unwrap(),
            repo("team/app")
        );
        assert_eq!(
            ns.resolve(repo("team/app"), Some("")).unwrap(),
            repo("team/app")
        );
        for cluster in ["127.0.0.1:15000", "localhost:15000", "LOCALHOST:15000"] {
            assert_eq!(
                ns.resolve(repo("team/app"), Some(cluster)).unwrap(),
                repo("team/app"),
                "{cluster}"
            );
        }
    }

    #[test]
    fn other_registries_prefix_the_name() {
        let resolved = namespaces()
            .resolve(repo("library/alpine"), Some("docker.io"))
            .unwrap();
        assert_eq!(resolved, repo("docker.io/library/alpine"));
        let resolved = namespaces()
            .resolve(repo("x"), Some("registry.k8s.io"))
            .unwrap();
        assert_eq!(resolved, repo("registry.k8s.io/x"));
    }

    #[test]
    fn hosts_that_are_no_name_component_are_refused() {
        for bad in ["registry:5000", "a/../b", "UPPER_.io!", "-x"] {
            let err = namespaces().resolve(repo("app"), Some(bad)).unwrap_err();
            assert!(
                err.to_string().contains("cluster_registries"),
                "{bad}: {err}"
            );
        }
    }
}
