//! `GET /namespace/{ns}/blobs/{digest}/metainfo`: the blob's `.torrent`.

use std::sync::Arc;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;

use crate::handlers::extract::BlobTarget;
use crate::state::OriginState;
use starling_runtime::ApiError;

/// A bencoded `.torrent` file.
pub struct Torrent(pub Bytes);

impl IntoResponse for Torrent {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "application/x-bittorrent")], self.0).into_response()
    }
}

pub async fn get(
    State(state): State<Arc<OriginState>>,
    target: BlobTarget,
) -> Result<Torrent, ApiError> {
    let bytes = state
        .metainfo
        .get(&target.namespace, &target.digest)
        .await?;
    Ok(Torrent(bytes))
}
