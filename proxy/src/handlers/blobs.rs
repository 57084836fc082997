//! `HEAD` and `GET /v2/<name>/blobs/<digest>`: the size (docker asks before pushing a
//! layer) and the bytes, streamed from the origins; `Range` answers 206.

use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::{Digest, RepoName};
use starling_runtime::ApiError;

use crate::blobs::BlobRead;
use crate::headers::{self, DOCKER_CONTENT_DIGEST};
use crate::request::RegistryRequest;
use crate::state::ProxyState;

pub async fn head(
    state: &ProxyState,
    name: RepoName,
    digest: Digest,
) -> Result<BlobStat, ApiError> {
    let size = state.blobs.stat(&name, &digest).await?;
    Ok(BlobStat { digest, size })
}

pub async fn get(
    state: &ProxyState,
    name: RepoName,
    digest: Digest,
    request: RegistryRequest,
) -> Result<BlobRead, ApiError> {
    let range = request.header(header::RANGE);
    Ok(state.blobs.read(&name, &digest, range).await?)
}

/// A HEAD answer: size and digest, no body.
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

impl IntoResponse for BlobRead {
    fn into_response(self) -> Response {
        let length = self.range.map_or(self.size, |r| r.byte_count());
        let mut response = Response::new(Body::from_stream(self.download.body));
        blob_headers(response.headers_mut(), &self.digest, length);
        if let Some(range) = self.range {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let value = headers::value(&range.content_range(self.size));
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
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
