//! Prometheus metrics of one tracker instance.
//!
//! Each [`TrackerMetrics`] owns its own Prometheus recorder instead of installing a
//! global one: several trackers run in one test process, and a process-wide recorder
//! can be installed only once. The metric handles are registered once, inside
//! [`metrics::with_local_recorder`], and keep pointing at this recorder's storage, so
//! the announce path only does atomic increments and never looks a metric up by name.
//!
//! Metrics: `starling_tracker_announces_total{event}`,
//! `starling_tracker_announce_failures_total`, `starling_tracker_peers`,
//! `starling_tracker_torrents` and the histogram
//! `starling_tracker_announce_duration_seconds`.

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::request::Event;

const ANNOUNCES: &str = "starling_tracker_announces_total";
const FAILURES: &str = "starling_tracker_announce_failures_total";
const PEERS: &str = "starling_tracker_peers";
const TORRENTS: &str = "starling_tracker_torrents";
const DURATION: &str = "starling_tracker_announce_duration_seconds";

/// Announce handling takes microseconds; the upper buckets catch lock contention.
const DURATION_BUCKETS: [f64; 10] = [
    0.000_005, 0.000_01, 0.000_025, 0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.01, 0.1,
];

/// The metric handles and the renderer of one tracker.
pub struct TrackerMetrics {
    handle: PrometheusHandle,
    /// Indexed like [`Event::ALL`].
    announces: [Counter; Event::ALL.len()],
    failures: Counter,
    peers: Gauge,
    torrents: Gauge,
    duration: Histogram,
}

impl TrackerMetrics {
    pub fn new() -> Self {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Full(DURATION.to_owned()), &DURATION_BUCKETS)
            .expect("the bucket list is non-empty")
            .build_recorder();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            metrics::describe_counter!(ANNOUNCES, "Announces handled, by event.");
            metrics::describe_counter!(FAILURES, "Announces answered with a failure reason.");
            metrics::describe_gauge!(PEERS, "Peers held in the store (live or not yet swept).");
            metrics::describe_gauge!(TORRENTS, "Torrents held in the store.");
            metrics::describe_histogram!(DURATION, Unit::Seconds, "Time to handle one announce.");
            Self {
                handle,
                announces: Event::ALL
                    .map(|event| metrics::counter!(ANNOUNCES, "event" => event.label())),
                failures: metrics::counter!(FAILURES),
                peers: metrics::gauge!(PEERS),
                torrents: metrics::gauge!(TORRENTS),
                duration: metrics::histogram!(DURATION),
            }
        })
    }

    pub fn announced(&self, event: Event, took: Duration) {
        let index = Event::ALL
            .iter()
            .position(|e| *e == event)
            .expect("Event::ALL lists every event");
        self.announces[index].increment(1);
        self.duration.record(took.as_secs_f64());
    }

    pub fn failed(&self, took: Duration) {
        self.failures.increment(1);
        self.duration.record(took.as_secs_f64());
    }

    /// Prometheus text exposition, with the store gauges set to the given sizes first.
    pub fn render(&self, peers: usize, torrents: usize) -> String {
        self.peers.set(peers as f64);
        self.torrents.set(torrents as f64);
        self.handle.render()
    }

    /// Drains recorded histogram samples into their buckets so memory stays flat
    /// between scrapes; call periodically.
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }
}

impl Default for TrackerMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_instances_count_separately() {
        let a = TrackerMetrics::new();
        let b = TrackerMetrics::new();
        a.announced(Event::Started, Duration::from_micros(3));
        a.announced(Event::Started, Duration::from_micros(3));
        a.failed(Duration::from_micros(1));
        b.announced(Event::Stopped, Duration::from_micros(3));

        let text = a.render(7, 2);
        assert!(
            text.contains(r#"starling_tracker_announces_total{event="started"} 2"#),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_announce_failures_total 1"),
            "{text}"
        );
        assert!(text.contains("starling_tracker_peers 7"), "{text}");
        assert!(text.contains("starling_tracker_torrents 2"), "{text}");
        assert!(
            text.contains("starling_tracker_announce_duration_seconds_bucket"),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_announce_duration_seconds_count 3"),
            "{text}"
        );
        assert!(
            !text.contains(r#"event="stopped"} 1"#),
            "b's counts leak into a: {text}"
        );
        assert!(
            b.render(0, 0)
                .contains(r#"starling_tracker_announces_total{event="stopped"} 1"#)
        );
    }
}
