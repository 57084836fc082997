//! What the store reports on its component's `/metrics`: bytes and blobs held, blobs
//! and bytes evicted, and writes that found no disk space. The store keeps the numbers (its index, and
//! [`EvictionCount`] bumped by every eviction pass); [`StoreMetrics`] copies them into
//! metric handles when the component renders `/metrics`, so no hot path pays for it.
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_store_bytes` | gauge | bytes of committed blobs |
//! | `starling_store_blobs` | gauge | committed blobs |
//! | `starling_store_evictions_total` | counter | blobs evicted (TTL or watermark) |
//! | `starling_store_evicted_bytes_total` | counter | bytes those blobs held |
//! | `starling_store_out_of_space_total` | counter | writes that failed for lack of disk space (ENOSPC, EDQUOT) after eviction made what room it could |
//! | `starling_store_short_of_space` | gauge | 1 while such a write has not found room since (see `Store::capacity`) |

use std::sync::atomic::{AtomicU64, Ordering};

use metrics::{Counter, Gauge};

use crate::evict::EvictionReport;
use crate::store::Store;

/// Evictions since the store was opened.
#[derive(Debug, Default)]
pub struct EvictionCount {
    blobs: AtomicU64,
    bytes: AtomicU64,
}

impl EvictionCount {
    pub(crate) fn add(&self, report: &EvictionReport) {
        self.blobs
            .fetch_add(report.evicted.len() as u64, Ordering::Relaxed);
        self.bytes
            .fetch_add(report.freed_bytes(), Ordering::Relaxed);
    }

    /// Blobs evicted.
    pub fn blobs(&self) -> u64 {
        self.blobs.load(Ordering::Relaxed)
    }

    /// Bytes freed by eviction.
    pub fn bytes(&self) -> u64 {
        self.bytes.load(Ordering::Relaxed)
    }
}

/// The store's metric handles. Create it inside the component's
/// `MetricsRegistry::register` so the handles record in that registry.
#[derive(Debug)]
pub struct StoreMetrics {
    store: Store,
    bytes: Gauge,
    blobs: Gauge,
    evictions: Counter,
    evicted_bytes: Counter,
    out_of_space: Counter,
    short_of_space: Gauge,
}

impl StoreMetrics {
    pub fn new(store: Store) -> Self {
        Self {
            store,
            bytes: metrics::gauge!("starling_store_bytes"),
            blobs: metrics::gauge!("starling_store_blobs"),
            evictions: metrics::counter!("starling_store_evictions_total"),
            evicted_bytes: metrics::counter!("starling_store_evicted_bytes_total"),
            out_of_space: metrics::counter!("starling_store_out_of_space_total"),
            short_of_space: metrics::gauge!("starling_store_short_of_space"),
        }
    }

    /// Copies the store's numbers into the handles; call before rendering.
    pub fn observe(&self) {
        let usage = self.store.usage();
        self.bytes.set(usage.bytes as f64);
        self.blobs.set(usage.blobs as f64);
        let evicted = self.store.evictions();
        self.evictions.absolute(evicted.blobs());
        self.evicted_bytes.absolute(evicted.bytes());
        self.out_of_space
            .absolute(self.store.out_of_space_failures());
        self.short_of_space
            .set(f64::from(u8::from(self.store.is_short_of_space())));
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use metrics_exporter_prometheus::PrometheusBuilder;

    use super::*;
    use crate::store::test_support::{content, options, put};

    #[tokio::test]
    async fn observe_reports_usage_and_evictions() {
        let root = tempfile::tempdir().unwrap();
        let mut opts = options(root.path());
        opts.idle_ttl = Duration::from_secs(1);
        let store = Store::open_root(opts).await.unwrap();
        put(&store, &content(100, 1)).await;
        put(&store, &content(50, 2)).await;
        let recorder = PrometheusBuilder::new().build_recorder();
        let handle = recorder.handle();
        let metrics = metrics::with_local_recorder(&recorder, || StoreMetrics::new(store.clone()));

        metrics.observe();
        let text = handle.render();
        assert!(text.contains("starling_store_bytes 150"), "{text}");
        assert!(text.contains("starling_store_blobs 2"), "{text}");
        assert!(text.contains("starling_store_evictions_total 0"), "{text}");
        assert!(
            text.contains("starling_store_out_of_space_total 0"),
            "{text}"
        );
        assert!(text.contains("starling_store_short_of_space 0"), "{text}");

        let later = SystemTime::now() + Duration::from_secs(3600);
        store.evict(later).await.unwrap();
        metrics.observe();
        let text = handle.render();
        assert!(text.contains("starling_store_blobs 0"), "{text}");
        assert!(text.contains("starling_store_evictions_total 2"), "{text}");
        assert!(
            text.contains("starling_store_evicted_bytes_total 150"),
            "{text}"
        );
    }
}
