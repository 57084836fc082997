//! `PUT`, `GET` and `HEAD /v2/<name>/manifests/<tag|digest>`. A push of a manifest
//! with a `subject` is answered with `OCI-Subject: <subject digest>`: the referrer is
//! recorded, so clients need not maintain the `sha256-<hex>` fallback tag.
//!
//! A pushed manifest is read into memory up to `max_manifest_size` (a declared
//! `Content-Length` above it is refused before reading); the service checks and
//! stores it.

use axum::body::{Body, Bytes};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use starling_core::registry::Reference;
use starling_core::{Digest, RepoName};
use starling_registry::headers::{self, DOCKER_CONTENT_DIGEST, OCI_SUBJECT};
use starling_registry::{ManifestBody, paths};
use starling_runtime::ApiError;

use crate::error::{Error, Result};
use crate::request::RegistryRequest;
use crate::state::ProxyState;

pub async fn put(
    state: &ProxyState,
    name: RepoName,
    reference: Reference,
    request: RegistryRequest,
) -> std::result::Result<ManifestCreated, ApiError> {
    let limit = state.manifests.max_size();
    let declared = request
        .header(header::CONTENT_LENGTH)
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|len| len > limit) {
        return Err(Error::ManifestTooLarge { limit }.into());
    }
    let content_type = request.header(header::CONTENT_TYPE).map(str::to_owned);
    let body = read_limited(request.body, limit).await?;
    let pushed = state
        .manifests
        .put(&name, &reference, content_type.as_deref(), body)
        .await?;
    Ok(ManifestCreated {
        name,
        digest: pushed.digest,
        subject: pushed.subject,
    })
}

pub async fn get(
    state: &ProxyState,
    name: RepoName,
    reference: Reference,
    head: bool,
) -> std::result::Result<ManifestBody, ApiError> {
    let manifest = state.manifests.get(&name, &reference).await?;
    Ok(ManifestBody { manifest, head })
}

/// Reads the whole body, failing as soon as it passes `limit` bytes.
async fn read_limited(body: Body, limit: u64) -> Result<Bytes> {
    let mut stream = body.into_data_stream();
    let mut out = Vec::new();
    while let Some(frame) = stream.next().await {
        let data = frame.map_err(|e| Error::BodyRead {
            received: out.len() as u64,
            source: e.into(),
        })?;
        if (out.len() + data.len()) as u64 > limit {
            return Err(Error::ManifestTooLarge { limit });
        }
        out.extend_from_slice(&data);
    }
    Ok(out.into())
}

/// 201 for a stored manifest.
pub struct ManifestCreated {
    name: RepoName,
    digest: Digest,
    subject: Option<Digest>,
}

impl IntoResponse for ManifestCreated {
    fn into_response(self) -> Response {
        let mut response = StatusCode::CREATED.into_response();
        let h = response.headers_mut();
        let location = paths::manifest(&self.name, &self.digest);
        h.insert(header::LOCATION, headers::value(&location));
        h.insert(
            DOCKER_CONTENT_DIGEST,
            headers::value(&self.digest.to_string()),
        );
        if let Some(subject) = self.subject {
            h.insert(OCI_SUBJECT, headers::value(&subject.to_string()));
        }
        h.insert(header::CONTENT_LENGTH, HeaderValue::from(0));
        response
    }
}
