//! Typed answers of the read side, identical from the agent and the proxy: the API
//! version check, a page of a list, a referrers index, a blob's headers and a manifest.

use axum::Json;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde::Serialize;
use starling_core::Digest;
use starling_core::registry::media_type::OCI_INDEX;

use crate::headers::{self, DOCKER_CONTENT_DIGEST, OCI_FILTERS_APPLIED};
use crate::listing::{Listed, Referrers};

/// `200 {}`: this is a Registry v2 API (the version header is added to every answer).
pub async fn ping() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

/// The page as JSON, with `Link: <next>; rel="next"` when more may follow.
pub fn paged<T: Serialize>(listed: Listed<T>) -> Response {
    let mut response = Json(listed.body).into_response();
    if let Some(next) = listed.next
        && let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}

impl IntoResponse for Referrers {
    /// `200` with the OCI image index, and `OCI-Filters-Applied: artifactType` when the
    /// list was filtered.
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&self.index).expect("an index serializes");
        let mut response = body.into_response();
        let h = response.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(OCI_INDEX));
        if self.filtered {
            h.insert(
                OCI_FILTERS_APPLIED,
                HeaderValue::from_static("artifactType"),
            );
        }
        response
    }
}

/// A blob `HEAD` answer: size and digest, no body.
pub struct BlobStat {
    pub digest: Digest,
    pub size: u64,
}

impl IntoResponse for BlobStat {
    fn into_response(self) -> Response {
        let mut response = StatusCode::OK.into_response();
        blob_headers(response.headers_mut(), &self.digest, self.size);
        response
    }
}

/// The headers of a blob answer (HEAD, 200 or 206) of `length` bytes.
pub fn blob_headers(h: &mut HeaderMap, digest: &Digest, length: u64) {
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    h.insert(DOCKER_CONTENT_DIGEST, headers::value(&digest.to_string()));
}

/// A manifest ready to be served.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub digest: Digest,
    pub media_type: String,
    pub body: Bytes,
}

/// A manifest, or for HEAD only its headers.
pub struct ManifestBody {
    pub manifest: StoredManifest,
    pub head: bool,
}

impl IntoResponse for ManifestBody {
    fn into_response(self) -> Response {
        let StoredManifest {
            digest,
            media_type,
            body,
        } = self.manifest;
        let length = body.len();
        let mut response = if self.head {
            StatusCode::OK.into_response()
        } else {
            body.into_response()
        };
        let h = response.headers_mut();
        // A media type read from stored JSON may hold anything; one that is no valid
        // header value is served as plain JSON rather than failing the pull.
        let content_type = HeaderValue::from_str(&media_type)
            .unwrap_or(HeaderValue::from_static("application/json"));
        h.insert(header::CONTENT_TYPE, content_type);
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        h.insert(DOCKER_CONTENT_DIGEST, headers::value(&digest.to_string()));
        response
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_manifest_answer_has_the_headers_and_no_body() {
        let body = Bytes::from_static(b"{\"schemaVersion\":2}");
        let digest = Digest::of(&body);
        let manifest = StoredManifest {
            digest,
            media_type: "application/vnd.oci.image.manifest.v1+json".into(),
            body,
        };
        let head = ManifestBody {
            manifest,
            head: true,
        }
        .into_response();
        let h = head.headers();
        assert_eq!(h[header::CONTENT_LENGTH], "19");
        assert_eq!(
            h[header::CONTENT_TYPE],
            "application/vnd.oci.image.manifest.v1+json"
        );
        assert_eq!(h[DOCKER_CONTENT_DIGEST], digest.to_string().as_str());
    }

    #[test]
    fn a_filtered_referrers_answer_says_so() {
        let index = starling_core::registry::ReferrersIndex::new(Vec::new(), Some("a/b"));
        let filtered = Referrers {
            index: index.clone(),
            filtered: true,
        }
        .into_response();
        assert_eq!(filtered.status(), StatusCode::OK);
        assert_eq!(filtered.headers()[header::CONTENT_TYPE], OCI_INDEX);
        assert_eq!(filtered.headers()[OCI_FILTERS_APPLIED], "artifactType");
        let plain = Referrers {
            index,
            filtered: false,
        }
        .into_response();
        assert!(plain.headers().get(OCI_FILTERS_APPLIED).is_none());
    }

    #[test]
    fn a_page_links_to_the_next_one() {
        let page = paged(Listed {
            body: serde_json::json!({"repositories": ["a"]}),
            next: Some("/v2/_catalog?n=1&last=a".into()),
        });
        assert_eq!(
            page.headers()[header::LINK],
            "</v2/_catalog?n=1&last=a>; rel=\"next\""
        );
    }
}
