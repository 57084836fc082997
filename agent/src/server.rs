//! The agent process: the P2P engine, the registry router (allow-listed), the admin
//! router (probes and metrics), the cache evictor, and [`run`] with its shutdown order.
//!
//! Every route is listed in `docs/agent-api.md`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::middleware;
use axum::response::IntoResponse;
use axum::routing::{get, post};
use starling_clients::BuildIndexCluster;
use starling_clients::build_index::client::authorized_http_client;
use starling_config::{AgentConfig, ConnectionsConfig};
use starling_p2p::{Engine, EngineParts, EngineSettings, MetaInfoSource, TrackerMetaInfo};
use starling_runtime::tls::with_client_tls;
use starling_runtime::{ClientTls, Drain, ServerTls, spawn_named, trace_requests};
use starling_store::{Capacity, Store, StoreOptions, run_evictor};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::info;

use crate::access::{AllowList, require_allowed};
use crate::blobs::BlobService;
use crate::dispatch;
use crate::error::{Error, Result};
use crate::metrics::AgentMetrics;
use crate::namespace::MirrorNamespaces;
use crate::preheat::{self, Preheat, PreheatMetrics};
use crate::pull_auth::{self, PullAuth, PullAuthMetrics};
use crate::state::{AgentState, AgentStateParts};
use crate::tags::TagResolver;

/// The agent's three sockets, bound before it starts (tests and `starling dev` bind
/// port 0 or fixed ports and read the addresses back).
pub struct AgentListeners {
    pub registry: TcpListener,
    pub admin: TcpListener,
    pub peer: TcpListener,
}

impl AgentListeners {
    /// Binds the addresses in `cfg`.
    pub async fn bind(cfg: &AgentConfig) -> std::io::Result<Self> {
        Ok(Self {
            registry: bind(cfg.registry_listen).await?,
            admin: bind(cfg.admin_listen).await?,
            peer: bind(cfg.peer.listen).await?,
        })
    }
}

async fn bind(addr: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| std::io::Error::new(e.kind(), format!("cannot listen on {addr}: {e}")))
}

/// The registry routes: every path goes through the allow-list, then the catch-all.
pub fn registry_router(state: Arc<AgentState>) -> Router {
    let router = match state.pull_auth {
        Some(_) => Router::new().route(pull_auth::TOKEN_PATH, get(pull_auth::token_endpoint)),
        None => Router::new(),
    };
    router
        .fallback(dispatch::registry)
        .layer(middleware::from_fn_with_state(
            state.clone(),
            require_allowed,
        ))
        .layer(middleware::from_fn(trace_requests))
        .with_state(state)
}

/// The admin routes: `/health`, `/readiness`, `/metrics`, and `POST /preload`.
pub fn admin_router(state: Arc<AgentState>) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/readiness", get(readiness))
        .route("/metrics", get(metrics))
        .route("/preload", post(preheat::handler::post))
        .with_state(state)
}

/// Runs the agent until `shutdown` fires, with metainfo from the tracker ring.
pub async fn run(
    cfg: AgentConfig,
    listeners: AgentListeners,
    shutdown: CancellationToken,
) -> Result<()> {
    let tls = ClientTls::from_config(&cfg.client_tls).map_err(Error::Tls)?;
    let http = starling_runtime::build_http_client(|b| {
        with_client_tls(b.connect_timeout(Duration::from_secs(5)), tls.as_ref())
    })
    .map_err(|e| Error::HttpClient(e.to_string()))?;
    let metainfo = TrackerMetaInfo::new(&cfg.trackers, http).map_err(|source| Error::Swarm {
        action: "configure the tracker ring",
        source,
    })?;
    run_with_metainfo(cfg, listeners, Arc::new(metainfo), shutdown).await
}

/// [`run`] with the metainfo source given by the caller.
///
/// Shutdown order once `shutdown` fires:
/// 1. readiness turns 503; the registry and admin listeners keep accepting for
///    `drain.delay`, then close; requests in flight (blobs streaming to the runtime,
///    still fed by the swarm) get `drain.timeout` to finish and are then cut
///    (`starling_runtime::Drain`);
/// 2. the engine stops: connections close, partial downloads are persisted for the next
///    start, `stopped` is announced;
/// 3. the evictor and the preheat poller (with its preloads) stop; then `run` returns.
pub async fn run_with_metainfo(
    cfg: AgentConfig,
    listeners: AgentListeners,
    metainfo: Arc<dyn MetaInfoSource>,
    shutdown: CancellationToken,
) -> Result<()> {
    let server_tls = ServerTls::from_config(&cfg.tls).map_err(Error::Tls)?;
    let client_tls = ClientTls::from_config(&cfg.client_tls).map_err(Error::Tls)?;
    let store = Store::open_root(store_options(&cfg)).await?;
    let metrics = Arc::new(AgentMetrics::new());
    metrics.watch_store(&store);
    // The engine outlives the drain (it feeds blobs still streaming); it stops after the
    // servers, or when `run` returns early.
    let engine_stop = CancellationToken::new();
    let _engine_guard = engine_stop.clone().drop_guard();
    let engine = Engine::start(
        EngineSettings::agent(cfg.peer.clone())
            .with_locality(cfg.zone.clone(), cfg.rack.clone())
            .with_tracker_tls(client_tls.clone()),
        EngineParts {
            store: store.clone(),
            listener: listeners.peer,
            trackers: cfg.trackers.clone(),
            metainfo: metainfo.clone(),
            metrics: metrics.registry(),
            inbound: None,
        },
        engine_stop.clone(),
    )
    .await
    .map_err(Error::swarm("start the engine"))?;
    let build_index = BuildIndexCluster::with_http(
        authorized_http_client(None, client_tls.as_ref()),
        &cfg.build_index,
    )
    .map_err(Error::build_index("configure"))?;
    let state = Arc::new(AgentState::new(AgentStateParts {
        engine: engine.clone(),
        store: store.clone(),
        blobs: BlobService::new(
            engine.clone(),
            metainfo,
            store.clone(),
            metrics.out_of_space.clone(),
        ),
        tags: TagResolver::new(build_index, cfg.tag_cache_ttl),
        namespaces: MirrorNamespaces::new(&cfg.cluster_registries),
        access: AllowList::new(&cfg.allowed_clients),
        preheat: Preheat {
            config: cfg.preheat.clone(),
            metrics: Arc::new(PreheatMetrics::new(metrics.registry())),
        },
        pull_auth: PullAuth::new(
            &cfg.pull_auth,
            pull_auth::checker_client(client_tls.as_ref())?,
            PullAuthMetrics::register(metrics.registry()),
            server_tls.is_some(),
        )
        .map(Arc::new),
        metrics,
    }));

    let tasks = shutdown.child_token();
    let evictor = spawn_named("evictor", {
        let evict = run_evictor(store, cfg.store.eviction_interval, tasks.child_token());
        async move {
            evict.await;
            Ok::<(), Error>(())
        }
    });

    let poller = cfg.preheat.enabled().then(|| {
        spawn_named(
            "preheat-poller",
            preheat::poller::run(state.clone(), tasks.child_token()),
        )
    });

    let registry_addr = listeners.registry.local_addr().map_err(Error::Serve)?;
    let admin_addr = listeners.admin.local_addr().map_err(Error::Serve)?;
    state.set_serving(true);
    info!(registry = %registry_addr, admin = %admin_addr, peer = %engine.local_addr(), https = server_tls.is_some(), "agent serving");
    let drain = Drain::new(&shutdown, cfg.drain.delay, cfg.drain.timeout);
    let serving = Serving {
        drain: &drain,
        limits: cfg.connections,
        tls: server_tls,
    };
    let registry = serving.serve(listeners.registry, registry_router(state.clone()));
    let admin = serving.serve(listeners.admin, admin_router(state.clone()));
    let stopping = {
        let state = state.clone();
        let shutdown = shutdown.clone();
        async move {
            shutdown.cancelled().await;
            state.set_serving(false);
            info!("agent shutting down");
        }
    };
    let (registry, admin, ()) = tokio::join!(registry, admin, stopping);

    engine_stop.cancel();
    engine.stopped().await;
    tasks.cancel();
    if let Some(poller) = poller
        && let Err(e) = poller.await
    {
        tracing::error!(error = %e, "the preheat poller did not finish cleanly");
    }
    if let Err(e) = evictor.await {
        tracing::error!(error = %e, "the evictor did not finish cleanly");
    }
    info!("agent stopped");
    registry.and(admin)
}

/// How both listeners are served: one drain, one set of limits, one TLS setup.
struct Serving<'a> {
    drain: &'a Drain,
    limits: ConnectionsConfig,
    tls: Option<ServerTls>,
}

impl Serving<'_> {
    async fn serve(&self, listener: TcpListener, router: Router) -> Result<()> {
        let router = self.drain.bound(router);
        let drain = self.drain.clone();
        starling_runtime::serve(
            listener,
            router,
            &self.limits,
            self.tls.clone(),
            async move { drain.closing().await },
        )
        .await
        .map_err(Error::Serve)
    }
}

fn store_options(cfg: &AgentConfig) -> StoreOptions {
    StoreOptions {
        root: cfg.store.root.clone(),
        idle_ttl: cfg.store.idle_ttl,
        high_watermark: cfg.store.high_watermark.as_u64(),
        low_watermark: cfg.store.low_watermark.as_u64(),
    }
}

async fn health() -> &'static str {
    "OK"
}

/// Ready when serving, the blob cache can store (see `starling_store::Store::capacity`)
/// and a build-index host answers (tags can be resolved). The answer names no path.
async fn readiness(State(state): State<Arc<AgentState>>) -> (StatusCode, String) {
    let unavailable = |why: String| (StatusCode::SERVICE_UNAVAILABLE, why);
    if !state.is_serving() {
        return unavailable("not serving".into());
    }
    match state.store.capacity().await {
        Capacity::Writable => {}
        Capacity::Unwritable { reason } => {
            tracing::warn!(%reason, "readiness: the blob cache cannot be written");
            return unavailable("the blob cache cannot be written".into());
        }
        Capacity::Short { needed, available } => {
            return unavailable(format!(
                "out of disk space: a download needed {needed} bytes, {available} are free"
            ));
        }
    }
    if !state.listing.reachable().await {
        return unavailable("no build-index answers".into());
    }
    (StatusCode::OK, "ready".into())
}

async fn metrics(State(state): State<Arc<AgentState>>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        state.metrics.render(),
    )
}
