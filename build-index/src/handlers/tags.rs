//! `PUT`, `GET` and `HEAD /tags/{repo}/{tag}`.
//!
//! The repository is one path segment with `/` escaped as `%2F`; axum's `Path` decodes
//! it, and it is then parsed as a `RepoName` (so `%2e%2e` decodes to `..` and fails
//! there). A put's body is the digest as text; a put carrying
//! [`api::REPLICATED_FROM`] comes from another replica and must carry its stamp in
//! [`api::UPDATED_AT`]. HEAD is served by the GET handler, without the body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::{Digest, RepoName, Tag};
use starling_runtime::ApiError;

use crate::api;
use crate::api_error;
use crate::client::PutOutcome;
use crate::clock::Timestamp;
use crate::error::Error;
use crate::service::PutOrigin;
use crate::state::BuildIndexState;

pub async fn put_tag(
    State(state): State<Arc<BuildIndexState>>,
    Path((repo, tag)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<StatusCode, ApiError> {
    let repo = RepoName::parse(&repo)?;
    let tag = Tag::parse(&tag)?;
    let digest = Digest::parse(String::from_utf8_lossy(&body).trim())?;
    let origin = origin(&headers)?;
    let outcome = state.service().put(repo, tag, digest, origin).await?;
    Ok(match outcome {
        PutOutcome::Created => StatusCode::CREATED,
        PutOutcome::Updated => StatusCode::OK,
    })
}

pub async fn get_tag(
    State(state): State<Arc<BuildIndexState>>,
    Path((repo, tag)): Path<(String, String)>,
) -> Result<Response, ApiError> {
    let repo = RepoName::parse(&repo)?;
    let tag = Tag::parse(&tag)?;
    match state.service().get(&repo, &tag).await? {
        Some(digest) => Ok((
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            digest.to_string(),
        )
            .into_response()),
        None => Err(api_error::tag_unknown(&repo, &tag)),
    }
}

/// A client put, or a replica's forward with its stamp.
fn origin(headers: &HeaderMap) -> Result<PutOrigin, Error> {
    let Some(from) = headers.get(api::REPLICATED_FROM) else {
        return Ok(PutOrigin::Client);
    };
    let from = from.to_str().map_err(|_| Error::InvalidHeader {
        name: api::REPLICATED_FROM,
        reason: "must be a host:port",
    })?;
    let updated_at = headers
        .get(api::UPDATED_AT)
        .and_then(|v| v.to_str().ok())
        .and_then(Timestamp::parse)
        .ok_or(Error::InvalidHeader {
            name: api::UPDATED_AT,
            reason: "a forwarded put needs its stamp in Unix milliseconds",
        })?;
    Ok(PutOrigin::Replica {
        from: from.to_owned(),
        updated_at,
    })
}
