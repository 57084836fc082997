//! Blob uploads: `POST …/blobs/uploads/` (start, monolithic with `?digest=`, or
//! cross-repository mount with `?mount=&from=`), `PATCH`, `PUT` (commit), `GET` (status)
//! and `DELETE` (cancel) of `…/blobs/uploads/<id>`.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::registry::UploadRef;
use starling_core::{Digest, RepoName};
use starling_registry::headers::{self, DOCKER_CONTENT_DIGEST, DOCKER_UPLOAD_UUID};
use starling_registry::paths;
use starling_runtime::ApiError;

use crate::request::RegistryRequest;
use crate::state::ProxyState;
use crate::uploads::UploadState;

pub async fn start(
    state: &ProxyState,
    name: RepoName,
    request: RegistryRequest,
) -> Result<Response, ApiError> {
    if request.query.get("digest").is_some() {
        let digest = request.digest("monolithic upload")?;
        let body = request.body.into_data_stream();
        state.uploads.monolithic(&name, &digest, body).await?;
        return Ok(BlobCreated { name, digest }.into_response());
    }
    if let Some((digest, from)) = request.query.mount()
        && state.uploads.mount(&name, &from, &digest).await?
    {
        return Ok(BlobCreated { name, digest }.into_response());
    }
    let upload = state.uploads.start(&name, request.client).await?;
    Ok(UploadStatus::accepted(upload).into_response())
}

pub async fn patch(
    state: &ProxyState,
    name: RepoName,
    id: UploadRef,
    request: RegistryRequest,
) -> Result<UploadStatus, ApiError> {
    let chunk = request.into_chunk()?;
    let upload = state.uploads.append(&name, &id, chunk).await?;
    Ok(UploadStatus::accepted(upload))
}

pub async fn commit(
    state: &ProxyState,
    name: RepoName,
    id: UploadRef,
    request: RegistryRequest,
) -> Result<BlobCreated, ApiError> {
    let digest = request.digest("upload commit")?;
    let chunk = request.into_chunk()?;
    state.uploads.commit(&name, &id, &digest, chunk).await?;
    Ok(BlobCreated { name, digest })
}

pub async fn status(
    state: &ProxyState,
    name: RepoName,
    id: UploadRef,
) -> Result<UploadStatus, ApiError> {
    let upload = state.uploads.status(&name, &id).await?;
    Ok(UploadStatus {
        upload,
        status: StatusCode::NO_CONTENT,
    })
}

pub async fn cancel(
    state: &ProxyState,
    name: RepoName,
    id: UploadRef,
) -> Result<StatusCode, ApiError> {
    state.uploads.cancel(&name, &id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// An upload in progress: where to send the next chunk and what has arrived.
pub struct UploadStatus {
    upload: UploadState,
    status: StatusCode,
}

impl UploadStatus {
    fn accepted(upload: UploadState) -> Self {
        Self {
            upload,
            status: StatusCode::ACCEPTED,
        }
    }
}

impl IntoResponse for UploadStatus {
    fn into_response(self) -> Response {
        let UploadState { name, id, offset } = self.upload;
        let mut response = self.status.into_response();
        let h = response.headers_mut();
        h.insert(header::LOCATION, headers::value(&paths::upload(&name, &id)));
        h.insert(header::RANGE, headers::value(&paths::upload_range(offset)));
        h.insert(DOCKER_UPLOAD_UUID, headers::value(id.as_str()));
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        response
    }
}

/// 201 for a blob now in the origins.
pub struct BlobCreated {
    pub name: RepoName,
    pub digest: Digest,
}

impl IntoResponse for BlobCreated {
    fn into_response(self) -> Response {
        let mut response = StatusCode::CREATED.into_response();
        let h = response.headers_mut();
        let location = paths::blob(&self.name, &self.digest);
        h.insert(header::LOCATION, headers::value(&location));
        h.insert(
            DOCKER_CONTENT_DIGEST,
            headers::value(&self.digest.to_string()),
        );
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        response
    }
}
