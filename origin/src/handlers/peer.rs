//! `GET /peer`: this origin's identity in the swarm, for trackers that hand it out.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use starling_runtime::ApiError;

use crate::state::OriginState;
use starling_clients::origin::peer_identity::PeerBody;

pub async fn get(State(state): State<Arc<OriginState>>) -> Result<Json<PeerBody>, ApiError> {
    Ok(Json(state.seeding.peer()?.to_body()))
}
