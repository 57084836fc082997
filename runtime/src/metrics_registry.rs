//! A Prometheus recorder owned by one component instance.
//!
//! A process-wide `metrics` recorder can be installed only once, but tests and
//! `starling dev` run several components in one process. So each component owns a
//! [`MetricsRegistry`], registers its metric handles once inside
//! [`MetricsRegistry::register`] (they keep pointing at this recorder's storage, so hot
//! paths only do atomic updates) and renders them on `GET /metrics`.
//!
//! Every registry carries [`BUILD_INFO`], `starling_build_info{version="…"} 1`, so a
//! dashboard can tell which release each pod runs during a rolling update.

use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};

/// Histogram buckets in seconds, from microseconds (tracker announces) to minutes
/// (whole-blob transfers).
pub const LATENCY_BUCKETS: [f64; 16] = [
    0.000_01, 0.000_05, 0.000_1, 0.000_5, 0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0, 15.0,
    60.0, 300.0,
];

/// The name of the gauge, always 1, whose `version` label is the binary's version.
pub const BUILD_INFO: &str = "starling_build_info";

pub struct MetricsRegistry {
    recorder: PrometheusRecorder,
    handle: PrometheusHandle,
}

impl MetricsRegistry {
    /// A recorder whose histograms (every metric ending in `_seconds`) use
    /// [`LATENCY_BUCKETS`].
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), &LATENCY_BUCKETS)
            .expect("the bucket list is non-empty")
            .build_recorder();
        let handle = recorder.handle();
        let registry = Self { recorder, handle };
        registry.register(|| {
            metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        });
        registry
    }

    /// Runs `register` with this registry as the current recorder: metric handles
    /// created inside (`metrics::counter!` …) record here for their whole life.
    pub fn register<T>(&self, register: impl FnOnce() -> T) -> T {
        metrics::with_local_recorder(&self.recorder, register)
    }

    /// Drains recorded histogram samples into their buckets so memory stays flat
    /// between scrapes; components call it periodically.
    pub fn run_upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// The Prometheus text exposition of everything registered here.
    pub fn render(&self) -> String {
        self.handle.run_upkeep();
        self.handle.render()
    }
}

impl Default for MetricsRegistry {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MetricsRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsRegistry")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_registries_in_one_process_stay_apart() {
        let a = MetricsRegistry::new();
        let b = MetricsRegistry::new();
        let counter_a = a.register(|| metrics::counter!("starling_test_total"));
        let _counter_b = b.register(|| metrics::counter!("starling_test_total"));
        counter_a.increment(3);
        assert!(a.render().contains("starling_test_total 3"));
        assert!(b.render().contains("starling_test_total 0"));
    }

    #[test]
    fn every_registry_carries_the_build_info() {
        let text = MetricsRegistry::new().render();
        let line = format!(
            "starling_build_info{{version=\"{}\"}} 1",
            env!("CARGO_PKG_VERSION")
        );
        assert!(text.lines().any(|l| l == line), "{text}");
    }

    #[test]
    fn seconds_histograms_get_buckets() {
        let registry = MetricsRegistry::new();
        let h = registry.register(|| metrics::histogram!("starling_op_seconds"));
        h.record(0.002);
        let text = registry.render();
        assert!(
            text.contains("starling_op_seconds_bucket{le=\"0.005\"} 1"),
            "{text}"
        );
    }
}
