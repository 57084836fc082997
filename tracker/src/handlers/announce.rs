//! `GET /announce`: hands the raw query and the peer's address to the announce service.
//!
//! The query is taken raw (`RawQuery`), never through a UTF-8 form extractor, because
//! `info_hash` and `peer_id` are percent-encoded binary.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::extract::{ConnectInfo, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};

use crate::state::TrackerState;

/// A bencoded body; always HTTP 200, failures included, as BitTorrent clients expect.
pub struct Bencoded(pub Vec<u8>);

impl IntoResponse for Bencoded {
    fn into_response(self) -> Response {
        ([(header::CONTENT_TYPE, "text/plain")], self.0).into_response()
    }
}

pub async fn announce(
    State(state): State<Arc<TrackerState>>,
    ConnectInfo(remote): ConnectInfo<SocketAddr>,
    RawQuery(query): RawQuery,
) -> Bencoded {
    let span = tracing::debug_span!("announce", %remote);
    Bencoded(span.in_scope(|| state.announce(query.as_deref(), remote)))
}
