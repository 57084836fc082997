//! Containerd's mirror parameter: `GET /v2/<name>/...?ns=<registry host>`.
//!
//! When containerd uses the agent as a mirror (`hosts.toml`), it keeps the image's
//! original registry in `?ns=`. A pull of `127.0.0.1:15000/team/app` through the mirror
//! arrives as `/v2/team/app/...?ns=127.0.0.1:15000`. The rule:
//! - no `ns`, or an `ns` listed in the agent's `cluster_registries` (the addresses of
//!   this cluster's own proxy, or of the one upstream registry the cluster fronts),
//!   leaves the repository as it is: `team/app`;
//! - any other registry becomes the repository's first path component, by
//!   [`starling_core::registry_name::qualified`]: `?ns=docker.io` + `library/alpine` is
//!   `docker.io/library/alpine`, `?ns=harbor.corp:443` + `team/app` is
//!   `harbor.corp_443/team/app`, so tags and blobs of different upstream registries never
//!   collide, and origins and build-index map the prefix to a registry backend that
//!   mirrors that registry (`mirror_of`) by namespace regex.
//!
//! A name asked for without `ns` is made canonical too (`docker.io/alpine` is
//! `docker.io/library/alpine`), so podman's and CRI-O's `registries.conf` mirrors, whose
//! location carries the registry as a path (`<agent>/docker.io`), reach the same
//! repository as containerd. An `ns` that is no registry host is refused as
//! `NAME_INVALID`, naming the setting that would accept it.

use starling_core::RepoName;
use starling_core::registry_name::{canonical, qualified};

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
            return Ok(canonical(name));
        };
        let ns = ns.to_ascii_lowercase();
        if self.cluster_registries.contains(&ns) {
            return Ok(canonical(name));
        }
        qualified(&ns, &name).map_err(|_| Error::MirrorNamespace { ns })
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
        let resolved = namespaces()
            .resolve(repo("team/app"), Some("harbor.corp:443"))
            .unwrap();
        assert_eq!(resolved, repo("harbor.corp_443/team/app"));
    }

    #[test]
    fn docker_hub_names_are_one_name_however_they_arrive() {
        let hub = repo("docker.io/library/alpine");
        let ns = namespaces();
        // containerd (hosts.toml), with and without the library/ it normally adds
        assert_eq!(
            ns.resolve(repo("library/alpine"), Some("docker.io"))
                .unwrap(),
            hub
        );
        assert_eq!(ns.resolve(repo("alpine"), Some("docker.io")).unwrap(), hub);
        assert_eq!(
            ns.resolve(repo("alpine"), Some("index.docker.io")).unwrap(),
            hub
        );
        // podman / CRI-O registries.conf mirror at <agent>/docker.io, or a direct pull
        assert_eq!(
            ns.resolve(repo("docker.io/library/alpine"), None).unwrap(),
            hub
        );
        assert_eq!(ns.resolve(repo("docker.io/alpine"), None).unwrap(), hub);
    }

    #[test]
    fn hosts_that_are_no_name_component_are_refused() {
        for bad in ["registry:5000:1", "a/../b", "UPPER_.io!", "-x"] {
            let err = namespaces().resolve(repo("app"), Some(bad)).unwrap_err();
            assert!(
                err.to_string().contains("cluster_registries"),
                "{bad}: {err}"
            );
        }
    }
}
