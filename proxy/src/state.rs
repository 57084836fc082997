//! The proxy's shared state: its services, built once from the configuration, and the
//! readiness flag. Handlers reach everything through an `Arc<ProxyState>`.
//!
//! The proxy keeps no data of its own: blobs and manifests live in the origins, tags in
//! the build-index. Only uploads in progress sit in `upload_dir`, and those do not
//! survive a restart (clients start a blob again), so opening the state deletes what a
//! previous run left there.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use starling_clients::BuildIndexCluster;
use starling_clients::OriginCluster;
use starling_clients::build_index::client::authorized_http_client;
use starling_clients::origin::client::authorized_http;
use starling_config::ProxyConfig;
use starling_registry::ListingService;
use starling_runtime::{ClientTls, ClusterToken};
use tracing::{info, warn};

use crate::auth::{Authenticator, Htpasswd};
use crate::blobs::BlobService;
use crate::error::{Error, Result};
use crate::manifests::{ManifestService, ManifestServiceParts};
use crate::metrics::ProxyMetrics;
use crate::notify::Notifier;
use crate::uploads::file::FILE_PREFIX;
use crate::uploads::sessions::SessionLimits;
use crate::uploads::{UPLOAD_IDLE_TIMEOUT, UploadService};

/// Everything the handlers and background tasks share.
pub struct ProxyState {
    pub uploads: UploadService,
    pub blobs: BlobService,
    pub manifests: ManifestService,
    pub listing: ListingService,
    /// `None` when no htpasswd file is configured: everything is open.
    pub auth: Option<Authenticator>,
    pub origins: OriginCluster,
    pub metrics: Arc<ProxyMetrics>,
    /// Push events to `notifications.endpoints`; `run` starts its senders.
    pub notifier: Notifier,
    ready: AtomicBool,
}

impl ProxyState {
    /// Prepares `upload_dir`, reads the htpasswd file and builds the clients of the
    /// origin cluster and the build-index. Starts nothing.
    pub async fn open(cfg: &ProxyConfig) -> Result<Self> {
        prepare_upload_dir(&cfg.upload_dir).await?;
        let auth = match &cfg.htpasswd {
            Some(path) => {
                let htpasswd = Htpasswd::load(path).await?;
                info!(users = htpasswd.len(), "basic auth required for pushes");
                Some(Authenticator::new(htpasswd))
            }
            None => None,
        };
        let token = cfg.auth.token().and_then(ClusterToken::new);
        if token.is_none() {
            warn!("no auth.token: this proxy writes to origins and build-index unauthenticated");
        }
        let tls = ClientTls::from_config(&cfg.client_tls).map_err(Error::Tls)?;
        let origins =
            OriginCluster::with_http(&cfg.origins, authorized_http(token.as_ref(), tls.as_ref()));
        let tags = BuildIndexCluster::with_http(
            authorized_http_client(token.as_ref(), tls.as_ref()),
            &cfg.build_index,
        )
        .map_err(Error::build_index("configure the build-index hosts"))?;
        let metrics = Arc::new(ProxyMetrics::new());
        let notifier = Notifier::new(cfg, token.as_ref(), tls.as_ref(), metrics.clone())?;
        Ok(Self {
            uploads: UploadService::new(
                cfg.upload_dir.clone(),
                UPLOAD_IDLE_TIMEOUT,
                SessionLimits {
                    total: cfg.max_uploads,
                    per_client: cfg.max_uploads_per_client,
                },
                origins.clone(),
                metrics.clone(),
            ),
            blobs: BlobService::new(origins.clone()),
            manifests: ManifestService::new(ManifestServiceParts {
                origins: origins.clone(),
                tags: tags.clone(),
                max_size: cfg.max_manifest_size.as_u64(),
                metrics: metrics.clone(),
                notifier: notifier.clone(),
            }),
            listing: ListingService::new(tags),
            auth,
            origins,
            metrics,
            notifier,
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
}

/// Creates the directory and deletes upload files a previous run left behind.
async fn prepare_upload_dir(dir: &Path) -> Result<()> {
    tokio::fs::create_dir_all(dir)
        .await
        .map_err(Error::io("create the upload directory", dir.to_path_buf()))?;
    let mut entries = tokio::fs::read_dir(dir)
        .await
        .map_err(Error::io("list the upload directory", dir.to_path_buf()))?;
    let mut removed = 0;
    loop {
        let next = entries.next_entry().await;
        let next = next.map_err(Error::io("list the upload directory", dir.to_path_buf()))?;
        let Some(entry) = next else { break };
        let stale = entry.file_name().to_string_lossy().starts_with(FILE_PREFIX);
        if stale {
            tokio::fs::remove_file(entry.path())
                .await
                .map_err(Error::io("remove a stale upload", entry.path()))?;
            removed += 1;
        }
    }
    if removed > 0 {
        info!(removed, dir = %dir.display(), "stale uploads removed");
    }
    Ok(())
}
