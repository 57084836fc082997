//! `GET /health`, `GET /readiness` and `GET /metrics`.
//!
//! Health means the process answers HTTP. Readiness means the origin is serving (not
//! shutting down) and its store accepts writes. Metrics are this instance's Prometheus
//! text.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::OriginState;

pub async fn health() -> &'static str {
    "OK"
}

pub async fn readiness(State(state): State<Arc<OriginState>>) -> (StatusCode, &'static str) {
    if !state.is_serving() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not serving");
    }
    if !state.store_writable().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "store not writable");
    }
    (StatusCode::OK, "ready")
}

pub async fn metrics(State(state): State<Arc<OriginState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
