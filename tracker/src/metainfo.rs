//! The metainfo lookup behind `GET /namespace/{ns}/blobs/{digest}/metainfo`: fetch the
//! blob's `.torrent` from the origins that own the digest, point its `announce` at the
//! tracker that owns the blob's swarm (by digest), cache the result, and tell
//! [`OriginSeeds`] which origin now seeds it (so announces list origins).
//!
//! - Cache: per digest, for `metainfo_cache_ttl`, bounded in entries and bytes. The
//!   torrent depends only on the blob's content, so one entry serves every namespace.
//!   Failures are not cached: a blob unknown now may be pushed a second later.
//! - Single-flight per (namespace, digest): concurrent misses cause one origin request.
//!   The namespace is part of the key because it picks the origin's storage backend, so
//!   a caller never receives a "not found" that another namespace's backend produced.
//! - The torrent must name the requested digest; another blob's torrent is refused.
//!   Setting `announce` keeps the info bytes, so the info hash is the origin's.
//!
//! Lock order: the single-flight map lock, then the cache lock (the cache is checked
//! under the map lock); the fetch task takes the cache lock alone, then the map lock
//! alone. Neither is held across an await.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use starling_clients::origin::client::authorized_http;
use starling_clients::{ClientError, OriginCluster};
use starling_config::ClusterConfig;
use starling_config::tracker::TrackerConfig;
use starling_core::{Digest, InfoHash, RepoName};
use starling_runtime::{ClientTls, SingleFlight};
use tracing::{debug, info, warn};

use crate::cache::{CacheLimits, TtlCache};
use crate::error::{Error, Result};
use crate::metrics::MetainfoMetrics;
use crate::origin_seeds::OriginSeeds;
use crate::ring::TrackerRing;

/// Most torrents cached.
pub const CACHE_ENTRIES: usize = 10_000;

/// Most torrent bytes cached: at 20 bytes per piece, 64 MiB holds thousands of
/// typical torrents without letting a few huge ones grow the process.
pub const CACHE_BYTES: usize = 64 << 20;

/// How the metainfo lookup is set up, derived from [`TrackerConfig`].
#[derive(Debug, Clone)]
pub struct MetainfoSettings {
    /// The origin ring asked for torrents.
    pub origins: ClusterConfig,
    /// HTTPS to the origins (`client_tls:`).
    pub origins_tls: Option<ClientTls>,
    /// The tracker ring that decides each torrent's announce URL.
    pub trackers: TrackerRing,
    pub cache: CacheLimits,
}

impl MetainfoSettings {
    /// Errors when the `client_tls:` files cannot be used.
    pub fn from_config(cfg: &TrackerConfig) -> Result<Self> {
        Ok(Self {
            origins: cfg.origins.clone(),
            origins_tls: ClientTls::from_config(&cfg.client_tls).map_err(Error::tls)?,
            trackers: TrackerRing::from_config(cfg),
            cache: CacheLimits {
                ttl: cfg.metainfo_cache_ttl,
                max_entries: CACHE_ENTRIES,
                max_weight: CACHE_BYTES,
            },
        })
    }
}

/// A served torrent: its bytes (announce URL included) and its info hash.
#[derive(Debug, Clone)]
pub struct CachedTorrent {
    pub bytes: Bytes,
    pub info_hash: InfoHash,
}

type Cache = TtlCache<Digest, CachedTorrent>;

/// Fetches, rewrites and caches torrents.
pub struct MetainfoService {
    origins: OriginCluster,
    trackers: Arc<TrackerRing>,
    cache: Arc<Cache>,
    flights: SingleFlight<(RepoName, Digest), Result<CachedTorrent>>,
    seeds: Arc<OriginSeeds>,
    metrics: MetainfoMetrics,
}

impl MetainfoService {
    pub fn new(settings: MetainfoSettings, metrics: MetainfoMetrics) -> Self {
        let http = authorized_http(None, settings.origins_tls.as_ref());
        let origins = OriginCluster::with_http(&settings.origins, http);
        let seeds = OriginSeeds::new(origins.clone(), settings.cache.ttl, metrics.clone());
        Self {
            origins,
            trackers: Arc::new(settings.trackers),
            cache: Arc::new(TtlCache::new(settings.cache, |t: &CachedTorrent| {
                t.bytes.len()
            })),
            flights: SingleFlight::new(),
            seeds: Arc::new(seeds),
            metrics,
        }
    }

    /// Which origins seed which swarm (announces hand them out).
    pub fn seeds(&self) -> &Arc<OriginSeeds> {
        &self.seeds
    }

    /// The origin cluster client (its health checks are started by `run`).
    pub fn origins(&self) -> &OriginCluster {
        &self.origins
    }

    pub fn trackers(&self) -> &TrackerRing {
        &self.trackers
    }

    /// The bencoded `.torrent` of `digest`, announcing to its owning tracker.
    pub async fn torrent(&self, namespace: &RepoName, digest: &Digest) -> Result<Bytes> {
        self.metrics.requested();
        let hit = AtomicBool::new(false);
        let settled = || {
            let cached = self.cache.get(digest, Instant::now())?;
            self.metrics.cache_hit();
            hit.store(true, Ordering::Relaxed);
            Some(Ok(cached))
        };
        let fetch = || Fetch {
            origins: self.origins.clone(),
            trackers: self.trackers.clone(),
            cache: self.cache.clone(),
            seeds: self.seeds.clone(),
            metrics: self.metrics.clone(),
            namespace: namespace.clone(),
            digest: *digest,
        };
        let key = (namespace.clone(), *digest);
        let torrent = self
            .flights
            .run("metainfo-fetch", key, settled, || fetch().run())
            .await
            .unwrap_or(Err(Error::FetchAbandoned { digest: *digest }))?;
        if hit.load(Ordering::Relaxed) {
            // Keeps the swarm remembered while agents keep asking for its torrent.
            self.seeds
                .served(namespace, *digest, torrent.info_hash, None)
                .await;
        }
        Ok(torrent.bytes)
    }
}

/// One origin fetch, owned by its single-flight task.
struct Fetch {
    origins: OriginCluster,
    trackers: Arc<TrackerRing>,
    cache: Arc<Cache>,
    seeds: Arc<OriginSeeds>,
    metrics: MetainfoMetrics,
    namespace: RepoName,
    digest: Digest,
}

impl Fetch {
    /// Fetches and rewrites the torrent, records the origin that served it as a seeder;
    /// caches it before returning (the single-flight invariant relies on that order).
    async fn run(self) -> Result<CachedTorrent> {
        let digest = self.digest;
        let started = Instant::now();
        let fetched = self
            .origins
            .metainfo_and_host(&self.namespace, &digest)
            .await;
        let took = started.elapsed();
        self.metrics.fetched(took);
        let (host, metainfo) = fetched.map_err(|e| self.failed(e, took))?;
        let named = metainfo.digest().ok();
        if named != Some(digest) {
            let found = metainfo.info().name().chars().take(80).collect();
            let error = Error::WrongMetainfo { digest, found };
            warn!(%error, "origin metainfo refused");
            return Err(error);
        }
        let info_hash = metainfo.info_hash();
        let announce = self.trackers.announce_url(&digest);
        info!(%digest, %info_hash, %announce, origin = %host, ?took, "metainfo fetched from the origins");
        self.seeds
            .served(&self.namespace, digest, info_hash, Some(&host))
            .await;
        let torrent = CachedTorrent {
            bytes: Bytes::from(metainfo.with_announce(announce).to_bytes()),
            info_hash,
        };
        self.cache.insert(digest, torrent.clone(), Instant::now());
        Ok(torrent)
    }

    fn failed(&self, error: ClientError, took: Duration) -> Error {
        let digest = self.digest;
        if error.is_not_found() {
            debug!(%digest, ?took, "blob unknown to its origins");
            return Error::BlobUnknown { digest };
        }
        let error = Error::OriginUnavailable {
            digest,
            source: Arc::new(error),
        };
        warn!(%error, ?took, "metainfo fetch failed");
        error
    }
}
