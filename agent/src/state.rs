//! What every agent request handler shares.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use starling_p2p::Engine;
use starling_registry::ListingService;
use starling_store::Store;

use crate::access::AllowList;
use crate::blobs::BlobService;
use crate::metrics::AgentMetrics;
use crate::namespace::MirrorNamespaces;
use crate::preheat::Preheat;
use crate::pull_auth::PullAuth;
use crate::tags::TagResolver;

pub struct AgentState {
    pub engine: Engine,
    /// The node's blob cache; readiness probes whether it can store.
    pub store: Store,
    pub blobs: BlobService,
    pub tags: TagResolver,
    pub listing: ListingService,
    pub namespaces: MirrorNamespaces,
    pub access: AllowList,
    /// The credential check of private repositories; `None` when `pull_auth` is off.
    pub pull_auth: Option<Arc<PullAuth>>,
    pub metrics: Arc<AgentMetrics>,
    /// Preloads on demand and on push (`preheat`).
    pub preheat: Preheat,
    serving: AtomicBool,
}

/// The parts an [`AgentState`] is built from.
pub struct AgentStateParts {
    pub engine: Engine,
    pub store: Store,
    pub blobs: BlobService,
    pub tags: TagResolver,
    pub namespaces: MirrorNamespaces,
    pub access: AllowList,
    pub pull_auth: Option<Arc<PullAuth>>,
    pub metrics: Arc<AgentMetrics>,
    pub preheat: Preheat,
}

impl AgentState {
    pub fn new(parts: AgentStateParts) -> Self {
        Self {
            listing: ListingService::new(parts.tags.build_index().clone()),
            engine: parts.engine,
            store: parts.store,
            blobs: parts.blobs,
            tags: parts.tags,
            namespaces: parts.namespaces,
            access: parts.access,
            pull_auth: parts.pull_auth,
            metrics: parts.metrics,
            preheat: parts.preheat,
            serving: AtomicBool::new(false),
        }
    }

    /// Whether the agent accepts pulls (false while starting and shutting down).
    pub fn is_serving(&self) -> bool {
        self.serving.load(Ordering::Relaxed)
    }

    pub fn set_serving(&self, serving: bool) {
        self.serving.store(serving, Ordering::Relaxed);
    }
}
