//! [`Engine`]: the one BitTorrent engine of an agent or origin process.
//!
//! Lifecycle: [`Engine::start`] takes a pre-bound peer listener and a shutdown token,
//! and spawns the accept loop. Torrents start on demand ([`Engine::seed`],
//! [`Engine::download`]) and each runs its own driver task. When the token fires, the
//! accept loop stops, every torrent stops (connections closed, partial downloads
//! persisted, `stopped` announced), and [`Engine::stopped`] returns once every task has
//! finished, after which the store can be reopened by another engine.

use std::net::SocketAddr;
use std::sync::Arc;

use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, PeerId, RepoName};
use starling_runtime::MetricsRegistry;
use starling_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::announce::{Announcer, TrackerUrl};
use crate::connection::accept::accept_loop;
use crate::context::{Context, ContextParts};
use crate::error::{Error, Result};
use crate::inbound::InboundResolver;
use crate::metainfo_source::MetaInfoSource;
use crate::metrics::{EngineMetrics, EngineStats};
use crate::peer_class::PeerClass;
use crate::progress::Progress;
use crate::settings::EngineSettings;
use crate::stream::BlobStream;
use crate::torrent::Torrent;
use crate::torrent::source::Source;

/// What an engine runs on, besides its settings.
pub struct EngineParts<'a> {
    pub store: Store,
    /// Bound by the caller (tests bind 127.0.0.1:0); its port is announced.
    pub listener: TcpListener,
    /// Tracker addresses (`host:port` or `http://host:port[/announce]`). An engine
    /// given none never announces: only origins may do that (trackers list them from
    /// the origin ring); an agent without trackers could never find a peer, so for the
    /// agent class an empty list is an error.
    pub trackers: Vec<String>,
    pub metainfo: Arc<dyn MetaInfoSource>,
    /// Serves handshakes for blobs held but not seeded yet (origins); agents pass `None`.
    pub inbound: Option<Arc<dyn InboundResolver>>,
    /// The owning component's registry; the engine's metrics are registered in it.
    pub metrics: &'a MetricsRegistry,
}

/// A handle on the engine; clones share it.
#[derive(Clone, Debug)]
pub struct Engine {
    ctx: Arc<Context>,
}

impl Engine {
    /// Starts the engine: validates the trackers, then accepts peers until `shutdown`.
    pub async fn start(
        settings: EngineSettings,
        parts: EngineParts<'_>,
        shutdown: CancellationToken,
    ) -> Result<Self> {
        let trackers = parts
            .trackers
            .iter()
            .map(|t| TrackerUrl::parse(t.as_str()))
            .collect::<Result<Vec<_>>>()?;
        let announcer = if trackers.is_empty() && settings.class == PeerClass::Origin {
            None
        } else {
            Some(Announcer::with_tls(
                trackers,
                settings.tracker_health,
                settings.tracker_tls.as_ref(),
            )?)
        };
        let listen_addr = parts.listener.local_addr().map_err(Error::Listener)?;
        let advertised = match &settings.p2p.advertise {
            Some(value) => Some(resolve_advertise(value).await?),
            None => None,
        };
        let ctx = Arc::new(Context::new(ContextParts {
            peer_id: settings.class.new_peer_id(),
            listen_addr,
            advertised,
            settings,
            store: parts.store,
            announcer,
            metainfo: parts.metainfo,
            inbound: parts.inbound,
            metrics: EngineMetrics::register(parts.metrics),
            shutdown,
        }));
        tracing::info!(
            peer_id = %ctx.peer_id,
            listen = %listen_addr,
            advertise = ?advertised,
            announces = ctx.announcer.is_some(),
            "p2p engine started"
        );
        ctx.spawn("peer-accept", accept_loop(ctx.clone(), parts.listener));
        Ok(Self { ctx })
    }

    pub fn peer_id(&self) -> PeerId {
        self.ctx.peer_id
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.ctx.listen_addr
    }

    /// Seeds a blob that is committed in the store. Idempotent: a torrent already
    /// running for the digest (seeding or downloading) is left alone.
    pub async fn seed(&self, metainfo: MetaInfo) -> Result<()> {
        self.check_running()?;
        Torrent::seed(&self.ctx, metainfo).await.map(drop)
    }

    /// The blob's bytes from the start; see [`Engine::download_from`].
    pub async fn download(&self, namespace: &RepoName, digest: &Digest) -> Result<BlobStream> {
        self.download_from(namespace, digest, 0).await
    }

    /// The blob's bytes from `offset` (for HTTP Range requests), as verified pieces
    /// arrive. A committed blob streams from the store; otherwise the swarm download
    /// starts (or is joined, if one is running) and the engine seeds once it completes.
    pub async fn download_from(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        offset: u64,
    ) -> Result<BlobStream> {
        self.check_running()?;
        if let Some(reader) = self.ctx.store.open(digest).await? {
            let length = reader.size();
            check_offset(digest, offset, length)?;
            return BlobStream::from_store(reader, offset)
                .await
                .map_err(|source| Error::StoreRead {
                    digest: *digest,
                    source,
                });
        }
        let torrent = self.torrent_for_download(namespace, digest).await?;
        check_offset(digest, offset, torrent.meta.info().length())?;
        Ok(BlobStream::from_torrent(torrent, offset))
    }

    async fn torrent_for_download(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> Result<Arc<Torrent>> {
        let digest = *digest;
        let ctx = self.ctx.clone();
        let torrent = self
            .ctx
            .torrents
            .get_or_create(digest, || async move {
                let meta = ctx.metainfo.metainfo(namespace, &digest).await?;
                let named = meta.digest()?;
                if named != digest {
                    return Err(Error::MetaInfoMismatch {
                        expected: digest,
                        actual: named,
                    });
                }
                let info = meta.info();
                let partial = ctx
                    .store
                    .open_partial(&digest, info.length(), info.piece_length())
                    .await?;
                let have = partial.bitfield();
                Ok(Torrent::start(
                    ctx,
                    Arc::new(meta),
                    digest,
                    have,
                    Source::partial(partial),
                ))
            })
            .await?;
        self.ctx.metrics.set_torrents(self.ctx.torrents.len());
        Ok(torrent)
    }

    /// The torrent of `digest`, if one is active.
    pub fn progress(&self, digest: &Digest) -> Option<Progress> {
        self.ctx.torrents.by_digest(digest).map(|t| t.progress())
    }

    /// Totals since the engine started.
    pub fn stats(&self) -> EngineStats {
        self.ctx.metrics.stats()
    }

    /// Whether `peer_id` is banned now (it sent a piece that failed its check).
    pub fn is_banned(&self, peer_id: &PeerId) -> bool {
        self.ctx
            .blacklist
            .is_banned_id(peer_id, std::time::Instant::now())
    }

    /// Waits until the shutdown token has fired and every engine task has finished.
    pub async fn stopped(&self) {
        self.ctx.shutdown.cancelled().await;
        self.ctx.tasks.close();
        self.ctx.tasks.wait().await;
    }

    fn check_running(&self) -> Result<()> {
        if self.ctx.shutdown.is_cancelled() {
            return Err(Error::ShuttingDown);
        }
        Ok(())
    }
}

fn check_offset(digest: &Digest, offset: u64, length: u64) -> Result<()> {
    if offset > length {
        return Err(Error::OffsetPastEnd {
            digest: *digest,
            offset,
            length,
        });
    }
    Ok(())
}

/// `peer.advertise` as the address to announce: an IP literal as it is, a name resolved
/// once, at start (the first address it has).
async fn resolve_advertise(value: &str) -> Result<SocketAddr> {
    let failed = |reason: String| Error::Advertise {
        value: value.to_owned(),
        reason,
    };
    if let Ok(addr) = value.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let mut addrs = tokio::net::lookup_host(value)
        .await
        .map_err(|e| failed(format!("cannot resolve: {e}")))?;
    addrs
        .next()
        .ok_or_else(|| failed("the name has no address".into()))
}
