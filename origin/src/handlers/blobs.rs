//! `GET`/`HEAD /namespace/{ns}/blobs/{digest}` and `POST …/prefetch`.
//!
//! GET streams the blob from the store (reading it through from the backend on a miss)
//! and honours a single `Range: bytes=…`; HEAD answers the size without reading the
//! blob through.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::Digest;

use crate::blobs::BlobStream;
use crate::handlers::extract::BlobTarget;
use crate::state::OriginState;
use starling_runtime::ApiError;

/// Header naming the blob's digest, as registries send it.
pub const DOCKER_CONTENT_DIGEST: &str = "docker-content-digest";

pub async fn get(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
    headers: HeaderMap,
) -> Result<BlobStream, ApiError> {
    let range = headers.get(header::RANGE).and_then(|v| v.to_str().ok());
    Ok(state
        .blobs
        .read(&target.namespace, &target.digest, range)
        .await?)
}

pub async fn head(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
) -> Result<BlobStat, ApiError> {
    let size = state.blobs.stat(&target.namespace, &target.digest).await?;
    Ok(BlobStat {
        digest: target.digest,
        size,
    })
}

pub async fn prefetch(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
) -> Result<StatusCode, ApiError> {
    state.blobs.prefetch(&target.namespace, &target.digest)?;
    Ok(StatusCode::ACCEPTED)
}

/// A HEAD answer: the size and digest, no body.
pub struct BlobStat {
    pub digest: Digest,
    pub size: u64,
}

impl IntoResponse for BlobStat {
    fn into_response(self) -> Response {
        let mut response = StatusCode::OK.into_response();
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.size));
        blob_headers(headers, &self.digest);
        response
    }
}

impl IntoResponse for BlobStream {
    fn into_response(self) -> Response {
        let length = self.range.map_or(self.info.size, |r| r.byte_count());
        let mut response = Response::new(Body::from_stream(self.body));
        let headers = response.headers_mut();
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(length));
        blob_headers(headers, &self.info.digest);
        if let Some(range) = self.range {
            *response.status_mut() = StatusCode::PARTIAL_CONTENT;
            let value = HeaderValue::from_str(&range.content_range(self.info.size))
                .expect("digits and spaces are a valid header value");
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        response
    }
}

fn blob_headers(headers: &mut HeaderMap, digest: &Digest) {
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    let digest = HeaderValue::from_str(&digest.to_string()).expect("a digest is ASCII");
    headers.insert(DOCKER_CONTENT_DIGEST, digest);
}
