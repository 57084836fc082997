//! The tracker's shared state and the announce service: parse, store, hand out, encode.
//! It also holds the metainfo lookup ([`MetainfoService`]), built from the same config.
//!
//! [`TrackerState::announce`] is the whole announce path behind `GET /announce`, kept
//! free of HTTP types so the benchmark and unit tests drive exactly what the handler
//! runs. Every outcome is a bencoded body: client mistakes become `failure reason`.
//! Origins seeding the torrent (known from the metainfo this tracker served, see
//! [`crate::origin_seeds`]) join the hand-out without announcing.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use starling_config::tracker::TrackerConfig;
use starling_core::announce::Event;

use crate::address::AddressPolicy;
use crate::error::{Error, Result};
use crate::metainfo::{MetainfoService, MetainfoSettings};
use crate::metrics::TrackerMetrics;
use crate::request::PeerAnnounce;
use crate::response::{TrackerReply, encode_failure};
use crate::store::{PeerStore, StoreLimits};

/// The announce behaviour, derived from [`TrackerConfig`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceSettings {
    /// `interval` told to clients.
    pub interval: Duration,
    /// `min interval` told to clients: half the interval (at least 1 s), so a client
    /// that needs peers sooner may re-announce, but not in a tight loop.
    pub min_interval: Duration,
    /// How long a peer stays listed after its last announce.
    pub peer_ttl: Duration,
    /// Most peers handed out per announce, whatever `numwant` says.
    pub announce_limit: usize,
    pub store_limits: StoreLimits,
    /// Whose `ip=` is believed.
    pub addresses: AddressPolicy,
}

impl AnnounceSettings {
    pub fn from_config(cfg: &TrackerConfig) -> Self {
        Self {
            interval: cfg.announce_interval,
            min_interval: (cfg.announce_interval / 2).max(Duration::from_secs(1)),
            peer_ttl: cfg.peer_ttl,
            announce_limit: cfg.announce_limit,
            store_limits: StoreLimits {
                max_peers_per_ip: cfg.max_peers_per_ip,
                ..StoreLimits::default()
            },
            addresses: AddressPolicy::new(cfg.trusted_networks.clone()),
        }
    }
}

/// Everything the handlers and background tasks share.
pub struct TrackerState {
    settings: AnnounceSettings,
    store: PeerStore,
    metainfo: MetainfoService,
    metrics: TrackerMetrics,
    ready: AtomicBool,
}

impl TrackerState {
    pub fn new(settings: AnnounceSettings, metainfo: MetainfoSettings) -> Self {
        let metrics = TrackerMetrics::new();
        Self {
            store: PeerStore::new(settings.peer_ttl, settings.store_limits),
            metainfo: MetainfoService::new(metainfo, metrics.metainfo().clone()),
            settings,
            metrics,
            ready: AtomicBool::new(false),
        }
    }

    /// Errors when the `client_tls:` files cannot be used.
    pub fn from_config(cfg: &TrackerConfig) -> Result<Self> {
        Ok(Self::new(
            AnnounceSettings::from_config(cfg),
            MetainfoSettings::from_config(cfg)?,
        ))
    }

    /// Handles one announce whose raw query arrived from `remote`; returns the body.
    pub fn announce(&self, raw_query: Option<&str>, remote: SocketAddr) -> Vec<u8> {
        let started = Instant::now();
        match self.try_announce(raw_query.unwrap_or_default(), remote, started) {
            Ok((event, body)) => {
                self.metrics.announced(event, started.elapsed());
                body
            }
            Err(error) => {
                if matches!(error, Error::Encode(_)) {
                    tracing::error!(%error, "announce response could not be encoded");
                } else {
                    tracing::debug!(%error, "announce rejected");
                }
                self.metrics.failed(started.elapsed());
                encode_failure(&error.to_string())
            }
        }
    }

    fn try_announce(
        &self,
        query: &str,
        remote: SocketAddr,
        now: Instant,
    ) -> Result<(Event, Vec<u8>)> {
        let req = PeerAnnounce::parse(query, remote.ip(), &self.settings.addresses)?;
        let (event, compact) = (req.event, req.compact);
        let limit = req.numwant.map_or(self.settings.announce_limit, |n| {
            n.min(self.settings.announce_limit)
        });
        tracing::trace!(info_hash = %req.info_hash, peer = %req.peer_id, addr = %req.addr, ?event, "announce");
        let origins = self.metainfo.seeds().seeds_for(&req.info_hash, now);
        let outcome = self
            .store
            .announce(req, limit, &origins, now, &mut rand::rng());
        if !origins.is_empty() {
            let handed = outcome
                .peers
                .iter()
                .filter(|p| origins.iter().any(|o| o.addr == p.addr))
                .count();
            self.metrics.origin_seeds_handed(handed);
        }
        let body = TrackerReply {
            interval: self.settings.interval,
            min_interval: self.settings.min_interval,
            counts: outcome.counts,
            peers: &outcome.peers,
            compact,
        }
        .encode()?;
        Ok((event, body))
    }

    pub fn settings(&self) -> &AnnounceSettings {
        &self.settings
    }

    pub fn store(&self) -> &PeerStore {
        &self.store
    }

    pub fn metainfo(&self) -> &MetainfoService {
        &self.metainfo
    }

    pub fn metrics(&self) -> &TrackerMetrics {
        &self.metrics
    }

    /// Prometheus text for `GET /metrics`.
    pub fn render_metrics(&self) -> String {
        self.metrics
            .render(self.store.peer_count(), self.store.torrent_count())
    }

    /// True between the start of serving and the shutdown request.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Relaxed)
    }

    pub fn set_ready(&self, ready: bool) {
        self.ready.store(ready, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> TrackerState {
        TrackerState::from_config(&TrackerConfig {
            announce_limit: 3,
            ..TrackerConfig::default()
        })
        .unwrap()
    }

    fn query(n: u8, extra: &str) -> String {
        let hash = "%AA".repeat(20);
        let peer = format!("-SL0100-00000000000{}", n % 10);
        format!(
            "info_hash={hash}&peer_id={peer}&port={}&left=0&compact=1{extra}",
            6000 + u16::from(n)
        )
    }

    fn remote() -> SocketAddr {
        "127.0.0.1:50000".parse().unwrap()
    }

    #[test]
    fn settings_follow_the_config() {
        let settings = AnnounceSettings::from_config(&TrackerConfig::default());
        assert_eq!(settings.interval, Duration::from_secs(30));
        assert_eq!(settings.min_interval, Duration::from_secs(15));
        assert_eq!(settings.peer_ttl, Duration::from_secs(90));
        assert_eq!(settings.announce_limit, 50);
        assert_eq!(settings.store_limits.max_peers_per_ip, 8);
    }

    #[test]
    fn numwant_is_capped_by_the_announce_limit() {
        let state = state();
        for n in 0..6 {
            state.announce(Some(&query(n, "")), remote());
        }
        let body = state.announce(Some(&query(9, "&numwant=1000")), remote());
        let peers_at = body.windows(8).position(|w| w == b"5:peers1").unwrap();
        assert_eq!(
            &body[peers_at..peers_at + 10],
            b"5:peers18:",
            "3 peers of 6 bytes"
        );
        let one = state.announce(Some(&query(9, "&numwant=1")), remote());
        assert!(one.windows(9).any(|w| w == b"5:peers6:"));
    }

    #[test]
    fn failures_are_bencoded_and_counted() {
        let state = state();
        assert_eq!(
            state.announce(None, remote()),
            b"d14:failure reason17:missing info_hashe"
        );
        state.announce(Some(&query(1, "")), remote());
        let text = state.render_metrics();
        assert!(
            text.contains("starling_tracker_announce_failures_total 1"),
            "{text}"
        );
        assert!(
            text.contains(r#"starling_tracker_announces_total{event="update"} 1"#),
            "{text}"
        );
        assert!(text.contains("starling_tracker_peers 1"), "{text}");
    }
}
