//! One canonical repository name per image, whichever registry client asks.
//!
//! An image of another registry (Docker Hub, a Harbor) is stored in Starling under that
//! registry's name as its first path component: `docker.io/library/alpine`,
//! `harbor.corp_443/team/app`. Clients reach the agent three ways and all three land on
//! that one name:
//! - containerd (`hosts.toml` mirror) asks `/v2/library/alpine/...?ns=docker.io`;
//! - CRI-O and podman (a `registries.conf` mirror whose location is
//!   `<agent>/docker.io`) ask `/v2/docker.io/library/alpine/...`;
//! - anything addressing the agent directly asks for `docker.io/alpine` or
//!   `docker.io/library/alpine`.
//!
//! The rules: a registry host is lowercased; `host:port` becomes `host_port` (a port
//! cannot appear in a repository name, and `_` cannot appear in a DNS name, so the two
//! never collide); Docker Hub's aliases (`index.docker.io`, `registry-1.docker.io`) are
//! `docker.io`; and on Docker Hub a one-component name is an official image,
//! `library/<name>`. A registry backend that mirrors a registry ([`upstream_name`])
//! strips that component again, so the upstream sees its own names and token scopes.

use crate::error::{Error, Result};
use crate::reference::RepoName;

/// Docker Hub's canonical registry name.
pub const DOCKER_HUB: &str = "docker.io";
const DOCKER_HUB_ALIASES: [&str; 3] = [DOCKER_HUB, "index.docker.io", "registry-1.docker.io"];
/// Docker Hub's namespace of official images.
const OFFICIAL_IMAGES: &str = "library";

/// The repository-name component that stands for `registry` (`docker.io`,
/// `harbor.corp:443`, `127.0.0.1:5000`).
pub fn registry_component(registry: &str) -> Result<String> {
    let host = registry.trim().to_ascii_lowercase();
    if DOCKER_HUB_ALIASES.contains(&host.as_str()) {
        return Ok(DOCKER_HUB.to_owned());
    }
    let component = host.replacen(':', "_", 1);
    RepoName::parse(&component).map_err(|_| Error::InvalidRepoName {
        value: registry.chars().take(300).collect(),
        reason: "not a registry host or host:port",
    })?;
    if component.contains('/') {
        return Err(Error::InvalidRepoName {
            value: registry.chars().take(300).collect(),
            reason: "a registry host has no path",
        });
    }
    Ok(component)
}

/// `name` of `registry` as Starling stores it: `registry_component(registry)/name`, with
/// Docker Hub's `library/` rule.
pub fn qualified(registry: &str, name: &RepoName) -> Result<RepoName> {
    let component = registry_component(registry)?;
    let name = if component == DOCKER_HUB && !name.as_str().contains('/') {
        format!("{OFFICIAL_IMAGES}/{name}")
    } else {
        name.to_string()
    };
    RepoName::parse(&format!("{component}/{name}"))
}

/// `name` in its canonical form: a name under a Docker Hub alias gets `docker.io` and
/// the `library/` rule (`docker.io/alpine` is `docker.io/library/alpine`); any other
/// name is already canonical.
pub fn canonical(name: RepoName) -> RepoName {
    let Some((first, rest)) = name.as_str().split_once('/') else {
        return name;
    };
    if !DOCKER_HUB_ALIASES.contains(&first) {
        return name;
    }
    RepoName::parse(rest)
        .and_then(|rest| qualified(DOCKER_HUB, &rest))
        .unwrap_or(name)
}

/// The name the mirrored `registry` itself uses for the Starling name `name`: without
/// the registry's component (and with `library/` for a Docker Hub official image), or
/// `None` when `name` is not under that registry.
pub fn upstream_name(registry_component: &str, name: &RepoName) -> Option<RepoName> {
    let rest = name
        .as_str()
        .strip_prefix(registry_component)?
        .strip_prefix('/')?;
    let rest = RepoName::parse(rest).ok()?;
    if registry_component == DOCKER_HUB && !rest.as_str().contains('/') {
        return RepoName::parse(&format!("{OFFICIAL_IMAGES}/{rest}")).ok();
    }
    Some(rest)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    #[test]
    fn registries_become_one_name_component() {
        for (registry, component) in [
            ("docker.io", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("Registry-1.Docker.io", "docker.io"),
            ("harbor.corp:443", "harbor.corp_443"),
            ("127.0.0.1:5000", "127.0.0.1_5000"),
            ("ghcr.io", "ghcr.io"),
        ] {
            assert_eq!(
                registry_component(registry).unwrap(),
                component,
                "{registry}"
            );
        }
        for bad in ["", "a:b:c", "host/path", "UPPER CASE", "-lead.example"] {
            assert!(registry_component(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn docker_hub_official_images_live_under_library() {
        assert_eq!(
            qualified("docker.io", &repo("alpine")).unwrap(),
            repo("docker.io/library/alpine")
        );
        assert_eq!(
            qualified("index.docker.io", &repo("library/alpine")).unwrap(),
            repo("docker.io/library/alpine")
        );
        assert_eq!(
            qualified("docker.io", &repo("bitnami/redis")).unwrap(),
            repo("docker.io/bitnami/redis")
        );
        // Only Docker Hub has the rule.
        assert_eq!(
            qualified("ghcr.io", &repo("tool")).unwrap(),
            repo("ghcr.io/tool")
        );
        assert_eq!(
            qualified("harbor.corp:443", &repo("team/app")).unwrap(),
            repo("harbor.corp_443/team/app")
        );
    }

    #[test]
    fn every_spelling_of_a_hub_image_is_one_canonical_name() {
        for spelling in [
            "docker.io/alpine",
            "docker.io/library/alpine",
            "index.docker.io/alpine",
            "registry-1.docker.io/library/alpine",
        ] {
            assert_eq!(
                canonical(repo(spelling)),
                repo("docker.io/library/alpine"),
                "{spelling}"
            );
        }
        for kept in [
            "team/app",
            "alpine",
            "ghcr.io/tool",
            "docker.io/bitnami/redis",
        ] {
            assert_eq!(canonical(repo(kept)), repo(kept));
        }
    }

    #[test]
    fn the_mirrored_registry_sees_its_own_names() {
        assert_eq!(
            upstream_name("docker.io", &repo("docker.io/library/alpine")),
            Some(repo("library/alpine"))
        );
        assert_eq!(
            upstream_name("docker.io", &repo("docker.io/alpine")),
            Some(repo("library/alpine"))
        );
        assert_eq!(
            upstream_name("harbor.corp_443", &repo("harbor.corp_443/team/app")),
            Some(repo("team/app"))
        );
        assert_eq!(upstream_name("docker.io", &repo("team/app")), None);
        assert_eq!(upstream_name("docker.io", &repo("docker.iox/app")), None);
        assert_eq!(upstream_name("docker.io", &repo("docker.io")), None);
    }
}
