//! `GET /health`, `GET /readiness` and `GET /metrics`.
//!
//! Health means the process answers HTTP. Readiness means the build-index is serving,
//! not shutting down, and its database answers; the tag backends and the replicas are
//! not checked, since a put or lookup degrades gracefully without them (queued
//! forwards, local tags). Metrics are this instance's Prometheus text.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::BuildIndexState;

pub async fn health() -> &'static str {
    "OK"
}

pub async fn readiness(State(state): State<Arc<BuildIndexState>>) -> (StatusCode, &'static str) {
    if state.is_ready().await {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not ready")
    }
}

pub async fn metrics(State(state): State<Arc<BuildIndexState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.render_metrics().await,
    )
}
