//! Cross-cluster tag replication: a client put of a repository matching a `remotes`
//! entry is sent to that remote cluster, blobs first.
//!
//! A client put queues one task per matching remote in the `remote_replication` table
//! (a replica's forward and a put from another cluster queue nothing: the build-index
//! that took the client put does it, and a tag is never sent on, so two clusters that
//! are each other's remote do not bounce it). The task is then worked by
//! [`crate::replication::retry_loop`]; one attempt ([`worker`]):
//!
//! 1. lists the blobs the tag needs ([`blobs`]): its manifest, read from this cluster's
//!    origins, with the config and layers of an image, or the child manifests of an
//!    index, followed recursively;
//! 2. makes sure each is on the remote cluster's origins ([`copy`]), in that order,
//!    stopping at the first failure: a blob already there is skipped, any other is
//!    streamed from this cluster's origins to its owner on the remote ring (which
//!    copies it to the other owners);
//! 3. only when every blob is there, puts the tag on the remote build-index with the
//!    stamp of the client put (last writer wins across clusters, too).
//!
//! A failed attempt is retried with the backoff of the `replication` config, across
//! restarts; blobs copied by a failed attempt stay on the remote and are skipped next
//! time. A manifest that cannot be followed, or a remote that answers the tag put with
//! 4xx, ends the task at once (retrying cannot help). A newer put of the same tag
//! replaces the queued task. A task whose remote is no longer configured for its
//! repository is dropped.

mod blobs;
mod copy;
mod worker;

use std::sync::Arc;

use starling_clients::OriginCluster;
use starling_config::{BuildIndexConfig, RemoteConfig, RetryConfig};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::error::Result;
use crate::metrics::{BuildIndexMetrics, RemoteTask};
use crate::store::{Db, Queue, Schedule, TagUpdate};
use starling_clients::build_index::client::{BuildIndexClient, authorized_http_client};
use starling_clients::origin::client::authorized_http;
use starling_runtime::{ClientTls, ClusterToken};

/// One remote cluster: its build-index and its origin ring.
struct Remote {
    config: RemoteConfig,
    index: BuildIndexClient,
    origins: OriginCluster,
}

impl Remote {
    fn url(&self) -> &str {
        &self.config.url
    }

    fn wants(&self, update: &TagUpdate) -> bool {
        self.config.repo.is_match(update.repo.as_str())
    }
}

/// Queues tags for remote clusters and works the queue.
pub struct RemoteReplicator {
    db: Db,
    clock: Clock,
    remotes: Vec<Remote>,
    /// This cluster's origin ring, where the tags' blobs are read.
    local: OriginCluster,
    /// This host's address, sent with each put as its sender.
    advertise: String,
    retry: RetryConfig,
    /// Woken when a task is queued.
    wake: Notify,
    metrics: Arc<BuildIndexMetrics>,
}

/// What [`RemoteReplicator::new`] needs besides the database and the config.
pub struct RemoteParts {
    pub clock: Clock,
    pub metrics: Arc<BuildIndexMetrics>,
    /// `client_tls:`, used for the local origins and for every remote.
    pub tls: Option<ClientTls>,
}

impl RemoteReplicator {
    /// The remotes of `cfg`, reading blobs from `cfg.origins`.
    pub fn new(db: Db, cfg: &BuildIndexConfig, parts: RemoteParts) -> Self {
        let tls = parts.tls.as_ref();
        let remotes = cfg
            .remotes
            .iter()
            .map(|config| {
                // The remote cluster's own token, never this cluster's.
                let token = config.auth.token().and_then(ClusterToken::new);
                Remote {
                    config: config.clone(),
                    index: BuildIndexClient::with_base_url(
                        authorized_http_client(token.as_ref(), tls),
                        &config.url,
                    ),
                    origins: OriginCluster::with_http(
                        &config.origins,
                        authorized_http(token.as_ref(), tls),
                    ),
                }
            })
            .collect();
        Self {
            db,
            clock: parts.clock,
            remotes,
            local: OriginCluster::with_http(&cfg.origins, authorized_http(None, tls)),
            advertise: cfg.advertise.clone(),
            retry: cfg.replication.clone(),
            wake: Notify::new(),
            metrics: parts.metrics,
        }
    }

    /// Queues `update`, a client put, for every remote whose `repo` pattern matches.
    pub async fn enqueue(&self, update: &TagUpdate) -> Result<()> {
        let mut queued = false;
        for remote in self.remotes.iter().filter(|r| r.wants(update)) {
            let schedule = Schedule::new(self.clock.now());
            self.db
                .enqueue(Queue::Remotes, remote.url(), update, schedule)
                .await?;
            tracing::debug!(remote = remote.url(), repo = %update.repo, tag = %update.tag, "queued for the remote cluster");
            self.metrics.remote_task(RemoteTask::Queued);
            queued = true;
        }
        if queued {
            self.wake.notify_one();
        }
        Ok(())
    }

    /// The number of tasks not done yet.
    pub async fn queued(&self) -> Result<u64> {
        self.db.queued(Queue::Remotes).await
    }

    /// Probes the origins of this cluster and of every remote until `shutdown` fires,
    /// so that blob requests go to owners that are up first. Nothing to probe without
    /// remotes.
    pub fn start_health_checks(&self, shutdown: &CancellationToken) -> Vec<JoinHandle<()>> {
        if self.remotes.is_empty() {
            return Vec::new();
        }
        std::iter::once(&self.local)
            .chain(self.remotes.iter().map(|r| &r.origins))
            .map(|cluster| cluster.start_health_checks(shutdown.clone()))
            .collect()
    }

    /// The remote a queued task is for, if it is still configured for its repository.
    fn remote(&self, url: &str, update: &TagUpdate) -> Option<&Remote> {
        self.remotes
            .iter()
            .find(|r| r.url() == url)
            .filter(|r| r.wants(update))
    }
}
