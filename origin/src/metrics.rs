//! Prometheus metrics of one origin instance, recorded in its own
//! [`MetricsRegistry`] so several origins can run in one process (tests, `starling dev`).
//!
//! Handles are registered once; hot paths only do atomic updates. The store's
//! `starling_store_*` (bytes, blobs, evictions; see `starling_store::StoreMetrics`) and
//! `starling_build_info` render with these.
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_origin_served_bytes_total` | counter | blob bytes sent to clients |
//! | `starling_origin_backend_read_bytes_total` | counter | bytes read through from backends |
//! | `starling_origin_backend_written_bytes_total` | counter | bytes written back to backends |
//! | `starling_origin_backend_reads_total` | counter | read-through downloads started |
//! | `starling_origin_cache_hits_total` | counter | blob requests answered from the store |
//! | `starling_origin_cache_misses_total` | counter | blob requests that needed the backend |
//! | `starling_origin_uploads_committed_total` | counter | uploads verified and stored |
//! | `starling_origin_uploads_rejected_total` | counter | uploads refused (digest, body, order) |
//! | `starling_origin_metainfo_generated_total` | counter | `.torrent` files generated |
//! | `starling_origin_replicated_bytes_total` | counter | bytes copied to other owners |
//! | `starling_origin_task_retries_total` | counter | failed write-back/copy attempts rescheduled |
//! | `starling_origin_notifications_received_total` | counter | manifest push events taken by `POST /notifications` |
//! | `starling_origin_warm_blobs_total` | counter | blobs of pushed images whose owners were asked to prefetch them |
//! | `starling_origin_warm_failures_total` | counter | pushed images whose warming failed or was dropped |
//! | `starling_origin_writeback_queue_depth` | gauge | write-back tasks pending |
//! | `starling_origin_replication_queue_depth` | gauge | replication tasks pending |

use std::sync::OnceLock;

use metrics::{Counter, Gauge};
use starling_runtime::MetricsRegistry;
use starling_store::{Store, StoreMetrics};

/// The metric handles and the registry that renders them.
#[derive(Debug)]
pub struct OriginMetrics {
    registry: MetricsRegistry,
    /// The node's blob store, reported at each render once [`Self::watch_store`] ran.
    store: OnceLock<StoreMetrics>,
    pub served_bytes: Counter,
    pub backend_read_bytes: Counter,
    pub backend_written_bytes: Counter,
    pub backend_reads: Counter,
    pub cache_hits: Counter,
    pub cache_misses: Counter,
    pub uploads_committed: Counter,
    pub uploads_rejected: Counter,
    pub metainfo_generated: Counter,
    pub replicated_bytes: Counter,
    pub task_retries: Counter,
    pub notifications_received: Counter,
    pub warm_blobs: Counter,
    pub warm_failures: Counter,
    pub writeback_queue_depth: Gauge,
    pub replication_queue_depth: Gauge,
}

impl OriginMetrics {
    pub fn new() -> Self {
        let registry = MetricsRegistry::new();
        // The handles must be created inside `register`, which borrows `registry`; the
        // placeholder registry built there is replaced right after.
        let handles = registry.register(|| Self {
            registry: MetricsRegistry::new(),
            store: OnceLock::new(),
            served_bytes: metrics::counter!("starling_origin_served_bytes_total"),
            backend_read_bytes: metrics::counter!("starling_origin_backend_read_bytes_total"),
            backend_written_bytes: metrics::counter!("starling_origin_backend_written_bytes_total"),
            backend_reads: metrics::counter!("starling_origin_backend_reads_total"),
            cache_hits: metrics::counter!("starling_origin_cache_hits_total"),
            cache_misses: metrics::counter!("starling_origin_cache_misses_total"),
            uploads_committed: metrics::counter!("starling_origin_uploads_committed_total"),
            uploads_rejected: metrics::counter!("starling_origin_uploads_rejected_total"),
            metainfo_generated: metrics::counter!("starling_origin_metainfo_generated_total"),
            replicated_bytes: metrics::counter!("starling_origin_replicated_bytes_total"),
            task_retries: metrics::counter!("starling_origin_task_retries_total"),
            notifications_received: metrics::counter!(
                "starling_origin_notifications_received_total"
            ),
            warm_blobs: metrics::counter!("starling_origin_warm_blobs_total"),
            warm_failures: metrics::counter!("starling_origin_warm_failures_total"),
            writeback_queue_depth: metrics::gauge!("starling_origin_writeback_queue_depth"),
            replication_queue_depth: metrics::gauge!("starling_origin_replication_queue_depth"),
        });
        Self {
            registry,
            ..handles
        }
    }

    /// The registry: the P2P engine registers its `starling_p2p_*` metrics here, so
    /// `/metrics` shows them with the origin's.
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

impl Default for OriginMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_metric_renders_and_instances_stay_apart() {
        let a = OriginMetrics::new();
        let b = OriginMetrics::new();
        a.served_bytes.increment(42);
        a.writeback_queue_depth.set(3.0);
        let text = a.render();
        assert!(
            text.contains("starling_origin_served_bytes_total 42"),
            "{text}"
        );
        assert!(
            text.contains("starling_origin_writeback_queue_depth 3"),
            "{text}"
        );
        for name in [
            "backend_read_bytes_total",
            "backend_written_bytes_total",
            "cache_hits_total",
            "cache_misses_total",
            "uploads_committed_total",
            "uploads_rejected_total",
            "replication_queue_depth",
        ] {
            assert!(
                text.contains(&format!("starling_origin_{name} 0")),
                "{name}: {text}"
            );
        }
        assert!(b.render().contains("starling_origin_served_bytes_total 0"));
    }
}
