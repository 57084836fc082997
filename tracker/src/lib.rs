//! The Starling tracker: a BitTorrent HTTP tracker (BEP 3, BEP 23 compact peers) that
//! keeps its peer store in memory and rebuilds it from announces, and serves each
//! blob's `.torrent`, fetched from the origins and cached.
//!
//! Layout, top-down: [`server`] (routes, `run`, shutdown order) -> [`handlers`] (thin
//! HTTP wrappers) -> [`state`] (the announce service: parse, store, hand out, encode)
//! -> [`request`] (the decoded announce plus the address policy), [`store`] (sharded
//! peer store), [`handout`] (pure ordering), [`response`] (the answer), plus [`metrics`], the
//! [`sweep`] maintenance loop (started through `starling_runtime::spawn_named`).
//!
//! Metainfo: [`metainfo`] (the lookup service) over [`cache`] (expiring, bounded),
//! `starling_runtime::SingleFlight` (one origin request per key) and [`ring`] (which tracker owns a
//! blob's swarm, by digest; agents build the same ring); [`origin_seeds`] remembers
//! which origins seed the swarms whose metainfo was served here, so announces hand
//! origins out without origins announcing; [`api_error`] maps its failures to registry errors
//! (`starling_runtime::ApiError`).
//!
//! The announce query and response themselves are encoded and decoded by the codec
//! agents use too, `starling_core::announce`.
//!
//! Every route is documented in `docs/tracker-api.md`.

pub mod address;
pub mod api_error;
pub mod cache;
pub mod error;
pub mod handlers;
pub mod handout;
pub mod locality;
pub mod metainfo;
pub mod metrics;
pub mod origin_seeds;
pub mod request;
pub mod response;
pub mod ring;
pub mod server;
pub mod state;
pub mod store;
pub mod sweep;

pub use address::AddressPolicy;
pub use error::{Error, Result};
pub use metainfo::{MetainfoService, MetainfoSettings};
pub use request::PeerAnnounce;
pub use ring::TrackerRing;
pub use server::{router, run};
pub use starling_core::announce::Event;
pub use state::{AnnounceSettings, TrackerState};
pub use store::{OriginSeed, PeerStore, StoreLimits};
