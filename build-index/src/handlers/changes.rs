//! `GET /changes?since=&n=`: tags pushed after a stamp, oldest first, for agents that
//! preload pushed tags (`docs/build-index-api.md`). Without `since` the answer has no
//! changes and the newest stamp as its cursor, so a poller that starts does not replay
//! the history.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Query, State};
use serde::Deserialize;
use starling_clients::build_index::api::{MAX_CHANGES, TagChanges};
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use crate::state::BuildIndexState;

#[derive(Debug, Deserialize)]
pub struct ChangesQuery {
    since: Option<String>,
    n: Option<String>,
}

pub async fn list_changes(
    State(state): State<Arc<BuildIndexState>>,
    Query(query): Query<ChangesQuery>,
) -> Result<Json<TagChanges>, ApiError> {
    let invalid = |field: &str, value: &str| {
        ApiError::new(
            ErrorCode::PaginationNumberInvalid,
            format!("invalid {field}"),
        )
        .with_detail(value.to_owned())
    };
    let n = match query.n.as_deref() {
        None => MAX_CHANGES,
        Some(text) => match text.parse::<usize>() {
            Ok(n) if (1..=MAX_CHANGES).contains(&n) => n,
            _ => return Err(invalid("n", text)),
        },
    };
    let db = state.db();
    let Some(since) = query.since.as_deref() else {
        let cursor = db.latest_push_stamp().await?;
        return Ok(Json(TagChanges {
            changes: Vec::new(),
            cursor,
        }));
    };
    let since: i64 = since.parse().map_err(|_| invalid("since", since))?;
    let changes = db.changes_since(since, n).await?;
    let cursor = changes.last().map_or(since, |c| c.updated_at);
    Ok(Json(TagChanges { changes, cursor }))
}
