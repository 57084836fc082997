//! `POST /preload?repository=team/app&tag=1` (or `&digest=sha256:…`) on the admin port:
//! preloads the image and answers `200` with a [`Preloaded`] body once every blob is in
//! the cache — a deploy script can call it on each node and know the pull will be
//! local. An unknown tag or manifest is `404 MANIFEST_UNKNOWN`; a swarm or build-index
//! failure is the error a pull would get.
//!
//! It answers when done rather than `202`: the work is bounded by the image and the
//! client's timeout bounds the wait, and a caller that gives up leaves nothing
//! half-done behind (a blob download the engine started completes and is cached).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use starling_core::registry::{ErrorCode, Reference};
use starling_core::{Digest, RepoName, Tag};
use starling_runtime::ApiError;

use crate::preheat::preload::{PreloadError, Preloaded, preload};
use crate::state::AgentState;

#[derive(Debug, Deserialize)]
pub struct PreloadQuery {
    repository: String,
    tag: Option<String>,
    digest: Option<String>,
}

pub async fn post(
    State(state): State<Arc<AgentState>>,
    Query(query): Query<PreloadQuery>,
) -> Result<Json<Preloaded>, ApiError> {
    let name = RepoName::parse(&query.repository).map_err(ApiError::from)?;
    let reference = match (&query.tag, &query.digest) {
        (Some(tag), None) => Reference::Tag(Tag::parse(tag).map_err(ApiError::from)?),
        (None, Some(digest)) => Reference::Digest(Digest::parse(digest).map_err(ApiError::from)?),
        _ => {
            return Err(ApiError::new(
                ErrorCode::Unsupported,
                "give exactly one of tag and digest",
            )
            .with_status(axum::http::StatusCode::BAD_REQUEST));
        }
    };
    match preload(&state, &name, &reference).await {
        Ok(done) => Ok(Json(done)),
        Err(PreloadError::Agent(error)) => Err(error.into()),
        Err(error @ PreloadError::NotAManifest { .. }) => {
            Err(ApiError::new(ErrorCode::ManifestInvalid, error.to_string()))
        }
    }
}
