//! What every part of an engine shares: identity, settings, the store, the announcer
//! (if the engine announces), the inbound resolver (if it has one), bandwidth caps, the blacklist, metrics, the torrent registry, and the task tracker
//! with the shutdown token.
//!
//! Lock order: the registry's lock may be held while a torrent's state lock is taken,
//! never the other way round; the blacklist and rate limiter locks are leaves.

use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use starling_core::PeerId;
use starling_runtime::spawn_named;
use starling_store::Store;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::announce::Announcer;
use crate::blacklist::Blacklist;
use crate::connection::ConnId;
use crate::inbound::InboundResolver;
use crate::metainfo_source::MetaInfoSource;
use crate::metrics::EngineMetrics;
use crate::rate_limit::RateLimiter;
use crate::registry::Registry;
use crate::settings::EngineSettings;

/// The engine-wide shared state.
pub struct Context {
    pub peer_id: PeerId,
    /// The peer listener's address; its port is announced unless `advertised` is set.
    pub listen_addr: SocketAddr,
    /// `peer.advertise`, resolved: the address other peers dial, sent in announces.
    pub advertised: Option<SocketAddr>,
    pub settings: EngineSettings,
    pub store: Store,
    /// `None` for an engine that never announces (an origin given no trackers).
    pub announcer: Option<Announcer>,
    pub metainfo: Arc<dyn MetaInfoSource>,
    pub inbound: Option<Arc<dyn InboundResolver>>,
    pub ingress: Option<RateLimiter>,
    pub egress: Option<RateLimiter>,
    pub blacklist: Blacklist,
    pub metrics: EngineMetrics,
    pub torrents: Registry,
    /// Every task the engine starts, so that shutdown can wait for them.
    pub tasks: TaskTracker,
    pub shutdown: CancellationToken,
    next_conn: AtomicU64,
}

/// The parts of a [`Context`] the engine builds before it starts.
pub struct ContextParts {
    pub peer_id: PeerId,
    pub listen_addr: SocketAddr,
    pub advertised: Option<SocketAddr>,
    pub settings: EngineSettings,
    pub store: Store,
    pub announcer: Option<Announcer>,
    pub metainfo: Arc<dyn MetaInfoSource>,
    pub inbound: Option<Arc<dyn InboundResolver>>,
    pub metrics: EngineMetrics,
    pub shutdown: CancellationToken,
}

impl Context {
    pub fn new(parts: ContextParts) -> Self {
        let p2p = &parts.settings.p2p;
        Self {
            ingress: p2p.ingress_rate.map(|r| RateLimiter::new(r.as_u64())),
            egress: p2p.egress_rate.map(|r| RateLimiter::new(r.as_u64())),
            blacklist: Blacklist::new(p2p.blacklist_for),
            peer_id: parts.peer_id,
            listen_addr: parts.listen_addr,
            advertised: parts.advertised,
            settings: parts.settings,
            store: parts.store,
            announcer: parts.announcer,
            metainfo: parts.metainfo,
            inbound: parts.inbound,
            metrics: parts.metrics,
            torrents: Registry::default(),
            tasks: TaskTracker::new(),
            shutdown: parts.shutdown,
            next_conn: AtomicU64::new(1),
        }
    }

    pub fn next_conn_id(&self) -> ConnId {
        ConnId::new(self.next_conn.fetch_add(1, Ordering::Relaxed))
    }

    /// Starts a named background task that shutdown waits for.
    pub fn spawn<F, E>(&self, name: &'static str, task: F)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: fmt::Display + Send + 'static,
    {
        spawn_named(name, self.tasks.track_future(task));
    }
}

impl fmt::Debug for Context {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Context")
            .field("peer_id", &self.peer_id)
            .field("listen_addr", &self.listen_addr)
            .finish_non_exhaustive()
    }
}
