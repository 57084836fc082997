//! Uploads: `POST …/uploads` (start), `PATCH …/uploads/{uid}` (a chunk), `PUT
//! …/uploads/{uid}` (commit) and the monolithic `PUT /namespace/{ns}/blobs/{digest}`.
//!
//! Bodies are streamed into the store as they arrive. A monolithic PUT carrying the
//! [`REPLICATED_FROM`] header is a copy from another origin and is not copied on.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::Digest;
use starling_store::UploadId;

use crate::error::Error;
use crate::handlers::blobs::DOCKER_CONTENT_DIGEST;
use crate::handlers::extract::{BlobTarget, UploadTarget};
use crate::state::OriginState;
use crate::tasks::UploadSource;
use crate::uploads::UploadBody;
use starling_clients::origin::paths::{self, REPLICATED_FROM};
use starling_core::range::parse_chunk_range;
use starling_runtime::ApiError;

/// Header carrying the upload id, as registries send it.
pub const UPLOAD_UUID: &str = "docker-upload-uuid";

pub async fn start(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
) -> Result<UploadStatus, ApiError> {
    let id = state
        .uploads
        .start(&target.namespace, &target.digest)
        .await?;
    Ok(UploadStatus {
        target,
        id,
        offset: 0,
    })
}

pub async fn patch(
    State(state): State<Arc<OriginState>>,
    target: UploadTarget,
    headers: HeaderMap,
    body: Body,
) -> Result<UploadStatus, ApiError> {
    let UploadTarget { blob, id } = target;
    let body = match upload_body(&headers, body, true) {
        Ok(body) => body,
        Err(e) => {
            return Err(state
                .uploads
                .reject(id, &blob.namespace, &blob.digest, e)
                .await
                .into());
        }
    };
    let offset = state
        .uploads
        .append(id, &blob.namespace, &blob.digest, body)
        .await?;
    Ok(UploadStatus {
        target: blob,
        id,
        offset,
    })
}

pub async fn commit(
    State(state): State<Arc<OriginState>>,
    target: UploadTarget,
    headers: HeaderMap,
    body: Body,
) -> Result<BlobCreated, ApiError> {
    let UploadTarget { blob, id } = target;
    let body = match upload_body(&headers, body, true) {
        Ok(body) => body,
        Err(e) => {
            return Err(state
                .uploads
                .reject(id, &blob.namespace, &blob.digest, e)
                .await
                .into());
        }
    };
    state
        .uploads
        .finish(id, &blob.namespace, &blob.digest, body)
        .await?;
    Ok(BlobCreated(blob))
}

pub async fn put(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
    headers: HeaderMap,
    body: Body,
) -> Result<BlobCreated, ApiError> {
    let source = if headers.contains_key(REPLICATED_FROM) {
        UploadSource::Replica
    } else {
        UploadSource::Client
    };
    let body = upload_body(&headers, body, false)?;
    state
        .uploads
        .put(&target.namespace, &target.digest, body, source)
        .await?;
    Ok(BlobCreated(target))
}

/// The request body with its declared length and (for chunks) range.
fn upload_body(
    headers: &HeaderMap,
    body: Body,
    chunk: bool,
) -> crate::Result<UploadBody<axum::body::BodyDataStream>> {
    let text = |name: header::HeaderName, shown: &'static str| -> crate::Result<Option<&str>> {
        let Some(value) = headers.get(name) else {
            return Ok(None);
        };
        let text = value.to_str().map_err(|_| Error::BadHeader {
            header: shown,
            value: String::from_utf8_lossy(value.as_bytes()).into_owned(),
            reason: "not ASCII",
        })?;
        Ok(Some(text))
    };
    let range = match text(header::CONTENT_RANGE, "Content-Range")? {
        Some(value) if chunk => Some(parse_chunk_range(value).map_err(Error::from_range)?),
        _ => None,
    };
    let length = match text(header::CONTENT_LENGTH, "Content-Length")? {
        Some(value) => Some(value.trim().parse::<u64>().map_err(|_| Error::BadHeader {
            header: "Content-Length",
            value: value.to_owned(),
            reason: "not a number",
        })?),
        None => None,
    };
    Ok(UploadBody {
        stream: body.into_data_stream(),
        range,
        length,
    })
}

/// 202 for an upload in progress: where to send the next chunk and what has arrived.
pub struct UploadStatus {
    target: BlobTarget,
    id: UploadId,
    offset: u64,
}

impl IntoResponse for UploadStatus {
    fn into_response(self) -> Response {
        let location = paths::upload(&self.target.namespace, &self.target.digest, &self.id);
        // The registry convention: `Range: 0-<last byte received>`, `0-0` when empty.
        let range = format!("0-{}", self.offset.saturating_sub(1));
        let mut response = StatusCode::ACCEPTED.into_response();
        let headers = response.headers_mut();
        headers.insert(header::LOCATION, header_value(&location));
        headers.insert(header::RANGE, header_value(&range));
        headers.insert(UPLOAD_UUID, header_value(&self.id.to_string()));
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        response
    }
}

/// 201 for a committed blob.
pub struct BlobCreated(BlobTarget);

impl IntoResponse for BlobCreated {
    fn into_response(self) -> Response {
        let BlobTarget { namespace, digest } = self.0;
        let mut response = StatusCode::CREATED.into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::LOCATION,
            header_value(&paths::blob(&namespace, &digest)),
        );
        headers.insert(DOCKER_CONTENT_DIGEST, digest_value(&digest));
        response
    }
}

fn header_value(value: &str) -> HeaderValue {
    HeaderValue::from_str(value).expect("paths and ids are ASCII")
}

fn digest_value(digest: &Digest) -> HeaderValue {
    header_value(&digest.to_string())
}
