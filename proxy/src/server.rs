//! The HTTP server: the router (probes plus the registry catch-all), the request
//! middleware (`starling_runtime::trace_requests`), and [`run`] with its shutdown order.
//!
//! Every route is listed in `docs/proxy-api.md`.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::get;
use starling_config::ProxyConfig;
use starling_runtime::{Drain, ServerTls, serve, spawn_named, trace_requests};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{error, info};

use crate::dispatch;
use crate::error::{Error, Result};
use crate::handlers::probes;
use crate::state::ProxyState;

/// All proxy routes over `state`.
pub fn router(state: Arc<ProxyState>) -> Router {
    Router::new()
        .route("/health", get(probes::health))
        .route("/readiness", get(probes::readiness))
        .route("/metrics", get(probes::metrics))
        .fallback(dispatch::registry)
        // Blob bodies stream to disk and manifests are read with their own limit, so
        // no global limit applies.
        .layer(DefaultBodyLimit::disable())
        .layer(middleware::from_fn(trace_requests))
        .with_state(state)
}

/// Serves the proxy on `listener` until `shutdown` fires.
///
/// Shutdown order once `shutdown` fires:
/// 1. readiness turns 503; the listener keeps accepting for `drain.delay`;
/// 2. the listener stops accepting and in-flight requests get `drain.timeout` to
///    complete (a blob being pushed to the origins finishes, or fails and is reported
///    to its client), then are cut (`starling_runtime::Drain`);
/// 3. the background tasks are cancelled and awaited: the origin health checks, the
///    upload reaper and the notification senders (events still queued are dropped);
/// 4. uploads still open are dropped and their temp files deleted (clients start those
///    blobs again); then `run` returns.
pub async fn run(
    cfg: ProxyConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls = ServerTls::from_config(&cfg.tls).map_err(Error::Tls)?;
    let state = Arc::new(ProxyState::open(&cfg).await?);
    let local = listener.local_addr().map_err(Error::Serve)?;
    let tasks = shutdown.child_token();
    let mut background = vec![
        state.origins.start_health_checks(tasks.child_token()),
        spawn_named(
            "upload-reaper",
            reap_uploads(state.clone(), tasks.child_token()),
        ),
    ];
    background.extend(state.notifier.start(&tasks));

    let drain = Drain::new(&shutdown, cfg.drain.delay, cfg.drain.timeout);
    let draining = state.clone();
    let closing = drain.clone();
    let stop_signal = async move {
        shutdown.cancelled().await;
        draining.set_serving(false);
        info!("proxy shutting down");
        closing.closing().await;
    };
    state.set_serving(true);
    info!(listen = %local, auth = state.auth.is_some(), https = tls.is_some(), "proxy serving");
    let app = drain.bound(router(state.clone()));
    let served = serve(listener, app, &cfg.connections, tls, stop_signal)
        .await
        .map_err(Error::Serve);

    state.set_serving(false);
    tasks.cancel();
    for handle in background {
        if let Err(e) = handle.await {
            error!(error = %e, "background task did not finish cleanly");
        }
    }
    state.uploads.sessions().clear();
    info!("proxy stopped");
    served
}

/// Drops abandoned uploads, checking four times per idle timeout.
async fn reap_uploads(state: Arc<ProxyState>, shutdown: CancellationToken) -> Result<()> {
    let idle = state.uploads.sessions().idle_timeout();
    let mut ticks = tokio::time::interval(idle / 4);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticks.tick() => {}
        }
        state.uploads.reap(Instant::now());
    }
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
