//! The origin's shared state: its services, built once from the configuration, and the
//! readiness flag. The P2P engine is started by `run`, not here, so that router tests
//! can build a state without a peer listener. Handlers reach everything through an `Arc<OriginState>`.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use starling_config::OriginConfig;
use starling_store::{Store, StoreOptions};

use crate::backends::BackendLookup;
use crate::blobs::BlobService;
use crate::error::{Error, Result};
use crate::metainfo::{MetainfoParts, MetainfoService};
use crate::metrics::OriginMetrics;
use crate::seeding::Seeding;
use crate::tasks::work::Worker;
use crate::tasks::{Distribution, RetryPolicy, Tasks};
use crate::uploads::UploadService;
use crate::warming::Warmer;
use starling_clients::OriginCluster;
use starling_clients::OriginRing;
use starling_clients::origin::client::authorized_http;
use starling_runtime::{ClientTls, ClusterToken};

/// Everything the handlers and background tasks share.
pub struct OriginState {
    pub store: Store,
    pub blobs: Arc<BlobService>,
    pub uploads: UploadService,
    pub metainfo: MetainfoService,
    /// The P2P engine (once `run` started it) and what it can seed.
    pub seeding: Arc<Seeding>,
    pub tasks: Arc<Tasks>,
    pub worker: Arc<Worker>,
    pub metrics: Arc<OriginMetrics>,
    pub advertise: String,
    /// The cluster's token: required on writes here, sent on copies to other origins.
    pub token: Option<ClusterToken>,
    /// Turns push notifications into prefetches on the blobs' owners.
    pub warmer: Warmer,
    ready: AtomicBool,
}

impl OriginState {
    /// Opens the store and the task queue (pinning the blobs of pending tasks) and
    /// wires the services together. Starts nothing.
    pub async fn open(cfg: &OriginConfig, backends: Arc<dyn BackendLookup>) -> Result<Self> {
        let policy = cfg
            .piece_lengths
            .policy()
            .map_err(|e| Error::Config(e.to_string()))?;
        let store = Store::open_root(store_options(cfg))
            .await
            .map_err(Error::store("open the store"))?;
        let metrics = Arc::new(OriginMetrics::new());
        metrics.watch_store(&store);
        let retry = RetryPolicy::from_config(&cfg.writeback);
        let tasks = Arc::new(
            Tasks::open(
                cfg.writeback_database(),
                store.clone(),
                metrics.clone(),
                retry,
            )
            .await?,
        );
        let ring = OriginRing::from_config(&cfg.cluster);
        let distribution = Arc::new(Distribution::new(
            tasks.clone(),
            ring,
            cfg.advertise.clone(),
            backends.clone(),
        ));
        let blobs = Arc::new(BlobService::new(
            store.clone(),
            backends.clone(),
            metrics.clone(),
        ));
        let uploads = UploadService::new(store.clone(), distribution, metrics.clone());
        let seeding =
            Arc::new(Seeding::open(metainfo_dir(cfg), blobs.clone(), cfg.advertise.clone()).await?);
        let metainfo = MetainfoService::new(MetainfoParts {
            dir: metainfo_dir(cfg),
            policy,
            blobs: blobs.clone(),
            metrics: metrics.clone(),
            seeding: seeding.clone(),
        });
        let token = cfg.auth.token().and_then(ClusterToken::new);
        let client_tls = ClientTls::from_config(&cfg.client_tls).map_err(Error::Tls)?;
        let warmer = Warmer::new(
            OriginCluster::with_http(
                &cfg.cluster,
                authorized_http(token.as_ref(), client_tls.as_ref()),
            ),
            metrics.clone(),
        );
        let worker = Arc::new(Worker {
            store: store.clone(),
            backends,
            http: authorized_http(token.as_ref(), client_tls.as_ref()),
            advertise: cfg.advertise.clone(),
            metrics: metrics.clone(),
        });
        Ok(Self {
            store,
            blobs,
            uploads,
            metainfo,
            seeding,
            tasks,
            worker,
            metrics,
            advertise: cfg.advertise.clone(),
            token,
            warmer,
            ready: AtomicBool::new(false),
        })
    }

    /// True between the start of serving and the shutdown request.
    pub fn is_serving(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn set_serving(&self, serving: bool) {
        self.ready.store(serving, Ordering::Relaxed);
    }

    /// Whether the store accepts writes: a probe file is created, written, synced and
    /// removed in the store root.
    pub async fn store_writable(&self) -> bool {
        let probe = self.store.options().root.join(".readiness-probe");
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let written = std::fs::File::create(&probe)
                .and_then(|mut f| f.write_all(b"ok").and_then(|()| f.sync_all()));
            let removed = std::fs::remove_file(&probe);
            written.and(removed).is_ok()
        })
        .await
        .unwrap_or(false)
    }
}

/// The store's options from the `store` config section.
pub fn store_options(cfg: &OriginConfig) -> StoreOptions {
    StoreOptions {
        root: cfg.store.root.clone(),
        idle_ttl: cfg.store.idle_ttl,
        high_watermark: cfg.store.high_watermark.as_u64(),
        low_watermark: cfg.store.low_watermark.as_u64(),
    }
}

/// Where metainfo files are kept: `<store root>/metainfo`.
pub fn metainfo_dir(cfg: &OriginConfig) -> PathBuf {
    cfg.store.root.join("metainfo")
}
