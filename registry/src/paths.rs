//! The registry URLs the agent and proxy hand out in `Location` and `Link` headers,
//! built in one place. Every part is a validated core type (`RepoName`, `Digest`, `UploadRef`, `Tag`),
//! whose grammar has no character that needs escaping in a path or a query.

use starling_core::registry::UploadRef;
use starling_core::{Digest, RepoName, Tag};

/// `/v2/<name>/blobs/<digest>`.
pub fn blob(name: &RepoName, digest: &Digest) -> String {
    format!("/v2/{name}/blobs/{digest}")
}

/// `/v2/<name>/blobs/uploads/<id>`: where the client sends the next chunk.
pub fn upload(name: &RepoName, id: &UploadRef) -> String {
    format!("/v2/{name}/blobs/uploads/{id}")
}

/// `/v2/<name>/manifests/<digest>`.
pub fn manifest(name: &RepoName, digest: &Digest) -> String {
    format!("/v2/{name}/manifests/{digest}")
}

/// `/v2/<name>/tags/list?n=<n>&last=<last>`: the next page of tags.
pub fn next_tags(name: &RepoName, n: usize, last: &Tag) -> String {
    format!("/v2/{name}/tags/list?n={n}&last={last}")
}

/// `/v2/_catalog?n=<n>&last=<last>`: the next page of repositories.
pub fn next_catalog(n: usize, last: &RepoName) -> String {
    format!("/v2/_catalog?n={n}&last={last}")
}

/// `Range: 0-<last byte received>`, the registry convention; `0-0` when nothing arrived.
pub fn upload_range(offset: u64) -> String {
    format!("0-{}", offset.saturating_sub(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_ranges() {
        let name = RepoName::parse("team/app").unwrap();
        let id = UploadRef::parse("abc").unwrap();
        let digest = Digest::of(b"");
        assert_eq!(upload(&name, &id), "/v2/team/app/blobs/uploads/abc");
        assert_eq!(blob(&name, &digest), format!("/v2/team/app/blobs/{digest}"));
        assert_eq!(
            next_tags(&name, 2, &Tag::parse("v2").unwrap()),
            "/v2/team/app/tags/list?n=2&last=v2"
        );
        assert_eq!(next_catalog(5, &name), "/v2/_catalog?n=5&last=team/app");
        assert_eq!(upload_range(0), "0-0");
        assert_eq!(upload_range(1), "0-0");
        assert_eq!(upload_range(10), "0-9");
    }
}
