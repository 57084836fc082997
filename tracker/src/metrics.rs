//! Prometheus metrics of one tracker instance.
//!
//! Each [`TrackerMetrics`] owns a [`MetricsRegistry`] instead of installing a global
//! recorder: several trackers run in one test process. The metric handles are
//! registered once and keep pointing at that registry's storage, so the announce path
//! only does atomic increments and never looks a metric up by name.
//!
//! Metrics: `starling_tracker_announces_total{event}`,
//! `starling_tracker_announce_failures_total`, `starling_tracker_peers`,
//! `starling_tracker_torrents` and the histogram
//! `starling_tracker_announce_duration_seconds`; for metainfo lookups
//! ([`MetainfoMetrics`]) `starling_tracker_metainfo_requests_total`,
//! `starling_tracker_metainfo_cache_hits_total` and the histogram
//! `starling_tracker_metainfo_fetch_duration_seconds` (one sample per origin fetch,
//! failed ones included, so its `_count` is the number of origin requests); for origins
//! handed out without announcing, `starling_tracker_origin_seeds_handed_total` (origin
//! entries in hand-outs) and `starling_tracker_origin_identity_failures_total` (failed
//! `GET /peer` of an origin).

use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};
use starling_core::announce::Event;
use starling_runtime::MetricsRegistry;

const ANNOUNCES: &str = "starling_tracker_announces_total";
const FAILURES: &str = "starling_tracker_announce_failures_total";
const PEERS: &str = "starling_tracker_peers";
const TORRENTS: &str = "starling_tracker_torrents";
const DURATION: &str = "starling_tracker_announce_duration_seconds";
const METAINFO_REQUESTS: &str = "starling_tracker_metainfo_requests_total";
const METAINFO_HITS: &str = "starling_tracker_metainfo_cache_hits_total";
const METAINFO_FETCH: &str = "starling_tracker_metainfo_fetch_duration_seconds";
const ORIGIN_SEEDS_HANDED: &str = "starling_tracker_origin_seeds_handed_total";
const ORIGIN_IDENTITY_FAILURES: &str = "starling_tracker_origin_identity_failures_total";

/// The metric handles and the renderer of one tracker.
pub struct TrackerMetrics {
    registry: MetricsRegistry,
    /// Indexed like [`Event::ALL`].
    announces: [Counter; Event::ALL.len()],
    failures: Counter,
    peers: Gauge,
    torrents: Gauge,
    duration: Histogram,
    origin_seeds_handed: Counter,
    metainfo: MetainfoMetrics,
}

/// The metainfo lookup's handles; cheap to clone into a fetch task.
#[derive(Clone)]
pub struct MetainfoMetrics {
    requests: Counter,
    cache_hits: Counter,
    fetch_duration: Histogram,
    identity_failures: Counter,
}

impl MetainfoMetrics {
    /// Describes and creates the handles; call inside [`MetricsRegistry::register`].
    fn register() -> Self {
        metrics::describe_counter!(METAINFO_REQUESTS, "Metainfo requests with a valid path.");
        metrics::describe_counter!(METAINFO_HITS, "Metainfo requests answered from the cache.");
        metrics::describe_histogram!(
            METAINFO_FETCH,
            Unit::Seconds,
            "Time to fetch one torrent from the origins, failures included."
        );
        metrics::describe_counter!(
            ORIGIN_IDENTITY_FAILURES,
            "Failed requests for an origin's peer identity (GET /peer)."
        );
        Self {
            requests: metrics::counter!(METAINFO_REQUESTS),
            cache_hits: metrics::counter!(METAINFO_HITS),
            fetch_duration: metrics::histogram!(METAINFO_FETCH),
            identity_failures: metrics::counter!(ORIGIN_IDENTITY_FAILURES),
        }
    }

    pub fn requested(&self) {
        self.requests.increment(1);
    }

    pub fn cache_hit(&self) {
        self.cache_hits.increment(1);
    }

    pub fn fetched(&self, took: Duration) {
        self.fetch_duration.record(took.as_secs_f64());
    }

    pub fn identity_failed(&self) {
        self.identity_failures.increment(1);
    }
}

impl TrackerMetrics {
    pub fn new() -> Self {
        let registry = MetricsRegistry::new();
        let (announces, failures, peers, torrents, duration, handed, metainfo) =
            registry.register(|| {
                metrics::describe_counter!(ANNOUNCES, "Announces handled, by event.");
                metrics::describe_counter!(FAILURES, "Announces answered with a failure reason.");
                metrics::describe_gauge!(PEERS, "Peers held in the store (live or not yet swept).");
                metrics::describe_gauge!(TORRENTS, "Torrents held in the store.");
                metrics::describe_histogram!(
                    DURATION,
                    Unit::Seconds,
                    "Time to handle one announce."
                );
                metrics::describe_counter!(
                    ORIGIN_SEEDS_HANDED,
                    "Origins handed out without announcing, from the origin ring."
                );
                (
                    Event::ALL.map(|event| metrics::counter!(ANNOUNCES, "event" => event.label())),
                    metrics::counter!(FAILURES),
                    metrics::gauge!(PEERS),
                    metrics::gauge!(TORRENTS),
                    metrics::histogram!(DURATION),
                    metrics::counter!(ORIGIN_SEEDS_HANDED),
                    MetainfoMetrics::register(),
                )
            });
        Self {
            registry,
            announces,
            failures,
            peers,
            torrents,
            duration,
            origin_seeds_handed: handed,
            metainfo,
        }
    }

    /// The handles of the metainfo lookup.
    pub fn metainfo(&self) -> &MetainfoMetrics {
        &self.metainfo
    }

    pub fn announced(&self, event: Event, took: Duration) {
        let index = Event::ALL
            .iter()
            .position(|e| *e == event)
            .expect("Event::ALL lists every event");
        self.announces[index].increment(1);
        self.duration.record(took.as_secs_f64());
    }

    /// `count` origins from the origin ring went into one hand-out.
    pub fn origin_seeds_handed(&self, count: usize) {
        self.origin_seeds_handed.increment(count as u64);
    }

    pub fn failed(&self, took: Duration) {
        self.failures.increment(1);
        self.duration.record(took.as_secs_f64());
    }

    /// Prometheus text exposition, with the store gauges set to the given sizes first.
    pub fn render(&self, peers: usize, torrents: usize) -> String {
        self.peers.set(peers as f64);
        self.torrents.set(torrents as f64);
        self.registry.render()
    }

    /// Drains recorded histogram samples into their buckets so memory stays flat
    /// between scrapes; call periodically.
    pub fn upkeep(&self) {
        self.registry.run_upkeep();
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
        a.metainfo().requested();
        a.metainfo().requested();
        a.metainfo().cache_hit();
        a.metainfo().fetched(Duration::from_millis(4));
        a.metainfo().identity_failed();
        a.origin_seeds_handed(2);

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
            text.contains("starling_tracker_metainfo_requests_total 2"),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_metainfo_cache_hits_total 1"),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_metainfo_fetch_duration_seconds_count 1"),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_origin_identity_failures_total 1"),
            "{text}"
        );
        assert!(
            text.contains("starling_tracker_origin_seeds_handed_total 2"),
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
