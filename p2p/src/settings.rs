//! Engine settings: the component's `peer:` config section plus the choices that differ
//! between agents and origins (upload slots, peer class) and protocol timers that are not
//! user-facing config.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use starling_config::P2pConfig;
use starling_core::Digest;
use starling_core::announce::{NAME_RULE, Rack, Zone};
use starling_runtime::ClientTls;

use crate::announce::HealthPolicy;
use crate::choker::UploadSlots;
use crate::peer_class::PeerClass;

/// Everything an [`crate::Engine`] is configured with.
#[derive(Debug, Clone)]
pub struct EngineSettings {
    /// Limits, rates and timers from the component's config.
    pub p2p: P2pConfig,
    /// `p2p.upload_slots` for agents and origins alike.
    pub upload_slots: UploadSlots,
    /// Marked in the peer id so that others can count traffic by class.
    pub class: PeerClass,
    /// A peer that has not completed its handshake by then is dropped.
    pub handshake_timeout: Duration,
    /// How often the choker re-ranks peers and rotates the optimistic unchoke.
    pub choke_interval: Duration,
    /// When a tracker counts as down and for how long.
    pub tracker_health: HealthPolicy,
    /// Trust and identity for `https://` trackers (`client_tls:`).
    pub tracker_tls: Option<ClientTls>,
    /// This node's zone and rack, sent with announces for locality in the hand-out.
    pub zone: Option<Zone>,
    pub rack: Option<Rack>,
    /// Origins: where super-seeding starts in each blob (see [`RevealOrder`]).
    pub reveal_order: RevealOrder,
}

/// Which of a blob's owners this origin is: the `k`-th of `n` starts revealing at piece
/// `k·count/n`, so origins that hold the same blob show agents different pieces first
/// (see `torrent::super_seed`). The origin answers it from its ring; by default every
/// blob is the first of one.
#[derive(Clone)]
pub struct RevealOrder(Arc<OwnerRank>);

/// `digest -> (k, n)`: this origin is owner `k` (from 0) of the blob's `n` owners.
type OwnerRank = dyn Fn(&Digest) -> (usize, usize) + Send + Sync;

impl RevealOrder {
    /// `rank(digest)` gives `(k, n)`: this origin is owner `k` (from 0) of `n`.
    pub fn new(rank: impl Fn(&Digest) -> (usize, usize) + Send + Sync + 'static) -> Self {
        Self(Arc::new(rank))
    }

    /// The piece of `piece_count` where revealing `digest` starts.
    pub fn first_piece(&self, digest: &Digest, piece_count: u32) -> u32 {
        let (rank, owners) = (self.0)(digest);
        if owners == 0 || rank >= owners {
            return 0;
        }
        (u64::from(piece_count) * rank as u64 / owners as u64) as u32
    }
}

impl Default for RevealOrder {
    fn default() -> Self {
        Self::new(|_| (0, 1))
    }
}

impl fmt::Debug for RevealOrder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RevealOrder")
    }
}

impl EngineSettings {
    /// An agent: bounded upload slots from the config.
    pub fn agent(p2p: P2pConfig) -> Self {
        Self {
            upload_slots: UploadSlots::Limited(p2p.upload_slots),
            class: PeerClass::Agent,
            ..Self::common(p2p)
        }
    }

    /// An origin: bounded upload slots too. An origin that served every interested
    /// agent at once split its rate N ways, so each piece stayed in flight N times
    /// longer and agents, unaware of each other's requests, asked it for the same
    /// pieces: at N=50 it sent 1.29·F. With slots (rotated by the optimistic unchoke)
    /// it sent 1.15·F and the swarm finished 10% sooner (docs/benchmarks.md). Origins
    /// also super-seed (BEP 16, `torrent::super_seed`): the class enables it.
    pub fn origin(p2p: P2pConfig) -> Self {
        Self {
            class: PeerClass::Origin,
            ..Self::agent(p2p)
        }
    }

    fn common(p2p: P2pConfig) -> Self {
        Self {
            p2p,
            upload_slots: UploadSlots::Unlimited,
            class: PeerClass::Agent,
            handshake_timeout: Duration::from_secs(10),
            choke_interval: Duration::from_secs(10),
            tracker_health: HealthPolicy::default(),
            tracker_tls: None,
            zone: None,
            rack: None,
            reveal_order: RevealOrder::default(),
        }
    }

    /// The same settings, announcing `zone` and `rack`. The agent config validates
    /// both names by the announce codec's rule; a name that breaks it anyway is not
    /// announced (and logged), since a tracker would refuse every announce carrying it.
    pub fn with_locality(self, zone: Option<String>, rack: Option<String>) -> Self {
        Self {
            zone: location_name(zone, "zone", Zone::parse),
            rack: location_name(rack, "rack", Rack::parse),
            ..self
        }
    }

    /// The same settings, announcing to `https://` trackers with `tls`.
    pub fn with_tracker_tls(self, tracker_tls: Option<ClientTls>) -> Self {
        Self {
            tracker_tls,
            ..self
        }
    }

    /// The same settings, revealing blobs from the piece `order` gives (origins).
    pub fn with_reveal_order(self, reveal_order: RevealOrder) -> Self {
        Self {
            reveal_order,
            ..self
        }
    }

    /// Bytes per block request: the configured block size, capped by the largest block
    /// any peer serves.
    pub fn block_len(&self) -> u32 {
        let configured = self.p2p.block_size.as_u64().max(1);
        configured.min(u64::from(starling_core::peer_wire::MAX_BLOCK_LEN)) as u32
    }
}

/// `name` as a location name, or `None` (logged) when it breaks [`NAME_RULE`].
fn location_name<T>(name: Option<String>, field: &str, parse: fn(&[u8]) -> Option<T>) -> Option<T> {
    let name = name?;
    let parsed = parse(name.as_bytes());
    if parsed.is_none() {
        tracing::warn!(field, %name, rule = NAME_RULE, "not announcing an invalid location name");
    }
    parsed
}

#[cfg(test)]
mod tests {
    use starling_config::ByteSize;

    use super::*;

    #[test]
    fn locality_names_are_announced_only_when_valid() {
        let placed = EngineSettings::agent(P2pConfig::default())
            .with_locality(Some("us-east-1a".into()), Some("r 12".into()));
        assert_eq!(placed.zone.as_ref().map(Zone::as_str), Some("us-east-1a"));
        assert_eq!(placed.rack, None, "a space breaks the name rule");
    }

    #[test]
    fn agents_and_origins_differ_in_class_only() {
        let agent = EngineSettings::agent(P2pConfig::default());
        assert_eq!(agent.upload_slots, UploadSlots::Limited(8));
        assert_eq!(agent.class, PeerClass::Agent);
        let origin = EngineSettings::origin(P2pConfig::default());
        assert_eq!(origin.upload_slots, UploadSlots::Limited(8));
        assert_eq!(origin.class, PeerClass::Origin);
        assert_eq!(origin.block_len(), 16 * 1024);
        let big = P2pConfig {
            block_size: ByteSize::mib(4),
            ..P2pConfig::default()
        };
        assert_eq!(EngineSettings::agent(big).block_len(), 1 << 20);
    }

    #[test]
    fn owners_start_revealing_spread_over_the_blob() {
        let digest = Digest::of(b"blob");
        let first =
            |rank, owners| RevealOrder::new(move |_| (rank, owners)).first_piece(&digest, 100);
        assert_eq!([first(0, 2), first(1, 2)], [0, 50]);
        assert_eq!([first(0, 3), first(1, 3), first(2, 3)], [0, 33, 66]);
        assert_eq!(first(3, 2), 0, "not an owner: from the start");
        assert_eq!(first(0, 0), 0);
        assert_eq!(RevealOrder::default().first_piece(&digest, 7), 0);
    }
}
