//! Path extractors: the edge where URL segments become [`RepoName`], [`Digest`] and
//! [`UploadId`]. A bad namespace or digest is a 400 with the registry error body; an
//! upload id that cannot exist is a 404 (it names no upload).
//!
//! axum percent-decodes path parameters, so the namespace segment `team%2Fapp` arrives
//! here as `team/app`.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use starling_core::{Digest, RepoName};
use starling_store::UploadId;

use starling_runtime::ApiError;

use crate::api_error::{bad_digest, bad_name, unknown_upload};

/// `{ns}` and `{digest}` of a blob route.
#[derive(Debug, Clone)]
pub struct BlobTarget {
    pub namespace: RepoName,
    pub digest: Digest,
}

/// A blob route with an `{uid}` segment.
#[derive(Debug, Clone)]
pub struct UploadTarget {
    pub blob: BlobTarget,
    pub id: UploadId,
}

impl<S: Send + Sync> FromRequestParts<S> for BlobTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        blob_target(&params)
    }
}

impl<S: Send + Sync> FromRequestParts<S> for UploadTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        let blob = blob_target(&params)?;
        let raw = params.get("uid").map(String::as_str).unwrap_or_default();
        let id = UploadId::parse(raw).map_err(|e| unknown_upload(e.to_string()))?;
        Ok(Self { blob, id })
    }
}

async fn params<S: Send + Sync>(
    parts: &mut Parts,
    state: &S,
) -> Result<HashMap<String, String>, ApiError> {
    let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, state)
        .await
        .map_err(|e| bad_name(format!("cannot read the path: {e}")))?;
    Ok(params)
}

fn blob_target(params: &HashMap<String, String>) -> Result<BlobTarget, ApiError> {
    let get = |name: &str| params.get(name).map(String::as_str).unwrap_or_default();
    let namespace = RepoName::parse(get("ns")).map_err(|e| bad_name(e.to_string()))?;
    let digest = Digest::parse(get("digest")).map_err(|e| bad_digest(e.to_string()))?;
    Ok(BlobTarget { namespace, digest })
}
