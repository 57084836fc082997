//! The Starling tracker: a BitTorrent HTTP tracker (BEP 3, BEP 23 compact peers) that
//! keeps its peer store in memory and rebuilds it from announces.
//!
//! Layout, top-down: [`server`] (routes, `run`, shutdown order) -> [`handlers`] (thin
//! HTTP wrappers) -> [`state`] (the announce service: parse, store, hand out, encode)
//! -> [`request`] / [`query`] (pure parsing), [`store`] (sharded peer store),
//! [`handout`] (pure ordering), [`response`] (bencoding), plus [`metrics`], the
//! [`sweep`] maintenance loop (started through `starling_runtime::spawn_named`).

pub mod error;
pub mod handlers;
pub mod handout;
pub mod locality;
pub mod metrics;
pub mod query;
pub mod request;
pub mod response;
pub mod server;
pub mod state;
pub mod store;
pub mod sweep;

pub use error::{Error, Result};
pub use request::{AnnounceRequest, Event};
pub use server::{router, run};
pub use state::{AnnounceSettings, TrackerState};
pub use store::{PeerStore, StoreLimits};
