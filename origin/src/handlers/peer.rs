//! `GET /peer`: this origin's identity in the swarm, for trackers that hand it out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use starling_runtime::ApiError;

use crate::peer_identity::PeerBody;
use crate::state::OriginState;

pub async fn get(State(state): State<Arc<OriginState>>) -> Result<Json<PeerBody>, ApiError> {
    Ok(Json(state.seeding.peer()?.to_body()))
}
