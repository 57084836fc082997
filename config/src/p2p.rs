//! The BitTorrent peer side of origins and agents: listening address, connection and
//! request limits, rate caps and timers.
//!
//! `listen` has no serde default: its default differs per component (agent 16001, origin
//! 15001) and the component supplies it when the whole `peer:` section is left out. A
//! written `peer:` section must therefore name `listen`, so a partial section can never
//! silently take another component's port.

use std::net::SocketAddr;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::{at_least_one, host_port, positive_duration};
use crate::units::{ByteRate, ByteSize};

/// The largest block a peer may request: the protocol design serves up to 1 MiB.
pub const MAX_BLOCK_SIZE: ByteSize = ByteSize::mib(1);

/// Peer-to-peer settings of one component.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct P2pConfig {
    /// Address for incoming peer connections (required when `peer:` is written).
    pub listen: SocketAddr,
    /// Peers unchoked at once (agents and origins; one more rotates as the optimistic unchoke).
    #[serde(default = "default_upload_slots")]
    pub upload_slots: usize,
    /// Most connections per torrent.
    #[serde(default = "default_max_peers_per_torrent")]
    pub max_peers_per_torrent: usize,
    /// Block requests kept in flight per peer.
    #[serde(default = "default_pipeline_depth")]
    pub pipeline_depth: usize,
    /// Size of one block request; at most 1MiB.
    #[serde(default = "default_block_size")]
    pub block_size: ByteSize,
    /// Cap on download bandwidth; unlimited when unset.
    #[serde(default)]
    pub ingress_rate: Option<ByteRate>,
    /// Cap on upload bandwidth; unlimited when unset.
    #[serde(default)]
    pub egress_rate: Option<ByteRate>,
    /// A completed torrent with no peer activity for this long stops seeding.
    #[serde(default = "default_seeder_idle_ttl", with = "crate::units::duration")]
    pub seeder_idle_ttl: Duration,
    /// How long a misbehaving peer (bad piece, failed handshake) is refused.
    #[serde(default = "default_blacklist_for", with = "crate::units::duration")]
    pub blacklist_for: Duration,
    /// A block request unanswered for this long is sent to another peer.
    #[serde(default = "default_request_timeout", with = "crate::units::duration")]
    pub request_timeout: Duration,
    /// Announce interval used when the tracker's response gives none (agents; origins
    /// do not announce, trackers list them from the origin ring).
    #[serde(
        default = "default_p2p_announce_interval",
        with = "crate::units::duration"
    )]
    pub announce_interval: Duration,
    /// The address other peers dial (`host:port`), sent in announces as `ip` and
    /// `port`: set it when the listener is not reachable at the connection's source
    /// address (SNAT, an L4 proxy, a sidecar, `listen: 0.0.0.0`). The host is an IP or
    /// a name resolved at start. Unset: trackers use the announce's source address and
    /// the listener's port.
    #[serde(default)]
    pub advertise: Option<String>,
    /// A download that receives no block for this long fails over: it reconnects its
    /// peers and announces again (agents).
    #[serde(default = "default_stall_timeout", with = "crate::units::duration")]
    pub stall_timeout: Duration,
    /// Failovers before a stalled download fails and its readers get an error, so a
    /// client retries or falls back: the bound is `(stall_failovers + 1) * stall_timeout`.
    #[serde(default = "default_stall_failovers")]
    pub stall_failovers: u32,
    /// A connection with no block traffic (requests or pieces, either way; keep-alives
    /// and state messages do not count) for this long is closed, even when the torrent
    /// has room.
    #[serde(default = "default_peer_idle_timeout", with = "crate::units::duration")]
    pub peer_idle_timeout: Duration,
    /// A torrent at `max_peers_per_torrent` evicts, for a newly handshaken peer, a peer
    /// with no block traffic for this long.
    #[serde(default = "default_evict_idle_after", with = "crate::units::duration")]
    pub evict_idle_after: Duration,
    /// A seeding torrent at its limit evicts first a peer that has not sent
    /// `interested` this long after its handshake.
    #[serde(default = "default_interest_grace", with = "crate::units::duration")]
    pub interest_grace: Duration,
    /// A peer whose blocks were in this many pieces that failed their SHA-1 check (one
    /// more for every 4 verified pieces it contributed to) is banned; the sole source of
    /// a failed piece is banned at once.
    #[serde(default = "default_bad_piece_strikes")]
    pub bad_piece_strikes: u32,
}

pub fn default_upload_slots() -> usize {
    8
}

pub fn default_max_peers_per_torrent() -> usize {
    30
}

pub fn default_pipeline_depth() -> usize {
    16
}

pub fn default_block_size() -> ByteSize {
    ByteSize::kib(16)
}

pub fn default_seeder_idle_ttl() -> Duration {
    Duration::from_secs(600)
}

pub fn default_blacklist_for() -> Duration {
    Duration::from_secs(300)
}

pub fn default_request_timeout() -> Duration {
    Duration::from_secs(15)
}

pub fn default_p2p_announce_interval() -> Duration {
    Duration::from_secs(30)
}

pub fn default_stall_timeout() -> Duration {
    Duration::from_secs(20)
}

pub fn default_stall_failovers() -> u32 {
    2
}

pub fn default_peer_idle_timeout() -> Duration {
    Duration::from_secs(120)
}

pub fn default_evict_idle_after() -> Duration {
    Duration::from_secs(30)
}

pub fn default_interest_grace() -> Duration {
    Duration::from_secs(10)
}

pub fn default_bad_piece_strikes() -> u32 {
    2
}

impl Default for P2pConfig {
    /// Listens on the agent's peer port, 127.0.0.1:16001.
    fn default() -> Self {
        Self::with_listen(SocketAddr::from(([127, 0, 0, 1], 16001)))
    }
}

impl P2pConfig {
    /// Default settings listening on `listen`.
    pub fn with_listen(listen: SocketAddr) -> Self {
        Self {
            listen,
            upload_slots: default_upload_slots(),
            max_peers_per_torrent: default_max_peers_per_torrent(),
            pipeline_depth: default_pipeline_depth(),
            block_size: default_block_size(),
            ingress_rate: None,
            egress_rate: None,
            seeder_idle_ttl: default_seeder_idle_ttl(),
            blacklist_for: default_blacklist_for(),
            request_timeout: default_request_timeout(),
            announce_interval: default_p2p_announce_interval(),
            advertise: None,
            stall_timeout: default_stall_timeout(),
            stall_failovers: default_stall_failovers(),
            peer_idle_timeout: default_peer_idle_timeout(),
            evict_idle_after: default_evict_idle_after(),
            interest_grace: default_interest_grace(),
            bad_piece_strikes: default_bad_piece_strikes(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        at_least_one("upload_slots", self.upload_slots as u64)?;
        at_least_one("max_peers_per_torrent", self.max_peers_per_torrent as u64)?;
        at_least_one("pipeline_depth", self.pipeline_depth as u64)?;
        if self.block_size.as_u64() == 0 || self.block_size > MAX_BLOCK_SIZE {
            return Err(Error::invalid(
                "block_size",
                format!(
                    "must be between 1B and {MAX_BLOCK_SIZE}, got {}",
                    self.block_size
                ),
            ));
        }
        for (field, rate) in [
            ("ingress_rate", self.ingress_rate),
            ("egress_rate", self.egress_rate),
        ] {
            if rate.is_some_and(|r| r.as_u64() == 0) {
                return Err(Error::invalid(
                    field,
                    "must be above 0; leave unset for unlimited",
                ));
            }
        }
        positive_duration("seeder_idle_ttl", self.seeder_idle_ttl)?;
        positive_duration("blacklist_for", self.blacklist_for)?;
        positive_duration("request_timeout", self.request_timeout)?;
        positive_duration("announce_interval", self.announce_interval)?;
        positive_duration("stall_timeout", self.stall_timeout)?;
        positive_duration("peer_idle_timeout", self.peer_idle_timeout)?;
        positive_duration("evict_idle_after", self.evict_idle_after)?;
        positive_duration("interest_grace", self.interest_grace)?;
        at_least_one("bad_piece_strikes", u64::from(self.bad_piece_strikes))?;
        if let Some(advertise) = &self.advertise {
            host_port("advertise", advertise)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> std::result::Result<P2pConfig, String> {
        serde_norway::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults() {
        let p2p = parse("listen: 127.0.0.1:16001").unwrap();
        p2p.validate().unwrap();
        assert_eq!(p2p, P2pConfig::default());
        assert_eq!(
            (
                p2p.upload_slots,
                p2p.max_peers_per_torrent,
                p2p.pipeline_depth
            ),
            (8, 30, 16)
        );
        assert_eq!(p2p.block_size.to_string(), "16KiB");
        assert_eq!((p2p.ingress_rate, p2p.egress_rate), (None, None));
        assert_eq!(p2p.seeder_idle_ttl, Duration::from_secs(600));
        assert_eq!(p2p.blacklist_for, Duration::from_secs(300));
        assert_eq!(p2p.request_timeout, Duration::from_secs(15));
        assert_eq!(p2p.announce_interval, Duration::from_secs(30));
        assert_eq!(p2p.advertise, None);
        assert_eq!(p2p.stall_timeout, Duration::from_secs(20));
        assert_eq!(p2p.stall_failovers, 2);
        assert_eq!(p2p.peer_idle_timeout, Duration::from_secs(120));
        assert_eq!(p2p.evict_idle_after, Duration::from_secs(30));
        assert_eq!(p2p.interest_grace, Duration::from_secs(10));
        assert_eq!(p2p.bad_piece_strikes, 2);
    }

    #[test]
    fn advertise_and_stall_bounds_parse_and_are_checked() {
        let p2p = parse(
            "listen: 0.0.0.0:16001\nadvertise: 10.1.2.3:16001\nstall_timeout: 5s\nstall_failovers: 0",
        )
        .unwrap();
        p2p.validate().unwrap();
        assert_eq!(p2p.advertise.as_deref(), Some("10.1.2.3:16001"));
        assert_eq!(
            (p2p.stall_timeout, p2p.stall_failovers),
            (Duration::from_secs(5), 0)
        );
        let named = parse("listen: 0.0.0.0:16001\nadvertise: agent-3.nodes:16001").unwrap();
        named.validate().unwrap();
        for (yaml, field) in [
            ("advertise: 10.1.2.3", "advertise"),
            ("stall_timeout: 0s", "stall_timeout"),
            ("peer_idle_timeout: 0s", "peer_idle_timeout"),
            ("evict_idle_after: 0s", "evict_idle_after"),
            ("interest_grace: 0s", "interest_grace"),
            ("bad_piece_strikes: 0", "bad_piece_strikes"),
        ] {
            let err = parse(&format!("listen: 0.0.0.0:16001\n{yaml}"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string();
            assert!(err.starts_with(&format!("{field}:")), "{yaml}: {err}");
        }
    }

    #[test]
    fn rates_and_overrides_parse() {
        let p2p = parse(
            "
listen: 0.0.0.0:16001
ingress_rate: 300MiB/s
egress_rate: 1GB/s
block_size: 1MiB
upload_slots: 4
",
        )
        .unwrap();
        p2p.validate().unwrap();
        assert_eq!(p2p.ingress_rate, Some(ByteRate::mib_per_sec(300)));
        assert_eq!(p2p.egress_rate, Some(ByteRate(1_000_000_000)));
        assert_eq!(p2p.block_size, MAX_BLOCK_SIZE);
    }

    #[test]
    fn a_written_section_must_name_listen() {
        let err = parse("upload_slots: 4").unwrap_err();
        assert!(err.contains("missing field `listen`"), "{err}");
    }

    #[test]
    fn validation_names_the_field() {
        let err = |extra: &str| {
            parse(&format!("listen: 127.0.0.1:16001\n{extra}"))
                .unwrap()
                .validate()
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("block_size: 2MiB"),
            "block_size: must be between 1B and 1MiB, got 2MiB"
        );
        assert_eq!(err("upload_slots: 0"), "upload_slots: must be at least 1");
        assert_eq!(
            err("egress_rate: 0MiB/s"),
            "egress_rate: must be above 0; leave unset for unlimited"
        );
        assert_eq!(
            err("request_timeout: 0s"),
            "request_timeout: must be greater than 0s"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = parse("listen: 127.0.0.1:1\nupload_slot: 3").unwrap_err();
        assert!(err.contains("unknown field `upload_slot`"), "{err}");
    }
}
