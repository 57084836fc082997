//! The edge of the registry API: one request's query parameters and headers read into
//! typed values (`Digest`, `RepoName`, a chunk's range) before any service sees them.

use std::collections::HashMap;

use axum::body::{Body, BodyDataStream};
use axum::extract::Query;
use axum::http::{HeaderMap, Uri, header};
use starling_core::range::parse_chunk_range;
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};
use crate::uploads::Chunk;

/// A registry request after routing: what the handlers read besides the path.
pub struct RegistryRequest {
    pub headers: HeaderMap,
    pub query: RegistryQuery,
    pub body: Body,
}

/// The query parameters the registry API uses, still raw text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct RegistryQuery {
    params: HashMap<String, String>,
}

impl RegistryQuery {
    pub fn from_uri(uri: &Uri) -> Self {
        // Form decoding is lossy (invalid UTF-8 becomes U+FFFD, which every parser
        // below rejects), so this never fails in practice; an empty query is the safe
        // reading if it ever does.
        let params = Query::<HashMap<String, String>>::try_from_uri(uri)
            .map(|Query(params)| params)
            .unwrap_or_default();
        Self { params }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.params.get(key).map(String::as_str)
    }

    /// `?digest=`, which must be present and valid; `action` names the request.
    pub fn digest(&self, action: &'static str) -> Result<Digest> {
        let raw = self.get("digest").ok_or(Error::DigestMissing { action })?;
        Ok(Digest::parse(raw)?)
    }

    /// `?mount=<digest>&from=<repo>`, when both are present and valid. A mount the proxy
    /// cannot read is answered as a plain upload start, as the spec allows.
    pub fn mount(&self) -> Option<(Digest, RepoName)> {
        let digest = Digest::parse(self.get("mount")?).ok()?;
        let from = RepoName::parse(self.get("from")?).ok()?;
        Some((digest, from))
    }
}

impl RegistryRequest {
    /// A header as text; `None` when absent or not visible ASCII.
    pub fn header(&self, name: header::HeaderName) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The body as an upload chunk, with its `Content-Range` when sent.
    pub fn into_chunk(self) -> Result<Chunk<BodyDataStream>> {
        let range = match self.headers.get(header::CONTENT_RANGE) {
            None => None,
            Some(value) => {
                let text = value.to_str().unwrap_or_default();
                let range = parse_chunk_range(text).map_err(|e| Error::BadHeader {
                    header: "Content-Range",
                    value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
                    reason: e.to_string(),
                })?;
                Some(range)
            }
        };
        Ok(Chunk {
            body: self.body.into_data_stream(),
            range,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(uri: &str) -> RegistryQuery {
        RegistryQuery::from_uri(&uri.parse().unwrap())
    }

    #[test]
    fn digests_are_decoded_and_validated() {
        let d = Digest::of(b"x");
        let hex = d.hex();
        let q = query(&format!("/v2/a/blobs/uploads/x?digest=sha256%3A{hex}"));
        assert_eq!(q.digest("commit").unwrap(), d);
        assert!(matches!(
            query("/v2/a/blobs/uploads/x").digest("commit"),
            Err(Error::DigestMissing { action: "commit" })
        ));
        assert!(matches!(
            query("/v2/a/blobs/uploads/x?digest=sha256:00").digest("commit"),
            Err(Error::Invalid(_))
        ));
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
