//! `GET /health`, `GET /readiness` and `GET /metrics`.
//!
//! Health means the process answers HTTP. Readiness means the proxy is serving (not
//! shutting down), health checks see at least one origin up, and a build-index host
//! answers. Metrics are this instance's Prometheus text.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;

use crate::state::ProxyState;

pub async fn health() -> &'static str {
    "OK"
}

pub async fn readiness(State(state): State<Arc<ProxyState>>) -> (StatusCode, &'static str) {
    if !state.is_serving() {
        return (StatusCode::SERVICE_UNAVAILABLE, "not serving");
    }
    let hosts = state.origins.ring().hosts();
    if !hosts.iter().any(|host| state.origins.is_up(host)) {
        return (StatusCode::SERVICE_UNAVAILABLE, "no origin is up");
    }
    if !state.listing.reachable().await {
        return (StatusCode::SERVICE_UNAVAILABLE, "no build-index answers");
    }
    (StatusCode::OK, "ready")
}

pub async fn metrics(State(state): State<Arc<ProxyState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
