//! `GET /repositories/{repo}/tags?n=&last=` and `GET /repositories?n=&last=`, paged as in
//! the registry spec: a page that may be followed by more carries a `Link` header to the
//! next one.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use starling_core::RepoName;
use starling_runtime::ApiError;

use crate::api_error;
use crate::state::BuildIndexState;
use starling_clients::build_index::api::{self, RepositoryList, TagList};
use starling_clients::build_index::paging::{Page, PageRequest};

/// The raw paging parameters; validated by [`PageRequest`].
#[derive(Debug, Deserialize)]
pub struct PageQuery {
    n: Option<String>,
    last: Option<String>,
}

pub async fn list_tags(
    State(state): State<Arc<BuildIndexState>>,
    Path(repo): Path<String>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let repo = RepoName::parse(&repo)?;
    let request = PageRequest::parse_tags(query.n.as_deref(), query.last.as_deref())
        .map_err(crate::Error::from)?;
    let Some(page) = state.service().list_tags(&repo, &request).await? else {
        return Err(api_error::name_unknown(&repo));
    };
    let next = page
        .next
        .map(|last| api::tags_path(&repo, &PageRequest::after(request.n, last)));
    let body = TagList {
        name: repo,
        tags: page.items,
    };
    Ok(with_next(Json(body), next))
}

pub async fn list_repositories(
    State(state): State<Arc<BuildIndexState>>,
    Query(query): Query<PageQuery>,
) -> Result<Response, ApiError> {
    let request = PageRequest::parse_repositories(query.n.as_deref(), query.last.as_deref())
        .map_err(crate::Error::from)?;
    let Page { items, next } = state.service().list_repositories(&request).await?;
    let next = next.map(|last| api::repositories_path(&PageRequest::after(request.n, last)));
    Ok(with_next(
        Json(RepositoryList {
            repositories: items,
        }),
        next,
    ))
}

fn with_next(body: impl IntoResponse, next: Option<String>) -> Response {
    match next {
        Some(path) => ([(header::LINK, api::next_link(&path))], body).into_response(),
        None => body.into_response(),
    }
}
