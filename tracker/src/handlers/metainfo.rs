//! `GET /namespace/{ns}/blobs/{digest}/metainfo`: the blob's `.torrent`, announcing to
//! the tracker that owns it.
//!
//! `{ns}` is one path segment with its `/` escaped (`team%2Fapp`); axum decodes it.
//! Both segments are parsed here, at the edge, into [`RepoName`] and [`Digest`].

use std::sync::Arc;

use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use starling_core::registry::ErrorCode;
use starling_core::{Digest, RepoName};
use starling_runtime::ApiError;
use tracing::Instrument;

use crate::state::TrackerState;

/// A bencoded `.torrent` file.
pub struct Torrent(pub Bytes);

impl IntoResponse for Torrent {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/x-bittorrent")], self.0).into_response()
    }
}

pub async fn get(
    State(state): State<Arc<TrackerState>>,
    path: Result<Path<(String, String)>, PathRejection>,
) -> Result<Torrent, ApiError> {
    // Only a segment that is not UTF-8 after decoding fails here.
    let Path((namespace, digest)) = path.map_err(|rejection| {
        ApiError::new(ErrorCode::NameInvalid, "invalid path").with_detail(rejection.body_text())
    })?;
    let namespace = RepoName::parse(&namespace)?;
    let digest = Digest::parse(&digest)?;
    let span = tracing::debug_span!("metainfo", %namespace, %digest);
    let torrent = state
        .metainfo()
        .torrent(&namespace, &digest)
        .instrument(span)
        .await
        .map_err(|e| ApiError::from(&e))?;
    Ok(Torrent(torrent))
}
