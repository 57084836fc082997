//! `HEAD` and `GET /v2/<name>/blobs/<digest>`: the size (docker asks before pushing a
//! layer) and the bytes, streamed from the origins; `Range` answers 206.

use axum::body::Body;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::{Digest, RepoName};
use starling_registry::{BlobStat, blob_headers, headers};
use starling_runtime::ApiError;

use crate::blobs::BlobRead;
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
