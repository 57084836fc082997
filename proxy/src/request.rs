//! The edge of the registry API: one request's query parameters and headers read into
//! typed values (`Digest`, `RepoName`, a chunk's range) before any service sees them.

use axum::body::{Body, BodyDataStream};
use axum::http::{HeaderMap, header};
use starling_core::Digest;
use starling_core::range::parse_chunk_range;
use starling_registry::RegistryQuery;

use crate::error::{Error, Result};
use crate::uploads::Chunk;

/// A registry request after routing: what the handlers read besides the path.
pub struct RegistryRequest {
    /// The client's IP address (from the connection), for per-client caps.
    pub client: Option<std::net::IpAddr>,
    pub headers: HeaderMap,
    pub query: RegistryQuery,
    pub body: Body,
}

impl RegistryRequest {
    /// `?digest=`, which must be present and valid; `action` names the request.
    pub fn digest(&self, action: &'static str) -> Result<Digest> {
        let raw = self
            .query
            .get("digest")
            .ok_or(Error::DigestMissing { action })?;
        Ok(Digest::parse(raw)?)
    }

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

    fn query(uri: &str) -> RegistryRequest {
        RegistryRequest {
            client: None,
            headers: HeaderMap::new(),
            query: RegistryQuery::from_uri(&uri.parse().unwrap()),
            body: Body::empty(),
        }
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
}
