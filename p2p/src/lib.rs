//! The BitTorrent engine shared by Starling agents and origins.
//!
//! Peers exchange pieces over the standard BEP 3 peer wire protocol, introduced by HTTP
//! trackers (BEP 3 announces with BEP 23 compact peers). There is no central scheduler:
//! every connection decides for itself what to request (reader windows first, then
//! rarest first with random tie-breaks, then an endgame), every torrent decides whom to
//! upload to (choking with bounded slots, origins included). Starling never
//! does DHT, PEX, local peer discovery, UPnP or NAT-PMP and sets no extension bits, so
//! a plain BEP 3 client (16 KiB requests, its own bitfield and haves) interoperates.
//!
//! Agents get metainfo from the trackers ([`TrackerMetaInfo`]); origins seed on demand
//! through an [`InboundResolver`] and, given no trackers, never announce (trackers list
//! them from the origin ring).
//!
//! Trust: the metainfo comes from a trusted source ([`MetaInfoSource`]); every piece is
//! checked against its SHA-1 before it is written, the whole blob against its sha256
//! before it enters the store, and a peer that sends a bad piece is banned for a while.
//!
//! Layout, top-down: [`engine`] (the public handle) -> [`registry`] (torrents by info hash
//! and digest) -> [`torrent`] (one swarm: state, driver, verification) ->
//! [`connection`] (accept, dial, handshake, session, upload) -> the pure parts:
//! [`picker`], [`choker`], [`rate_limit`], [`blacklist`], [`blame`] (who answers for a
//! bad piece), [`eviction`] (who gives up a connection slot), [`announce`] (tracker
//! client, ring and failover). [`stream`] turns a torrent into an in-order byte stream.

pub mod announce;
pub mod blacklist;
pub mod blame;
pub mod choker;
pub mod connection;
pub mod context;
pub mod engine;
pub mod error;
pub mod eviction;
pub mod inbound;
pub mod metainfo_source;
pub mod metrics;
pub mod picker;
pub mod progress;
pub mod rate_limit;
pub mod registry;
pub mod settings;
pub mod stream;
pub mod torrent;
pub mod tracker_metainfo;

pub use announce::{AnnounceReply, AnnounceRequest, Announcer, HealthPolicy, TrackerUrl};
pub use choker::UploadSlots;
pub use engine::{Engine, EngineParts};
pub use error::{Error, PeerError, Result};
pub use inbound::InboundResolver;
pub use metainfo_source::{MemoryMetaInfo, MetaInfoSource};
pub use metrics::EngineStats;
pub use progress::{Progress, TorrentPhase};
pub use settings::{EngineSettings, RevealOrder};
/// Peer classes live in core (a wire-level fact the tracker reads too); re-exported so
/// `starling_p2p::peer_class::PeerClass` and `starling_p2p::PeerClass` keep working.
pub use starling_core::peer_class;
pub use starling_core::peer_class::PeerClass;
pub use stream::BlobStream;
pub use tracker_metainfo::{TrackerMetaInfo, TrackerMetaInfoError};
