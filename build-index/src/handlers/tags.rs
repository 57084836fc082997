//! `PUT`, `GET` and `HEAD /tags/{repo}/{tag}`.
//!
//! The repository is one path segment with `/` escaped as `%2F`; axum's `Path` decodes
//! it, and it is then parsed as a `RepoName` (so `%2e%2e` decodes to `..` and fails
//! there). A put's body is the digest as text; a put carrying
//! [`api::REPLICATED_FROM`] comes from another replica, one carrying
//! [`api::REPLICATED_FROM_CLUSTER`] from another cluster's build-index; either must
//! carry its stamp in [`api::UPDATED_AT`], and not both may be set. HEAD is served by
//! the GET handler, without the body.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::{Digest, RepoName, Tag};
use starling_runtime::ApiError;

use crate::api_error;
use crate::clock::Timestamp;
use crate::error::Error;
use crate::service::PutOrigin;
use crate::state::BuildIndexState;
use starling_clients::build_index::api;
use starling_clients::build_index::client::PutOutcome;

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

/// A client put, a replica's forward or another cluster's put, with its stamp.
fn origin(headers: &HeaderMap) -> Result<PutOrigin, Error> {
    let replica = sender(headers, api::REPLICATED_FROM)?;
    let cluster = sender(headers, api::REPLICATED_FROM_CLUSTER)?;
    if replica.is_none() && cluster.is_none() {
        return Ok(PutOrigin::Client);
    }
    let updated_at = headers
        .get(api::UPDATED_AT)
        .and_then(|v| v.to_str().ok())
        .and_then(Timestamp::parse)
        .ok_or(Error::InvalidHeader {
            name: api::UPDATED_AT,
            reason: "a forwarded put needs its stamp in Unix milliseconds",
        })?;
    match (replica, cluster) {
        (Some(from), None) => Ok(PutOrigin::Replica { from, updated_at }),
        (None, Some(from)) => Ok(PutOrigin::Remote { from, updated_at }),
        _ => Err(Error::InvalidHeader {
            name: api::REPLICATED_FROM_CLUSTER,
            reason: "a put comes from a replica or from another cluster, not both",
        }),
    }
}

/// The sender named by header `name`, if present.
fn sender(headers: &HeaderMap, name: &'static str) -> Result<Option<String>, Error> {
    headers
        .get(name)
        .map(|value| {
            value
                .to_str()
                .map(str::to_owned)
                .map_err(|_| Error::InvalidHeader {
                    name,
                    reason: "must be a host:port",
                })
        })
        .transpose()
}
