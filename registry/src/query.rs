//! A registry request's query parameters (`?n=&last=` for lists, `?ns=` from containerd,
//! `?digest=` and `?mount=&from=` on uploads), read once and looked up by name.

use std::collections::HashMap;

use axum::extract::Query;
use axum::http::Uri;
use starling_core::{Digest, RepoName};

/// The query parameters the registry API uses, still raw text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistryQuery {
    params: HashMap<String, String>,
}

impl RegistryQuery {
    pub fn from_uri(uri: &Uri) -> Self {
        // Form decoding is lossy (invalid UTF-8 becomes U+FFFD, which every parser
        // of the values rejects), so this never fails in practice; an empty query is the
        // safe reading if it ever does.
        let params = Query::<HashMap<String, String>>::try_from_uri(uri)
            .map(|Query(params)| params)
            .unwrap_or_default();
        Self { params }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// `?artifactType=` of a referrers request; an empty value filters nothing.
    pub fn artifact_type(&self) -> Option<&str> {
        self.get("artifactType").filter(|t| !t.is_empty())
    }

    /// `?mount=<digest>&from=<repo>`, when both are present and valid. A mount that
    /// cannot be read is answered as a plain upload start, as the spec allows.
    pub fn mount(&self) -> Option<(Digest, RepoName)> {
        let digest = Digest::parse(self.get("mount")?).ok()?;
        let from = RepoName::parse(self.get("from")?).ok()?;
        Some((digest, from))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(uri: &str) -> RegistryQuery {
        RegistryQuery::from_uri(&uri.parse().unwrap())
    }

    #[test]
    fn parameters_are_percent_decoded() {
        let q = query("/v2/a/tags/list?n=2&last=v%2B1&ns=docker.io");
        assert_eq!(q.get("n"), Some("2"));
        assert_eq!(q.get("last"), Some("v+1"));
        assert_eq!(q.get("ns"), Some("docker.io"));
        assert_eq!(q.get("digest"), None);
        let q = query("/v2/a/referrers/x?artifactType=application%2Fvnd.example%2Bjson");
        assert_eq!(q.artifact_type(), Some("application/vnd.example+json"));
        assert_eq!(
            query("/v2/a/referrers/x?artifactType=").artifact_type(),
            None
        );
    }

    #[test]
    fn mounts_need_a_valid_digest_and_repository() {
        let d = Digest::of(b"x");
        let q = query(&format!("/v2/a/blobs/uploads/?mount={d}&from=team/base"));
        assert_eq!(q.mount(), Some((d, RepoName::parse("team/base").unwrap())));
        assert_eq!(query(&format!("/?mount={d}")).mount(), None);
        assert_eq!(query(&format!("/?mount={d}&from=../x")).mount(), None);
        assert_eq!(query("/?mount=sha256:00&from=a").mount(), None);
    }
}
