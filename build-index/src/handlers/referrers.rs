//! `PUT /referrers/{repo}/{subject}/{digest}` and `GET /referrers/{repo}/{subject}`.
//!
//! The repository is one path segment with `/` escaped as `%2F`, as for tags. A put's
//! body is the referrer's descriptor (JSON), whose `digest` must be the one in the path;
//! a put carrying [`api::REPLICATED_FROM`] is another replica's forward. The list is
//! `{"referrers": [descriptor, …]}`, empty (not 404) when there are none.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use starling_clients::build_index::api::{self, ReferrerList};
use starling_clients::build_index::client::PutOutcome;
use starling_core::registry::{ErrorCode, Referrer};
use starling_core::{Digest, RepoName};
use starling_runtime::ApiError;

use crate::referrers::ReferrerFrom;
use crate::state::BuildIndexState;

pub async fn put_referrer(
    State(state): State<Arc<BuildIndexState>>,
    Path((repo, subject, digest)): Path<(String, String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let repo = RepoName::parse(&repo)?;
    let subject = Digest::parse(&subject)?;
    let digest = Digest::parse(&digest)?;
    let referrer: Referrer = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(ErrorCode::ManifestInvalid, "invalid referrer descriptor")
            .with_detail(e.to_string())
    })?;
    if referrer.digest != digest {
        return Err(ApiError::new(
            ErrorCode::DigestInvalid,
            "descriptor digest differs from the path",
        )
        .with_detail(format!("path {digest}, descriptor {}", referrer.digest)));
    }
    let from = if headers.contains_key(api::REPLICATED_FROM) {
        ReferrerFrom::Replica
    } else {
        ReferrerFrom::Client
    };
    let outcome = state
        .referrers()
        .put(&repo, &subject, &referrer, from)
        .await?;
    Ok(match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Updated => StatusCode::OK,
    })
}

pub async fn list_referrers(
    State(state): State<Arc<BuildIndexState>>,
    Path((repo, subject)): Path<(String, String)>,
) -> Result<Json<ReferrerList>, ApiError> {
    let repo = RepoName::parse(&repo)?;
    let subject = Digest::parse(&subject)?;
    let referrers = state.referrers().list(&repo, &subject).await?;
    Ok(Json(ReferrerList { referrers }))
}
