//! `POST /notifications`: registry push events (the distribution notification
//! envelope) that make the origins warm the pushed images; see [`crate::warming`].
//!
//! Any `Content-Type` is read as the envelope (distribution sends
//! `application/vnd.docker.distribution.events.v1+json`, Harbor `application/json`);
//! a body that is no envelope is `400`. Events other than manifest pushes are ignored,
//! so a registry may send everything it has.

use std::sync::Arc;

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use starling_core::registry::ErrorCode;
use starling_core::registry::notification::Envelope;
use starling_runtime::ApiError;

use crate::state::OriginState;

/// A batch of events is small; 1 MiB holds thousands.
pub const MAX_ENVELOPE: usize = 1024 * 1024;

/// What the receiver took.
#[derive(Debug, Serialize)]
pub struct Accepted {
    /// Manifest pushes whose warming started.
    pub warming: usize,
}

pub async fn post(
    State(state): State<Arc<OriginState>>,
    body: Bytes,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let envelope: Envelope = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            ErrorCode::Unsupported,
            "the body is not a notification envelope",
        )
        .with_status(StatusCode::BAD_REQUEST)
        .with_detail(e.to_string())
    })?;
    let warming = state.warmer.accept(&envelope);
    Ok((StatusCode::ACCEPTED, Json(Accepted { warming })))
}
