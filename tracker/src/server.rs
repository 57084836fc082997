//! The HTTP server: routes and the `run` entry point with its shutdown order.
//!
//! Shutdown order once `shutdown` fires: readiness turns 503; axum stops accepting and
//! lets in-flight requests finish; then the background tasks (which watch a child of
//! the same token, also cancelled if serving fails) are awaited; then `run` returns.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use starling_config::tracker::TrackerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::handlers::{announce, probes};
use crate::state::TrackerState;
use crate::sweep::maintenance_loop;
use starling_runtime::spawn_named;

/// All tracker routes over `state`. `/announce` needs `ConnectInfo<SocketAddr>`: serve
/// with `into_make_service_with_connect_info` (as [`run`] does) or add `MockConnectInfo`.
pub fn router(state: Arc<TrackerState>) -> Router {
    Router::new()
        .route("/announce", get(announce::announce))
        .route("/health", get(probes::health))
        .route("/readiness", get(probes::readiness))
        .route("/metrics", get(probes::metrics))
        .with_state(state)
}

/// Serves the tracker on `listener` until `shutdown` fires.
pub async fn run(
    cfg: TrackerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let state = Arc::new(TrackerState::from_config(&cfg));
    let local = listener.local_addr().map_err(Error::Serve)?;
    let tasks = shutdown.child_token();
    let maintenance = spawn_named(
        "maintenance",
        maintenance_loop(state.clone(), tasks.clone()),
    );

    let app = router(state.clone()).into_make_service_with_connect_info::<SocketAddr>();
    let draining = state.clone();
    let stop_signal = async move {
        shutdown.cancelled().await;
        draining.set_ready(false);
        tracing::info!("tracker shutting down");
    };
    state.set_ready(true);
    tracing::info!(listen = %local, advertise = %cfg.advertise, "tracker serving");
    let served = axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal)
        .await
        .map_err(Error::Serve);

    state.set_ready(false);
    tasks.cancel();
    if let Err(error) = maintenance.await {
        tracing::error!(%error, "maintenance task did not finish cleanly");
    }
    tracing::info!("tracker stopped");
    served
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::extract::connect_info::MockConnectInfo;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt;

    use super::*;

    async fn get(app: Router, uri: &str) -> (StatusCode, Vec<u8>) {
        let request = Request::get(uri).body(Body::empty()).unwrap();
        let response = app.oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
    }

    fn app(state: Arc<TrackerState>) -> Router {
        router(state).layer(MockConnectInfo(SocketAddr::from(([127, 0, 0, 1], 40000))))
    }

    #[tokio::test]
    async fn probes_answer() {
        let state = Arc::new(TrackerState::from_config(&TrackerConfig::default()));
        assert_eq!(
            get(app(state.clone()), "/health").await,
            (StatusCode::OK, b"OK".to_vec())
        );
        let (status, _) = get(app(state.clone()), "/readiness").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "not serving yet");
        state.set_ready(true);
        assert_eq!(
            get(app(state.clone()), "/readiness").await.0,
            StatusCode::OK
        );
        let (status, body) = get(app(state), "/metrics").await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            String::from_utf8(body)
                .unwrap()
                .contains("starling_tracker_peers 0")
        );
    }

    #[tokio::test]
    async fn announce_goes_through_the_raw_query() {
        let state = Arc::new(TrackerState::from_config(&TrackerConfig::default()));
        let uri = format!(
            "/announce?info_hash={}&peer_id={}&port=6881&left=0&compact=1",
            "%FF".repeat(20),
            "%00".repeat(20)
        );
        let (status, body) = get(app(state.clone()), &uri).await;
        assert_eq!(status, StatusCode::OK);
        assert!(
            body.starts_with(b"d8:completei1e"),
            "{}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(state.store().peer_count(), 1);
        let (status, body) = get(app(state), "/announce?info_hash=abc").await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body, b"d14:failure reason26:info_hash must be 20 bytese");
    }
}
