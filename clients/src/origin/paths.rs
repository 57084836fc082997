//! The origin's URL paths, built in one place for the server (`Location` headers) and the
//! client, so the two cannot drift apart.
//!
//! A namespace is a repository name such as `team/app`; it travels as one path segment
//! with its `/` escaped (`team%2Fapp`). The repository grammar allows only lowercase
//! letters, digits, `.`, `_`, `-` and `/`, so `/` is the only character to escape.

use starling_core::{Digest, RepoName};

/// Header marking an upload as a copy from another origin: the receiver stores it but
/// does not copy it on to the other owners again. Its value is the sender's address.
pub const REPLICATED_FROM: &str = "starling-replicated-from";

/// `/namespace/{ns}/blobs/{digest}`: GET, HEAD and monolithic PUT.
pub fn blob(namespace: &RepoName, digest: &Digest) -> String {
    format!("/namespace/{}/blobs/{digest}", namespace.path_segment())
}

/// `/namespace/{ns}/blobs/{digest}/metainfo`: the blob's `.torrent`.
pub fn metainfo(namespace: &RepoName, digest: &Digest) -> String {
    format!("{}/metainfo", blob(namespace, digest))
}

/// `POST` of registry push notifications (the distribution envelope) to warm images.
pub const NOTIFICATIONS: &str = "/notifications";

/// `/namespace/{ns}/blobs/{digest}/prefetch`: warm the cache from the backend.
pub fn prefetch(namespace: &RepoName, digest: &Digest) -> String {
    format!("{}/prefetch", blob(namespace, digest))
}

/// `/peer`: the origin's identity in the swarm (peer id and peer address).
pub const PEER: &str = "/peer";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespaces_are_one_escaped_segment() {
        let ns = RepoName::parse("team/app/sub").unwrap();
        let digest = Digest::of(b"x");
        assert_eq!(ns.path_segment(), "team%2Fapp%2Fsub");
        assert_eq!(
            blob(&ns, &digest),
            format!("/namespace/team%2Fapp%2Fsub/blobs/{digest}")
        );
        assert!(metainfo(&ns, &digest).ends_with("/metainfo"));
    }
}
