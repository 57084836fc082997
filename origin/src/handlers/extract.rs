//! Path extractors: the edge where URL segments become [`RepoName`] and [`Digest`]. A
//! bad namespace or digest is a 400 with the registry error body.
//!
//! axum percent-decodes path parameters, so the namespace segment `team%2Fapp` arrives
//! here as `team/app`.

use std::collections::HashMap;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use starling_core::{Digest, RepoName};

use starling_runtime::ApiError;

use crate::api_error::{bad_digest, bad_name};

/// `{ns}` and `{digest}` of a blob route.
#[derive(Debug, Clone)]
pub struct BlobTarget {
    pub namespace: RepoName,
    pub digest: Digest,
}

impl<S: Send + Sync> FromRequestParts<S> for BlobTarget {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let params = params(parts, state).await?;
        blob_target(&params)
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
