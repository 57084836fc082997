//! The HTTP server: routes, the request middleware (`starling_runtime::trace_requests`),
//! and the `run` entry points with their shutdown order.
//!
//! Every route is listed in `docs/origin-api.md`.

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use starling_backend::Backends;
use starling_config::OriginConfig;
use starling_runtime::{
    Drain, ServerTls, require_token_for_writes, serve, spawn_named, trace_requests,
};
use starling_store::run_evictor;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

use crate::backends::BackendLookup;
use crate::error::{Error, Result};
use crate::handlers::{blobs, metainfo, notifications, peer, probes, uploads};
use crate::state::OriginState;
use crate::tasks::runner;
use starling_clients::OriginRing;
use starling_clients::origin::paths;

/// All origin routes over `state`.
pub fn router(state: Arc<OriginState>) -> Router {
    let blob = "/namespace/{ns}/blobs/{digest}";
    let routes = Router::new()
        .route(blob, get(blobs::get).head(blobs::head).put(uploads::put))
        .route(&format!("{blob}/metainfo"), get(metainfo::get))
        .route(&format!("{blob}/prefetch"), post(blobs::prefetch))
        .route(paths::PEER, get(peer::get))
        .route(
            paths::NOTIFICATIONS,
            post(notifications::post).layer(DefaultBodyLimit::max(notifications::MAX_ENVELOPE)),
        )
        .route("/health", get(probes::health))
        .route("/readiness", get(probes::readiness))
        .route("/metrics", get(probes::metrics));
    let routes = match &state.token {
        Some(token) => routes.layer(middleware::from_fn_with_state(
            token.clone(),
            require_token_for_writes,
        )),
        None => routes,
    };
    routes
        // Bodies are streamed to disk, never buffered, so no size limit applies.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(trace_requests))
        .with_state(state)
}

/// Serves the origin on `listener` until `shutdown` fires, with the backends the
/// configuration names.
///
/// The P2P engine listens on `cfg.peer.listen` (bound here; port 0 picks a free port,
/// which `GET /peer` reports) and seeds the blobs this origin holds.
///
/// Shutdown order once `shutdown` fires:
/// 1. readiness turns 503; the listener keeps accepting for `drain.delay`;
/// 2. the listener stops accepting and in-flight requests get `drain.timeout` to
///    complete, then are cut (`starling_runtime::Drain`);
/// 3. the P2P engine stops (peer connections closed) and is awaited;
/// 4. the background tasks are cancelled and awaited: the task runner abandons running
///    write-backs and copies (they stay queued in SQLite and run again on the next
///    start) and the evictor stops;
/// 5. the state is dropped: pins released, the queue closed. Then `run` returns.
pub async fn run(
    cfg: OriginConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let backends = Backends::new(&cfg.backends).map_err(Error::BackendConfig)?;
    run_with_backends(cfg, Arc::new(backends), listener, shutdown).await
}

/// [`run`] with the namespace-to-backend mapping given by the caller (tests wrap
/// backends to count or fail requests).
pub async fn run_with_backends(
    cfg: OriginConfig,
    backends: Arc<dyn BackendLookup>,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls = ServerTls::from_config(&cfg.tls).map_err(Error::Tls)?;
    let state = Arc::new(OriginState::open(&cfg, backends).await?);
    let local = listener.local_addr().map_err(Error::Serve)?;
    let tasks = shutdown.child_token();
    let engine = state
        .seeding
        .start(
            &cfg.peer,
            OriginRing::from_config(&cfg.cluster),
            state.metrics.registry(),
            tasks.child_token(),
        )
        .await?;
    let background = start_background(&cfg, &state, &tasks);

    let drain = Drain::new(&shutdown, cfg.drain.delay, cfg.drain.timeout);
    let draining = state.clone();
    let closing = drain.clone();
    let stop_signal = async move {
        shutdown.cancelled().await;
        draining.set_serving(false);
        info!("origin shutting down");
        closing.closing().await;
    };
    state.set_serving(true);
    if state.token.is_none() {
        warn!("no auth.token: anyone who reaches this port can upload blobs");
    }
    info!(listen = %local, advertise = %cfg.advertise, https = tls.is_some(), "origin serving");
    let app = drain.bound(router(state.clone()));
    let served = serve(listener, app, &cfg.connections, tls, stop_signal)
        .await
        .map_err(Error::Serve);

    state.set_serving(false);
    tasks.cancel();
    engine.stopped().await;
    for handle in background {
        if let Err(e) = handle.await {
            error!(error = %e, "background task did not finish cleanly");
        }
    }
    drop(state);
    info!("origin stopped");
    served
}

fn start_background(
    cfg: &OriginConfig,
    state: &Arc<OriginState>,
    token: &CancellationToken,
) -> Vec<JoinHandle<()>> {
    let runner = runner::run(
        state.tasks.clone(),
        state.worker.clone(),
        cfg.writeback.workers,
        token.child_token(),
    );
    let evictor = run_evictor(
        state.store.clone(),
        cfg.store.eviction_interval,
        token.child_token(),
    );
    vec![
        spawn_named("task-runner", runner),
        spawn_named("evictor", async move {
            evictor.await;
            Ok::<(), Error>(())
        }),
    ]
}

#[cfg(test)]
mod tests {
    use axum::body::{Body, to_bytes};
    use axum::http::{Request, StatusCode};
    use starling_core::{Digest, RepoName};
    use tower::ServiceExt;

    use super::*;
    use starling_clients::origin::paths;

    async fn state(root: &std::path::Path) -> Arc<OriginState> {
        let mut cfg = OriginConfig::default();
        cfg.store.root = root.to_path_buf();
        cfg.advertise = "127.0.0.1:1".to_owned();
        cfg.cluster.hosts = vec![cfg.advertise.clone()];
        let none: Arc<dyn BackendLookup> = Arc::new(|_: &RepoName| None);
        Arc::new(OriginState::open(&cfg, none).await.unwrap())
    }

    async fn send(
        state: &Arc<OriginState>,
        method: &str,
        uri: &str,
        body: &'static [u8],
    ) -> (StatusCode, Vec<u8>) {
        let request = Request::builder()
            .method(method)
            .uri(uri)
            .body(Body::from(body))
            .unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        let status = response.status();
        (
            status,
            to_bytes(response.into_body(), 1 << 20)
                .await
                .unwrap()
                .to_vec(),
        )
    }

    #[tokio::test]
    async fn blobs_round_trip_through_the_router() {
        let root = tempfile::tempdir().unwrap();
        let state = state(root.path()).await;
        let ns = RepoName::parse("a/b").unwrap();
        let digest = Digest::of(b"hello");
        let path = paths::blob(&ns, &digest);
        assert_eq!(
            send(&state, "PUT", &path, b"hello").await.0,
            StatusCode::CREATED
        );
        assert_eq!(
            send(&state, "GET", &path, b"").await,
            (StatusCode::OK, b"hello".to_vec())
        );
        assert_eq!(send(&state, "HEAD", &path, b"").await.0, StatusCode::OK);
        let (status, body) = send(&state, "GET", &paths::blob(&ns, &Digest::of(b"x")), b"").await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert!(String::from_utf8(body).unwrap().contains("BLOB_UNKNOWN"));
    }

    #[tokio::test]
    async fn with_a_token_uploads_and_prefetches_need_it_and_reads_do_not() {
        let root = tempfile::tempdir().unwrap();
        let mut cfg = OriginConfig::default();
        cfg.store.root = root.path().to_path_buf();
        cfg.advertise = "127.0.0.1:1".to_owned();
        cfg.cluster.hosts = vec![cfg.advertise.clone()];
        cfg.auth = starling_config::AuthConfig::with_token("0123456789abcdef-cluster");
        let none: Arc<dyn BackendLookup> = Arc::new(|_: &RepoName| None);
        let state = Arc::new(OriginState::open(&cfg, none).await.unwrap());
        let ns = RepoName::parse("a/b").unwrap();
        let digest = Digest::of(b"hello");
        let path = paths::blob(&ns, &digest);
        let (status, body) = send(&state, "PUT", &path, b"hello").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        assert!(String::from_utf8(body).unwrap().contains("UNAUTHORIZED"));
        let prefetch = paths::prefetch(&ns, &digest);
        assert_eq!(
            send(&state, "POST", &prefetch, b"").await.0,
            StatusCode::UNAUTHORIZED
        );
        assert_eq!(
            send(&state, "GET", &path, b"").await.0,
            StatusCode::NOT_FOUND,
            "reads stay open and the refused upload left nothing"
        );
        let request = Request::builder()
            .method("PUT")
            .uri(&path)
            .header("authorization", "Bearer 0123456789abcdef-cluster")
            .body(Body::from(&b"hello"[..]))
            .unwrap();
        let response = router(state.clone()).oneshot(request).await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED);
        assert_eq!(
            send(&state, "GET", &path, b"").await,
            (StatusCode::OK, b"hello".to_vec())
        );
    }

    #[tokio::test]
    async fn the_peer_identity_is_unavailable_until_the_engine_runs() {
        let root = tempfile::tempdir().unwrap();
        let state = state(root.path()).await;
        let (status, body) = send(&state, "GET", paths::PEER, b"").await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert!(String::from_utf8(body).unwrap().contains("UNAVAILABLE"));
    }

    #[tokio::test]
    async fn bad_paths_are_rejected_before_any_work() {
        let root = tempfile::tempdir().unwrap();
        let state = state(root.path()).await;
        let digest = Digest::of(b"x");
        let (status, body) =
            send(&state, "GET", &format!("/namespace/A/blobs/{digest}"), b"").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8(body).unwrap().contains("NAME_INVALID"));
        let (status, body) = send(&state, "PUT", "/namespace/a/blobs/sha256:00", b"x").await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert!(String::from_utf8(body).unwrap().contains("DIGEST_INVALID"));
        let chunked = format!("/namespace/a/blobs/{digest}/uploads");
        assert_eq!(
            send(&state, "POST", &chunked, b"").await.0,
            StatusCode::NOT_FOUND,
            "chunked uploads end at the proxy"
        );
    }
}
