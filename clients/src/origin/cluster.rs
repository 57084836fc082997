//! The origin cluster as clients see it: the ring picks a digest's owners, and each
//! request tries them in ring order, skipping hosts that active health checks marked
//! down. Tracker, proxy and agents use this instead of talking to one origin.
//!
//! Failover: the next owner is tried when one is unreachable, answers 5xx or does not
//! have the blob. Hosts marked down are tried last rather than never, so a cluster
//! whose health view lags still answers. A download fails over only before its body
//! starts; an error mid-stream reaches the caller, who retries.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;

use starling_config::ClusterConfig;
use starling_core::ByteStream;
use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, RepoName};
use starling_runtime::spawn_named;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use tracing::debug;

use super::client::{BlobDownload, ClientError, ClientResult, OriginClient, default_http};
use super::health::{HealthTable, run_health_checks};
use super::ring::OriginRing;

/// A typed client of the whole origin ring. Cheap to clone.
#[derive(Clone)]
pub struct OriginCluster {
    inner: Arc<Inner>,
}

struct Inner {
    ring: OriginRing,
    clients: HashMap<String, OriginClient>,
    health: Arc<HealthTable>,
}

impl OriginCluster {
    /// A cluster client for `cfg.hosts`; call [`Self::start_health_checks`] to track
    /// which hosts are down.
    pub fn new(cfg: &ClusterConfig) -> Self {
        Self::with_http(cfg, default_http())
    }

    /// [`Self::new`] over `http`, e.g. one that carries the cluster's token
    /// ([`super::client::authorized_http`]).
    pub fn with_http(cfg: &ClusterConfig, http: impl Into<crate::InternalHttp>) -> Self {
        let http = http.into();
        let clients = cfg
            .hosts
            .iter()
            .map(|h| (h.clone(), OriginClient::with_http(http.clone(), h.clone())))
            .collect();
        Self {
            inner: Arc::new(Inner {
                ring: OriginRing::from_config(cfg),
                clients,
                health: Arc::new(HealthTable::new(&cfg.hosts, cfg.health_check.clone())),
            }),
        }
    }

    /// Probes every host's `/health` in a background task until `shutdown` fires.
    pub fn start_health_checks(&self, shutdown: CancellationToken) -> JoinHandle<()> {
        let clients = self.inner.clients.values().cloned().collect();
        spawn_named(
            "origin-health-checks",
            run_health_checks(self.inner.health.clone(), clients, shutdown),
        )
    }

    pub fn ring(&self) -> &OriginRing {
        &self.inner.ring
    }

    /// The owners of `digest` in ring order.
    pub fn owners(&self, digest: &Digest) -> Vec<String> {
        self.inner.ring.owners(digest)
    }

    /// Whether health checks consider `host` up.
    pub fn is_up(&self, host: &str) -> bool {
        self.inner.health.is_up(host)
    }

    /// The client of one host of the ring.
    pub fn client(&self, host: &str) -> Option<&OriginClient> {
        self.inner.clients.get(host)
    }

    /// The owners to try for `digest`: those up in ring order, then those down.
    pub fn candidates(&self, digest: &Digest) -> Vec<OriginClient> {
        let (up, down): (Vec<String>, Vec<String>) =
            self.owners(digest).into_iter().partition(|h| self.is_up(h));
        up.iter()
            .chain(down.iter())
            .filter_map(|h| self.inner.clients.get(h).cloned())
            .collect()
    }

    /// The blob's size, or `None` if every owner (with its backend) says it has no such
    /// blob. "Not found" from some owners while others are unreachable is an error, not
    /// `None`: an unreachable owner may hold the only copy.
    pub async fn stat(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<Option<u64>> {
        let found = self
            .try_owners(digest, |c| async move {
                match c.stat(namespace, digest).await? {
                    Some(size) => Ok(size),
                    None => Err(ClientError::NotFound {
                        url: format!("{}{}", c.host(), super::paths::blob(namespace, digest)),
                    }),
                }
            })
            .await;
        match found {
            Ok(size) => Ok(Some(size)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams the blob from the first owner that serves it.
    pub async fn download(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> ClientResult<BlobDownload> {
        self.try_owners(
            digest,
            |c| async move { c.download(namespace, digest).await },
        )
        .await
    }

    /// The blob's `.torrent` from the first owner that answers.
    pub async fn metainfo(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<MetaInfo> {
        Ok(self.metainfo_and_host(namespace, digest).await?.1)
    }

    /// [`Self::metainfo`] with the host that answered, which now seeds the blob.
    pub async fn metainfo_and_host(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> ClientResult<(String, MetaInfo)> {
        self.try_owners(digest, |c| async move {
            let metainfo = c.metainfo(namespace, digest).await?;
            Ok((c.host().to_owned(), metainfo))
        })
        .await
    }

    /// Asks the first reachable owner to warm its cache.
    pub async fn prefetch(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<()> {
        self.try_owners(
            digest,
            |c| async move { c.prefetch(namespace, digest).await },
        )
        .await
    }

    /// Uploads the blob to the first reachable owner, which copies it to the others.
    /// `open_body` is called once per attempt, since a failed attempt consumed the
    /// previous stream. Returns the host that took the upload.
    pub async fn upload(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        size: u64,
        mut open_body: impl FnMut() -> ByteStream,
    ) -> ClientResult<String> {
        let mut failures = Vec::new();
        for client in self.candidates(digest) {
            match client.upload(namespace, digest, size, open_body()).await {
                Ok(()) => return Ok(client.host().to_owned()),
                Err(e) if e.is_retryable() => {
                    debug!(host = client.host(), error = %e, "upload failed; trying the next owner");
                    failures.push(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        Err(ClientError::AllFailed(failures.join("; ")))
    }

    /// Runs `op` against each candidate owner until one succeeds or fails in a way
    /// another owner cannot fix (a 4xx other than 404).
    async fn try_owners<T, F, Fut>(&self, digest: &Digest, mut op: F) -> ClientResult<T>
    where
        F: FnMut(OriginClient) -> Fut,
        Fut: Future<Output = ClientResult<T>>,
    {
        let mut not_found = None;
        let mut failures = Vec::new();
        for client in self.candidates(digest) {
            let host = client.host().to_owned();
            match op(client).await {
                Ok(value) => return Ok(value),
                Err(e) if e.is_not_found() => not_found = Some(e),
                Err(e) if e.is_retryable() => {
                    debug!(%host, error = %e, "origin failed; trying the next owner");
                    failures.push(e.to_string());
                }
                Err(e) => return Err(e),
            }
        }
        Err(match not_found {
            Some(e) if failures.is_empty() => e,
            Some(e) => ClientError::AllFailed(format!("{}; {e}", failures.join("; "))),
            None => ClientError::AllFailed(failures.join("; ")),
        })
    }
}

impl std::fmt::Debug for OriginCluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OriginCluster")
            .field("ring", &self.inner.ring)
            .finish()
    }
}
