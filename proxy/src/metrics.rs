//! Prometheus metrics of one proxy instance, recorded in its own [`MetricsRegistry`] so
//! several components can run in one process (tests, `starling dev`).
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_proxy_blobs_pushed_total` | counter | blobs verified and stored in the origins |
//! | `starling_proxy_pushed_bytes_total` | counter | bytes of those blobs |
//! | `starling_proxy_blobs_mounted_total` | counter | cross-repository mounts answered 201 |
//! | `starling_proxy_uploads_rejected_total` | counter | uploads refused for a digest mismatch |
//! | `starling_proxy_uploads_reaped_total` | counter | uploads dropped after sitting idle |
//! | `starling_proxy_manifests_pushed_total` | counter | manifests stored (by tag or digest) |
//! | `starling_proxy_auth_failures_total` | counter | requests refused for missing or bad credentials |
//! | `starling_proxy_notifications_sent_total` | counter | push events an endpoint accepted (2xx) |
//! | `starling_proxy_notifications_failed_total` | counter | push events dropped: retries exhausted or queue full |
//! | `starling_proxy_uploads_in_progress` | gauge | chunked uploads open |

use metrics::{Counter, Gauge};
use starling_runtime::MetricsRegistry;

/// The metric handles and the registry that renders them.
#[derive(Debug)]
pub struct ProxyMetrics {
    registry: MetricsRegistry,
    pub blobs_pushed: Counter,
    pub pushed_bytes: Counter,
    pub blobs_mounted: Counter,
    pub uploads_rejected: Counter,
    pub uploads_reaped: Counter,
    pub manifests_pushed: Counter,
    pub auth_failures: Counter,
    pub notifications_sent: Counter,
    pub notifications_failed: Counter,
    pub uploads_in_progress: Gauge,
}

impl ProxyMetrics {
    pub fn new() -> Self {
        let registry = MetricsRegistry::new();
        // The handles must be created inside `register`, which borrows `registry`; the
        // placeholder registry built there is replaced right after.
        let handles = registry.register(|| Self {
            registry: MetricsRegistry::new(),
            blobs_pushed: metrics::counter!("starling_proxy_blobs_pushed_total"),
            pushed_bytes: metrics::counter!("starling_proxy_pushed_bytes_total"),
            blobs_mounted: metrics::counter!("starling_proxy_blobs_mounted_total"),
            uploads_rejected: metrics::counter!("starling_proxy_uploads_rejected_total"),
            uploads_reaped: metrics::counter!("starling_proxy_uploads_reaped_total"),
            manifests_pushed: metrics::counter!("starling_proxy_manifests_pushed_total"),
            auth_failures: metrics::counter!("starling_proxy_auth_failures_total"),
            notifications_sent: metrics::counter!("starling_proxy_notifications_sent_total"),
            notifications_failed: metrics::counter!("starling_proxy_notifications_failed_total"),
            uploads_in_progress: metrics::gauge!("starling_proxy_uploads_in_progress"),
        });
        Self {
            registry,
            ..handles
        }
    }

    /// Prometheus text exposition.
    pub fn render(&self) -> String {
        self.registry.render()
    }
}

impl Default for ProxyMetrics {
    fn default() -> Self {
        Self::new()
    }
}
