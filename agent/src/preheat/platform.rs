//! Which children of an index this node runs: `linux` and the machine's architecture
//! in OCI spelling. A multi-arch image is preloaded for this node only, not for every
//! platform it ships.

use serde::Deserialize;
use starling_core::Digest;

/// This node's OCI architecture (`amd64`, `arm64`, …).
pub fn this_architecture() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<Child>,
}

#[derive(Deserialize)]
struct Child {
    digest: Digest,
    platform: Option<Platform>,
}

#[derive(Deserialize)]
struct Platform {
    os: String,
    architecture: String,
}

/// The children of the index `body` for `os`/`architecture`; a child without a
/// platform (an attestation, an artifact) is not one. Every child when none matches,
/// so an index that names no platforms is still preloaded.
pub fn children_for(body: &[u8], os: &str, architecture: &str) -> Vec<Digest> {
    let Ok(index) = serde_json::from_slice::<Index>(body) else {
        return Vec::new();
    };
    let matching: Vec<Digest> = index
        .manifests
        .iter()
        .filter(|c| {
            c.platform
                .as_ref()
                .is_some_and(|p| p.os == os && p.architecture == architecture)
        })
        .map(|c| c.digest)
        .collect();
    if matching.is_empty() {
        index.manifests.iter().map(|c| c.digest).collect()
    } else {
        matching
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_this_platform_and_falls_back_to_all() {
        let (amd, arm) = (Digest::of(b"amd64"), Digest::of(b"arm64"));
        let index = serde_json::json!({"manifests": [
            {"digest": amd.to_string(), "platform": {"os": "linux", "architecture": "amd64"}},
            {"digest": arm.to_string(), "platform": {"os": "linux", "architecture": "arm64"}},
        ]});
        let body = serde_json::to_vec(&index).unwrap();
        assert_eq!(children_for(&body, "linux", "arm64"), [arm]);
        assert_eq!(children_for(&body, "linux", "s390x"), [amd, arm]);
        assert!(children_for(b"not json", "linux", "amd64").is_empty());
    }
}
