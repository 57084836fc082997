//! The engine's metrics, registered once in the owning component's
//! [`MetricsRegistry`], plus plain totals that [`crate::Engine::stats`] reads.
//!
//! Metrics: `starling_p2p_downloaded_bytes_total{class}` and
//! `starling_p2p_uploaded_bytes_total{class}` (piece payload by the remote peer's class:
//! origin, agent or other), `starling_p2p_pieces_verified_total`,
//! `starling_p2p_pieces_rejected_total`, the gauges `starling_p2p_connections` and
//! `starling_p2p_torrents`, `starling_p2p_announce_failures_total`, the histogram
//! `starling_p2p_announce_duration_seconds` (its `_count` is the number of announces),
//! `starling_p2p_inbound_resolved_total` (torrents started for an incoming peer by
//! the inbound resolver, i.e. origins seeding on demand), `starling_p2p_stalls_total`
//! (stall windows: a download that received nothing for `stall_timeout`) and
//! `starling_p2p_stalled_downloads_failed_total` (downloads failed after every failover),
//! `starling_p2p_peers_evicted_total` (peers dropped from a full torrent for a newcomer)
//! and `starling_p2p_idle_connections_closed_total` (connections closed by the idle
//! sweep; see `crate::eviction`).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use metrics::{Counter, Gauge, Histogram, Unit};
use starling_runtime::MetricsRegistry;

use crate::peer_class::PeerClass;

const DOWNLOADED: &str = "starling_p2p_downloaded_bytes_total";
const UPLOADED: &str = "starling_p2p_uploaded_bytes_total";
const VERIFIED: &str = "starling_p2p_pieces_verified_total";
const REJECTED: &str = "starling_p2p_pieces_rejected_total";
const CONNECTIONS: &str = "starling_p2p_connections";
const TORRENTS: &str = "starling_p2p_torrents";
const ANNOUNCE_FAILURES: &str = "starling_p2p_announce_failures_total";
const ANNOUNCE_DURATION: &str = "starling_p2p_announce_duration_seconds";
const INBOUND_RESOLVED: &str = "starling_p2p_inbound_resolved_total";
const STALLS: &str = "starling_p2p_stalls_total";
const STALL_FAILURES: &str = "starling_p2p_stalled_downloads_failed_total";
const EVICTED: &str = "starling_p2p_peers_evicted_total";
const IDLE_CLOSED: &str = "starling_p2p_idle_connections_closed_total";

/// Peer classes in label order; `None` is a non-Starling client.
const CLASSES: [Option<PeerClass>; 3] = [Some(PeerClass::Origin), Some(PeerClass::Agent), None];

/// A snapshot of the engine's totals since it started.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EngineStats {
    /// Piece payload bytes received (duplicates and rejected pieces included).
    pub bytes_downloaded: u64,
    /// Piece payload bytes sent.
    pub bytes_uploaded: u64,
    pub pieces_verified: u64,
    pub pieces_rejected: u64,
    /// Peer connections open now.
    pub connections: u64,
}

/// Metric handles and totals of one engine.
#[derive(Debug)]
pub struct EngineMetrics {
    downloaded: [Counter; 3],
    uploaded: [Counter; 3],
    verified: Counter,
    rejected: Counter,
    connections: Gauge,
    torrents: Gauge,
    announce_failures: Counter,
    announce_duration: Histogram,
    inbound_resolved: Counter,
    stalls: Counter,
    stall_failures: Counter,
    evicted: Counter,
    idle_closed: Counter,
    totals: Totals,
}

#[derive(Debug, Default)]
struct Totals {
    downloaded: AtomicU64,
    uploaded: AtomicU64,
    verified: AtomicU64,
    rejected: AtomicU64,
    connections: AtomicI64,
}

impl EngineMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        registry.register(|| {
            metrics::describe_counter!(
                DOWNLOADED,
                Unit::Bytes,
                "Piece bytes received, by peer class."
            );
            metrics::describe_counter!(UPLOADED, Unit::Bytes, "Piece bytes sent, by peer class.");
            metrics::describe_counter!(VERIFIED, "Pieces that passed their SHA-1 check.");
            metrics::describe_counter!(REJECTED, "Pieces that failed their SHA-1 check.");
            metrics::describe_gauge!(CONNECTIONS, "Open peer connections.");
            metrics::describe_gauge!(TORRENTS, "Torrents downloading or seeding.");
            metrics::describe_counter!(ANNOUNCE_FAILURES, "Announces no tracker answered.");
            metrics::describe_histogram!(ANNOUNCE_DURATION, Unit::Seconds, "Announce round trips.");
            metrics::describe_counter!(
                INBOUND_RESOLVED,
                "Torrents started for an incoming peer by the inbound resolver."
            );
            metrics::describe_counter!(
                STALLS,
                "Times a download received no block for stall_timeout."
            );
            metrics::describe_counter!(
                STALL_FAILURES,
                "Downloads failed because they stayed stalled through every failover."
            );
            metrics::describe_counter!(
                EVICTED,
                "Peers dropped from a full torrent to admit a newcomer."
            );
            metrics::describe_counter!(
                IDLE_CLOSED,
                "Connections closed for lack of block traffic."
            );
            let by_class = |name: &'static str| {
                CLASSES.map(|class| metrics::counter!(name, "class" => PeerClass::label(class)))
            };
            Self {
                downloaded: by_class(DOWNLOADED),
                uploaded: by_class(UPLOADED),
                verified: metrics::counter!(VERIFIED),
                rejected: metrics::counter!(REJECTED),
                connections: metrics::gauge!(CONNECTIONS),
                torrents: metrics::gauge!(TORRENTS),
                announce_failures: metrics::counter!(ANNOUNCE_FAILURES),
                announce_duration: metrics::histogram!(ANNOUNCE_DURATION),
                inbound_resolved: metrics::counter!(INBOUND_RESOLVED),
                stalls: metrics::counter!(STALLS),
                stall_failures: metrics::counter!(STALL_FAILURES),
                evicted: metrics::counter!(EVICTED),
                idle_closed: metrics::counter!(IDLE_CLOSED),
                totals: Totals::default(),
            }
        })
    }

    fn class_index(class: Option<PeerClass>) -> usize {
        CLASSES
            .iter()
            .position(|c| *c == class)
            .expect("CLASSES lists every class")
    }

    pub fn downloaded(&self, class: Option<PeerClass>, bytes: u64) {
        self.downloaded[Self::class_index(class)].increment(bytes);
        self.totals.downloaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn uploaded(&self, class: Option<PeerClass>, bytes: u64) {
        self.uploaded[Self::class_index(class)].increment(bytes);
        self.totals.uploaded.fetch_add(bytes, Ordering::Relaxed);
    }

    pub fn piece_verified(&self) {
        self.verified.increment(1);
        self.totals.verified.fetch_add(1, Ordering::Relaxed);
    }

    pub fn piece_rejected(&self) {
        self.rejected.increment(1);
        self.totals.rejected.fetch_add(1, Ordering::Relaxed);
    }

    pub fn peer_evicted(&self) {
        self.evicted.increment(1);
    }

    pub fn peers_idled_out(&self, count: usize) {
        self.idle_closed.increment(count as u64);
    }

    pub fn connection_opened(&self) {
        self.connections.increment(1.0);
        self.totals.connections.fetch_add(1, Ordering::Relaxed);
    }

    pub fn connection_closed(&self) {
        self.connections.decrement(1.0);
        self.totals.connections.fetch_sub(1, Ordering::Relaxed);
    }

    pub fn set_torrents(&self, count: usize) {
        self.torrents.set(count as f64);
    }

    pub fn announced(&self, took: Duration, ok: bool) {
        self.announce_duration.record(took.as_secs_f64());
        if !ok {
            self.announce_failures.increment(1);
        }
    }

    pub fn inbound_resolved(&self) {
        self.inbound_resolved.increment(1);
    }

    pub fn stalled(&self) {
        self.stalls.increment(1);
    }

    pub fn stall_failed(&self) {
        self.stall_failures.increment(1);
    }

    pub fn stats(&self) -> EngineStats {
        let t = &self.totals;
        EngineStats {
            bytes_downloaded: t.downloaded.load(Ordering::Relaxed),
            bytes_uploaded: t.uploaded.load(Ordering::Relaxed),
            pieces_verified: t.verified.load(Ordering::Relaxed),
            pieces_rejected: t.rejected.load(Ordering::Relaxed),
            connections: t.connections.load(Ordering::Relaxed).max(0) as u64,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_by_class_and_in_totals() {
        let registry = MetricsRegistry::new();
        let metrics = EngineMetrics::register(&registry);
        metrics.downloaded(Some(PeerClass::Origin), 100);
        metrics.downloaded(None, 5);
        metrics.uploaded(Some(PeerClass::Agent), 7);
        metrics.piece_verified();
        metrics.piece_rejected();
        metrics.connection_opened();
        metrics.announced(Duration::from_millis(3), false);
        metrics.inbound_resolved();
        let text = registry.render();
        for want in [
            r#"starling_p2p_downloaded_bytes_total{class="origin"} 100"#,
            r#"starling_p2p_downloaded_bytes_total{class="other"} 5"#,
            r#"starling_p2p_uploaded_bytes_total{class="agent"} 7"#,
            "starling_p2p_pieces_rejected_total 1",
            "starling_p2p_connections 1",
            "starling_p2p_announce_failures_total 1",
            "starling_p2p_announce_duration_seconds_bucket",
            "starling_p2p_inbound_resolved_total 1",
        ] {
            assert!(text.contains(want), "{want} missing in:\n{text}");
        }
        let stats = metrics.stats();
        assert_eq!((stats.bytes_downloaded, stats.bytes_uploaded), (105, 7));
        assert_eq!(
            (
                stats.pieces_verified,
                stats.pieces_rejected,
                stats.connections
            ),
            (1, 1, 1)
        );
    }
}
