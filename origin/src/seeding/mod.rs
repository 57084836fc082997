//! The origin's P2P side: one engine in origin mode ([`starling_p2p::Engine`]) that
//! seeds every blob the origin holds to the swarm.
//!
//! A blob starts seeding when its metainfo is served (trackers fetch it right before
//! agents announce), or when a peer handshakes for its info hash while no torrent runs
//! for it ([`resolver::OriginResolver`] over the [`index::SwarmIndex`]), e.g. after a
//! restart or after the torrent idled out (`peer.seeder_idle_ttl`). So an origin never
//! needs a torrent running per blob on its disk.
//!
//! Origins do not announce: the engine gets no trackers. A tracker hands out the owners
//! of a digest on the origin ring for any swarm whose metainfo it served, using the
//! identity from `GET /peer` ([`Seeding::peer`]). Announcing would make every origin send
//! one announce per blob held per interval, whatever the demand, and would list origins
//! that are not the blob's owners.
//!
//! Lifecycle: [`Seeding::open`] builds the index (at state construction); `run` binds the
//! peer listener and calls [`Seeding::start`], and stops the engine after HTTP drained.

pub mod index;
pub mod resolver;

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};

use starling_config::P2pConfig;
use starling_core::RepoName;
use starling_core::metainfo::MetaInfo;
use starling_p2p::{Engine, EngineParts, EngineSettings, MemoryMetaInfo, RevealOrder};
use starling_runtime::MetricsRegistry;
use starling_store::Store;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::blobs::BlobService;
use crate::error::{Error, Result};
use index::SwarmIndex;
use resolver::OriginResolver;
use starling_clients::OriginRing;
use starling_clients::origin::peer_identity::OriginPeer;
use starling_runtime::blocking;

/// Origin `advertise`'s rank among each blob's owners on `ring`, so that the owners of
/// a blob super-seed it from different pieces (see `starling_p2p::RevealOrder`).
fn reveal_order(ring: OriginRing, advertise: &str) -> RevealOrder {
    let advertise = advertise.to_owned();
    RevealOrder::new(move |digest| {
        let owners = ring.owners(digest);
        match owners.iter().position(|host| *host == advertise) {
            Some(rank) => (rank, owners.len()),
            None => (0, 1),
        }
    })
}

/// The engine (once started), its identity and the index of seedable torrents.
pub struct Seeding {
    index: Arc<SwarmIndex>,
    metainfo_dir: PathBuf,
    store: Store,
    blobs: Arc<BlobService>,
    /// This origin's `advertise` (`host:port`); its host is the peer address's host.
    advertise: String,
    running: OnceLock<(Engine, OriginPeer)>,
}

impl Seeding {
    /// Builds the index from the metainfo files under `metainfo_dir`.
    pub async fn open(
        metainfo_dir: PathBuf,
        blobs: Arc<BlobService>,
        advertise: String,
    ) -> Result<Self> {
        let dir = metainfo_dir.clone();
        let started = std::time::Instant::now();
        let index = blocking::<_, Error, _>("index the kept metainfo", move || {
            Ok(SwarmIndex::rebuild(&dir))
        })
        .await?;
        info!(torrents = index.len(), took = ?started.elapsed(), "metainfo indexed for seeding");
        Ok(Self {
            index: Arc::new(index),
            metainfo_dir,
            store: blobs.store().clone(),
            blobs,
            advertise,
            running: OnceLock::new(),
        })
    }

    /// Binds `peer.listen` and starts the engine until `shutdown`; its metrics go to
    /// `metrics`; `ring` says which owner of each blob this origin is. Called once, by
    /// `run`.
    pub async fn start(
        &self,
        peer: &P2pConfig,
        ring: OriginRing,
        metrics: &MetricsRegistry,
        shutdown: CancellationToken,
    ) -> Result<Engine> {
        let listener =
            TcpListener::bind(peer.listen)
                .await
                .map_err(|source| Error::PeerListener {
                    addr: peer.listen,
                    source,
                })?;
        let port = listener
            .local_addr()
            .map_err(|source| Error::PeerListener {
                addr: peer.listen,
                source,
            })?
            .port();
        let resolver = OriginResolver {
            index: self.index.clone(),
            metainfo_dir: self.metainfo_dir.clone(),
            blobs: self.blobs.clone(),
        };
        let parts = EngineParts {
            store: self.store.clone(),
            listener,
            // Origins never announce; see the module docs.
            trackers: Vec::new(),
            // Origins never download through the swarm.
            metainfo: Arc::new(MemoryMetaInfo::default()),
            inbound: Some(Arc::new(resolver)),
            metrics,
        };
        let settings = EngineSettings::origin(peer.clone())
            .with_reveal_order(reveal_order(ring, &self.advertise));
        let engine = Engine::start(settings, parts, shutdown)
            .await
            .map_err(Error::Engine)?;
        let peer_addr = match &peer.advertise {
            Some(advertise) => advertise.clone(),
            None => OriginPeer::address_for(&self.advertise, port),
        };
        let identity = OriginPeer {
            peer_id: engine.peer_id(),
            peer_addr,
        };
        info!(peer_id = %identity.peer_id, peer_addr = %identity.peer_addr, "seeding");
        if self.running.set((engine.clone(), identity)).is_err() {
            warn!("the p2p engine was started twice; the first one keeps serving");
        }
        Ok(engine)
    }

    /// The identity trackers hand out, once the engine runs.
    pub fn peer(&self) -> Result<OriginPeer> {
        self.running
            .get()
            .map(|(_, identity)| identity.clone())
            .ok_or(Error::NotSeeding)
    }

    /// Metainfo of `namespace`'s blob was served: index it and seed the blob if it is
    /// in the store (if not, a peer's handshake reads it through later).
    pub async fn metainfo_served(&self, namespace: &RepoName, metainfo: MetaInfo) {
        let Ok(digest) = metainfo.digest() else {
            return;
        };
        self.index
            .insert(metainfo.info_hash(), digest, Some(namespace.clone()));
        let Some((engine, _)) = self.running.get() else {
            return;
        };
        match self.store.stat(&digest) {
            Ok(Some(_)) => {}
            Ok(None) => {
                debug!(%digest, "metainfo served for a blob not in the store; seeding on demand");
                return;
            }
            Err(error) => {
                warn!(%digest, %error, "cannot stat a blob to seed");
                return;
            }
        }
        if let Err(error) = engine.seed(metainfo).await {
            warn!(%digest, %error, "cannot seed a blob whose metainfo was served");
        }
    }
}
