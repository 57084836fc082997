//! `GET /health`, `GET /readiness` and `GET /metrics`.
//!
//! Health means the process answers HTTP. Readiness means the tracker is serving and
//! not shutting down (the tracker has no dependencies to check yet: the peer store is
//! in memory). Metrics are this instance's Prometheus text.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::TrackerState;

pub async fn health() -> &'static str {
    "OK"
}

pub async fn readiness(State(state): State<Arc<TrackerState>>) -> (StatusCode, &'static str) {
    if state.is_ready() {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

pub async fn metrics(State(state): State<Arc<TrackerState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.render_metrics(),
    )
}
