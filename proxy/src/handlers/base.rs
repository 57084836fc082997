//! `GET /v2/` (the API version check), `GET /v2/<name>/tags/list`, `GET /v2/_catalog`
//! and `GET /v2/<name>/referrers/<digest>`.

use axum::response::{IntoResponse, Response};
use starling_core::{Digest, RepoName};
use starling_registry::{RegistryQuery, paged};
use starling_runtime::ApiError;

use crate::state::ProxyState;

pub async fn tags(
    state: &ProxyState,
    name: RepoName,
    query: &RegistryQuery,
) -> Result<Response, ApiError> {
    let listed = state
        .listing
        .tags(&name, query.get("n"), query.get("last"))
        .await?;
    Ok(paged(listed))
}

pub async fn catalog(state: &ProxyState, query: &RegistryQuery) -> Result<Response, ApiError> {
    let listed = state
        .listing
        .catalog(query.get("n"), query.get("last"))
        .await?;
    Ok(paged(listed))
}

pub async fn referrers(
    state: &ProxyState,
    name: RepoName,
    subject: Digest,
    query: &RegistryQuery,
) -> Result<Response, ApiError> {
    let referrers = state
        .listing
        .referrers(&name, &subject, query.artifact_type())
        .await?;
    Ok(referrers.into_response())
}
