//! Uploads: `PUT /namespace/{ns}/blobs/{digest}` with the whole blob as the body.
//!
//! Bodies are streamed into the store as they arrive. A monolithic PUT carrying the
//! [`REPLICATED_FROM`] header is a copy from another origin and is not copied on.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::Digest;

use crate::error::Error;
use crate::handlers::blobs::DOCKER_CONTENT_DIGEST;
use crate::handlers::extract::BlobTarget;
use crate::state::OriginState;
use crate::tasks::UploadSource;
use crate::uploads::UploadBody;
use starling_clients::origin::paths::{self, REPLICATED_FROM};
use starling_runtime::ApiError;

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
    let body = upload_body(&headers, body)?;
    state
        .uploads
        .put(&target.namespace, &target.digest, body, source)
        .await?;
    Ok(BlobCreated(target))
}

/// The request body with its declared length.
fn upload_body(
    headers: &HeaderMap,
    body: Body,
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
        length,
    })
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
