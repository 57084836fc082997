//! The BEP 3 HTTP announce: the query a peer sends a tracker and the bencoded answer.
//!
//! One codec for both ends, so agents and trackers cannot drift apart: the p2p engine
//! encodes [`AnnounceRequest`] and decodes [`AnnounceResponse`]; the tracker decodes
//! the request and encodes the response. Each side adds only its own policy on top (the
//! tracker's address rules, the engine's tracker failover). Both decoders read bytes
//! from the network and are fuzzed (`fuzz/fuzz_targets/announce_*.rs`).
//!
//! Layout: [`request`] (the query), [`response`] (the bencoded answer), [`event`],
//! [`location`] (Starling's `zone` / `rack` names), [`percent`] (query-string bytes),
//! [`error`].

pub mod error;
pub mod event;
pub mod location;
pub mod percent;
pub mod request;
pub mod response;

pub use error::{QueryError, ResponseError};
pub use event::Event;
pub use location::{NAME_RULE, Rack, Zone};
pub use request::AnnounceRequest;
pub use response::{AnnounceReply, AnnounceResponse, PeerEntry, Peers};
