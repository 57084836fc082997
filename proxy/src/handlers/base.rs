//! `GET /v2/` (the API version check), `GET /v2/<name>/tags/list` and `GET /v2/_catalog`.

use axum::Json;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use starling_core::RepoName;
use starling_runtime::ApiError;

use crate::listing::Listed;
use crate::request::RegistryQuery;
use crate::state::ProxyState;

/// `200 {}`: this is a Registry v2 API (the version header is added to every answer).
pub async fn ping() -> Json<serde_json::Value> {
    Json(serde_json::json!({}))
}

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

/// The page as JSON, with `Link: <next>; rel="next"` when more may follow.
pub fn paged<T: Serialize>(listed: Listed<T>) -> Response {
    let mut response = Json(listed.body).into_response();
    if let Some(next) = listed.next
        && let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\""))
    {
        response.headers_mut().insert(header::LINK, link);
    }
    response
}
