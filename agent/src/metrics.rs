//! Prometheus metrics of one agent, in its own [`MetricsRegistry`] (several agents run
//! in one process under `starling dev` and in tests). The P2P engine registers its own
//! series (bytes by peer class, pieces, connections, announces) in the same registry,
//! so `GET /metrics` on the admin port shows both, with the store's `starling_store_*`
//! (bytes, blobs, evictions; see `starling_store::StoreMetrics`) and
//! `starling_build_info`.
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_agent_manifests_served_total` | counter | manifests answered (GET and HEAD) |
//! | `starling_agent_blobs_served_total` | counter | blob GETs answered 200 or 206 |
//! | `starling_agent_blob_bytes_served_total` | counter | blob bytes sent to clients |
//! | `starling_agent_blob_first_byte_seconds` | histogram | from a blob GET to its first body bytes |
//! | `starling_agent_requests_denied_total` | counter | registry requests from clients not in `allowed_clients` |
//! | `starling_agent_out_of_space_total` | counter | manifest and blob GETs refused because the node has no disk space for the blob |
//!
//! The store adds `starling_store_out_of_space_total` (writes that failed for lack of
//! space) and `starling_store_short_of_space` (1 while readiness reports it).

use metrics::{Counter, Histogram};
use std::sync::OnceLock;

use starling_runtime::MetricsRegistry;
use starling_store::{Store, StoreMetrics};

#[derive(Debug)]
pub struct AgentMetrics {
    registry: MetricsRegistry,
    /// The node's blob store, reported at each render once [`Self::watch_store`] ran.
    store: OnceLock<StoreMetrics>,
    pub manifests_served: Counter,
    pub blobs_served: Counter,
    pub blob_bytes_served: Counter,
    pub blob_first_byte: Histogram,
    pub requests_denied: Counter,
    pub out_of_space: Counter,
}

impl AgentMetrics {
    pub fn new() -> Self {
        let registry = MetricsRegistry::new();
        // Handles are created inside `register`, which borrows `registry`; the
        // placeholder registry built there is replaced right after.
        let handles = registry.register(|| Self {
            registry: MetricsRegistry::new(),
            store: OnceLock::new(),
            manifests_served: metrics::counter!("starling_agent_manifests_served_total"),
            blobs_served: metrics::counter!("starling_agent_blobs_served_total"),
            blob_bytes_served: metrics::counter!("starling_agent_blob_bytes_served_total"),
            blob_first_byte: metrics::histogram!("starling_agent_blob_first_byte_seconds"),
            requests_denied: metrics::counter!("starling_agent_requests_denied_total"),
            out_of_space: metrics::counter!("starling_agent_out_of_space_total"),
        });
        Self {
            registry,
            ..handles
        }
    }

    /// The registry the engine registers its metrics in.
    pub fn registry(&self) -> &MetricsRegistry {
        &self.registry
    }

    /// Reports `store`'s usage and evictions (`starling_store_*`) from now on; a second
    /// call keeps the first store.
    pub fn watch_store(&self, store: &Store) {
        let metrics = self.registry.register(|| StoreMetrics::new(store.clone()));
        let _ = self.store.set(metrics);
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        if let Some(store) = self.store.get() {
            store.observe();
        }
        self.registry.render()
    }
}

impl Default for AgentMetrics {
    fn default() -> Self {
        Self::new()
    }
}
