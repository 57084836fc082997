//! The HTTP server: routes and the `run` entry point with its shutdown order.
//!
//! Every route is documented in `docs/tracker-api.md`.

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use starling_config::tracker::TrackerConfig;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::error::{Error, Result};
use crate::handlers::{announce, metainfo, probes};
use crate::state::TrackerState;
use crate::sweep::maintenance_loop;
use starling_runtime::{Drain, ServerTls, serve, spawn_named};

/// All tracker routes over `state`. `/announce` needs `ConnectInfo<SocketAddr>`: serve
/// with `starling_runtime::serve` (as [`run`] does, it adds the client address) or add `MockConnectInfo`.
pub fn router(state: Arc<TrackerState>) -> Router {
    Router::new()
        .route("/announce", get(announce::announce))
        .route(
            "/namespace/{ns}/blobs/{digest}/metainfo",
            get(metainfo::get),
        )
        .route("/health", get(probes::health))
        .route("/readiness", get(probes::readiness))
        .route("/metrics", get(probes::metrics))
        .with_state(state)
}

/// Serves the tracker on `listener` until `shutdown` fires.
///
/// Background tasks: the maintenance loop (peer sweep, metrics upkeep), the origin
/// cluster's `/health` probes and the refresh of the origins' peer identities. All
/// watch a child of `shutdown`, so serving failing stops them too.
///
/// Shutdown order once `shutdown` fires:
/// 1. readiness turns 503; the listener keeps accepting for `drain.delay`;
/// 2. the listener stops accepting and in-flight requests (announces, metainfo lookups
///    waiting on an origin) get `drain.timeout` to complete (`starling_runtime::Drain`);
/// 3. the background tasks are cancelled and awaited: the maintenance loop, the origin
///    health checks, the identity refresh; confirmations of origin seeders still
///    running are cancelled;
/// 4. `run` returns. A metainfo fetch whose callers all left still runs in its own task
///    until the origin answers; it only fills a cache that is dropped with the state.
pub async fn run(
    cfg: TrackerConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls = ServerTls::from_config(&cfg.tls).map_err(Error::tls)?;
    let state = Arc::new(TrackerState::from_config(&cfg)?);
    let local = listener.local_addr().map_err(Error::serve)?;
    let tasks = shutdown.child_token();
    let maintenance = spawn_named(
        "maintenance",
        maintenance_loop(state.clone(), tasks.clone()),
    );
    let health_checks = state
        .metainfo()
        .origins()
        .start_health_checks(tasks.clone());
    let identities = state.metainfo().seeds().start_refresh(tasks.clone());

    let drain = Drain::new(&shutdown, cfg.drain.delay, cfg.drain.timeout);
    let app = drain.bound(router(state.clone()));
    let draining = state.clone();
    let stop_signal = async move {
        shutdown.cancelled().await;
        draining.set_ready(false);
        tracing::info!("tracker shutting down");
        drain.closing().await;
    };
    state.set_ready(true);
    tracing::info!(listen = %local, advertise = %cfg.advertise, https = tls.is_some(), "tracker serving");
    let served = serve(listener, app, &cfg.connections, tls, stop_signal)
        .await
        .map_err(Error::serve);

    state.set_ready(false);
    tasks.cancel();
    state.metainfo().seeds().close();
    for (name, task) in [
        ("maintenance", maintenance),
        ("origin health checks", health_checks),
        ("origin identities", identities),
    ] {
        if let Err(error) = task.await {
            tracing::error!(%error, task = name, "background task did not finish cleanly");
        }
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
        router(state).layer(MockConnectInfo(std::net::SocketAddr::from((
            [127, 0, 0, 1],
            40000,
        ))))
    }

    #[tokio::test]
    async fn probes_answer() {
        let state = Arc::new(TrackerState::from_config(&TrackerConfig::default()).unwrap());
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
        let state = Arc::new(TrackerState::from_config(&TrackerConfig::default()).unwrap());
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

    #[tokio::test]
    async fn metainfo_errors_are_registry_bodies() {
        // No origins at all: every lookup that gets past parsing finds no owner.
        let state = Arc::new(TrackerState::from_config(&TrackerConfig::default()).unwrap());
        let digest = starling_core::Digest::of(b"x");
        let cases = [
            (
                format!("/namespace/team%2Fapp/blobs/{digest}/metainfo"),
                503,
                "UNAVAILABLE",
            ),
            (
                format!("/namespace/-team/blobs/{digest}/metainfo"),
                400,
                "NAME_INVALID",
            ),
            (
                "/namespace/team/blobs/md5:00/metainfo".to_owned(),
                400,
                "DIGEST_INVALID",
            ),
        ];
        for (uri, status, code) in cases {
            let (got, body) = get(app(state.clone()), &uri).await;
            assert_eq!(got.as_u16(), status, "{uri}");
            let error = starling_core::registry::RegistryError::from_json_body(&body).unwrap();
            assert_eq!(error.code.as_str(), code, "{uri}");
        }
        let text = state.render_metrics();
        assert!(
            text.contains("starling_tracker_metainfo_requests_total 1"),
            "{text}"
        );
    }
}
