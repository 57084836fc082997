//! Everything the handlers and the background task share, built from the config.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use starling_backend::Backends;
use starling_config::BuildIndexConfig;

use crate::clock::Clock;
use crate::error::{Error, Result};
use crate::metrics::{BuildIndexMetrics, QueueDepths};
use crate::referrers::ReferrerService;
use crate::remotes::{RemoteParts, RemoteReplicator};
use crate::replication::{Replicator, ReplicatorParts};
use crate::service::{ServiceParts, TagService};
use crate::store::Db;
use starling_clients::build_index::client::{BuildIndexClient, authorized_http_client};
use starling_runtime::{ClientTls, ClusterToken};

pub struct BuildIndexState {
    service: TagService,
    referrers: ReferrerService,
    replicator: Arc<Replicator>,
    remotes: Arc<RemoteReplicator>,
    db: Db,
    metrics: Arc<BuildIndexMetrics>,
    /// The cluster's token: required on tag puts here, sent on forwards to replicas.
    token: Option<ClusterToken>,
    ready: AtomicBool,
}

impl BuildIndexState {
    /// Opens the database and builds the backends; fails on a bad backend entry or an
    /// unusable database file.
    pub async fn open(cfg: &BuildIndexConfig) -> Result<Self> {
        Self::open_with_clock(cfg, Clock::System).await
    }

    /// [`BuildIndexState::open`] with the given clock (tests drive time by hand).
    pub async fn open_with_clock(cfg: &BuildIndexConfig, clock: Clock) -> Result<Self> {
        let backends =
            Backends::new(&cfg.backends).map_err(Error::backend("configure the backends"))?;
        let db = Db::open(&cfg.database).await?;
        let metrics = Arc::new(BuildIndexMetrics::new());
        let token = cfg.auth.token().and_then(ClusterToken::new);
        let client_tls = ClientTls::from_config(&cfg.client_tls).map_err(Error::Tls)?;
        let http = authorized_http_client(token.as_ref(), client_tls.as_ref());
        let replicas = cfg
            .other_replicas()
            .map(|host| BuildIndexClient::with_http(http.clone(), host))
            .collect();
        let replicator = Arc::new(Replicator::new(
            db.clone(),
            ReplicatorParts {
                clock: clock.clone(),
                replicas,
                advertise: cfg.advertise.clone(),
                retry: cfg.replication.clone(),
                metrics: metrics.clone(),
            },
        ));
        let remotes = Arc::new(RemoteReplicator::new(
            db.clone(),
            cfg,
            RemoteParts {
                clock: clock.clone(),
                metrics: metrics.clone(),
                tls: client_tls,
            },
        ));
        let service = TagService::new(
            db.clone(),
            ServiceParts {
                backends,
                clock,
                cache_ttl: cfg.tag_cache_ttl,
                replicator: replicator.clone(),
                remotes: remotes.clone(),
                metrics: metrics.clone(),
            },
        );
        Ok(Self {
            service,
            referrers: ReferrerService::new(db.clone(), replicator.clone()),
            replicator,
            remotes,
            db,
            metrics,
            token,
            ready: AtomicBool::new(false),
        })
    }

    pub fn token(&self) -> Option<&ClusterToken> {
        self.token.as_ref()
    }

    /// The database, for the change feed.
    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn service(&self) -> &TagService {
        &self.service
    }

    pub fn referrers(&self) -> &ReferrerService {
        &self.referrers
    }

    pub fn replicator(&self) -> Arc<Replicator> {
        self.replicator.clone()
    }

    pub fn remotes(&self) -> Arc<RemoteReplicator> {
        self.remotes.clone()
    }

    /// Prometheus text for `GET /metrics`.
    pub async fn render_metrics(&self) -> String {
        let count = |queued: Result<u64>, queue: &str| {
            queued.unwrap_or_else(|error| {
                tracing::warn!(queue, %error, "cannot count a replication queue");
                0
            })
        };
        let depths = QueueDepths {
            replicas: count(self.replicator.queued().await, "replicas"),
            remotes: count(self.remotes.queued().await, "remotes"),
        };
        self.metrics.render(depths)
    }

    /// Serving, not shutting down, and the database answers.
    pub async fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed) && self.db.ping().await
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}
