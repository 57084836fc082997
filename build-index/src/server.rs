//! The HTTP server: routes, request logging (`starling_runtime::trace_requests`) and the
//! `run` entry point with its shutdown order.
//!
//! Shutdown order once `shutdown` fires: readiness turns 503; the listener keeps
//! accepting for `drain.delay`; axum stops accepting and gives in-flight requests
//! `drain.timeout` to finish (`starling_runtime::Drain`; a client put in flight completes its forwards or
//! queues them, and queues its remote tasks); then the background tasks, which watch a
//! child of the same token (also cancelled if serving fails), are awaited: the retry
//! loops of the replica and remote queues (an attempt they interrupt, even part-way
//! through a blob copy, stays queued for the next start) and the origin health checks;
//! then the database is closed as the state drops, and `run` returns.

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::middleware;
use axum::routing::{get, put};
use starling_config::BuildIndexConfig;
use starling_runtime::{
    ApiError, Drain, ServerTls, require_token_for_writes, serve, spawn_named, trace_requests,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::api_error;
use crate::error::{Error, Result};
use crate::handlers::{changes, probes, referrers, repositories, tags};
use crate::replication::retry_loop;
use crate::state::BuildIndexState;

/// Tag bodies are a digest; 4 KiB leaves room for whitespace and nothing else.
const MAX_BODY: usize = 4096;
/// A referrer's descriptor carries the manifest's annotations (signatures put
/// certificates there); 256 KiB holds any real one.
pub const MAX_REFERRER_BODY: usize = 256 * 1024;

/// All build-index routes over `state`.
pub fn router(state: Arc<BuildIndexState>) -> Router {
    let routes = Router::new()
        .route("/tags/{repo}/{tag}", get(tags::get_tag).put(tags::put_tag))
        .route(
            "/referrers/{repo}/{subject}/{digest}",
            put(referrers::put_referrer).layer(DefaultBodyLimit::max(MAX_REFERRER_BODY)),
        )
        .route(
            "/referrers/{repo}/{subject}",
            get(referrers::list_referrers),
        )
        .route("/repositories/{repo}/tags", get(repositories::list_tags))
        .route("/repositories", get(repositories::list_repositories))
        .route("/changes", get(changes::list_changes))
        .route("/health", get(probes::health))
        .route("/readiness", get(probes::readiness))
        .route("/metrics", get(probes::metrics))
        .fallback(no_route);
    let routes = match state.token() {
        Some(token) => routes.layer(middleware::from_fn_with_state(
            token.clone(),
            require_token_for_writes,
        )),
        None => routes,
    };
    routes
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn(trace_requests))
        .with_state(state)
}

async fn no_route(request: Request) -> ApiError {
    api_error::no_route(request.uri().path())
}

/// Serves the build-index on `listener` until `shutdown` fires.
pub async fn run(
    cfg: BuildIndexConfig,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls = ServerTls::from_config(&cfg.tls).map_err(Error::Tls)?;
    let state = Arc::new(BuildIndexState::open(&cfg).await?);
    let local = listener.local_addr().map_err(Error::Serve)?;
    let tasks = shutdown.child_token();
    let retries = [
        spawn_named("replication", retry_loop(state.replicator(), tasks.clone())),
        spawn_named(
            "remote-replication",
            retry_loop(state.remotes(), tasks.clone()),
        ),
    ];
    let health_checks = state.remotes().start_health_checks(&tasks);

    let drain = Drain::new(&shutdown, cfg.drain.delay, cfg.drain.timeout);
    let draining = state.clone();
    let closing = drain.clone();
    let stop_signal = async move {
        shutdown.cancelled().await;
        draining.set_ready(false);
        tracing::info!("build-index shutting down");
        closing.closing().await;
    };
    state.set_ready(true);
    if state.token().is_none() {
        tracing::warn!("no auth.token: anyone who reaches this port can set tags");
    }
    tracing::info!(listen = %local, advertise = %cfg.advertise, replicas = cfg.replicas.len(), remotes = cfg.remotes.len(), https = tls.is_some(), "build-index serving");
    let app = drain.bound(router(state.clone()));
    let served = serve(listener, app, &cfg.connections, tls, stop_signal)
        .await
        .map_err(Error::Serve);

    state.set_ready(false);
    tasks.cancel();
    for retry in retries {
        if let Err(error) = retry.await {
            tracing::error!(%error, "replication task did not finish cleanly");
        }
    }
    for check in health_checks {
        if let Err(error) = check.await {
            tracing::error!(%error, "origin health checks did not finish cleanly");
        }
    }
    drop(state);
    tracing::info!("build-index stopped");
    served
}

#[cfg(test)]
#[path = "server_tests.rs"]
mod tests;
