//! Peer connections: one task per connection, with a span naming the peer.
//!
//! - [`accept`]: the engine's listener loop; reads the remote handshake first and only
//!   answers for an active torrent.
//! - [`dial`]: outgoing connections to addresses from announces.
//! - [`handshake`]: the checks both directions share (info hash, self-connections,
//!   blacklist, duplicate peer ids, connection limit).
//! - [`session`]: the message loop of an established connection, with its block
//!   traffic in `transfer`; [`upload`]: its writer half, which also serves requests.
//! - [`requests`]: the blocks a connection has asked its peer for, with their deadlines;
//!   [`pipeline`]: how much it may ask at once (larger requests between Starling peers).

pub mod accept;
pub mod dial;
pub mod handshake;
pub mod pipeline;
pub mod requests;
pub mod session;
mod transfer;
pub mod upload;

use std::fmt;
use std::net::SocketAddr;

use starling_core::PeerId;

use crate::peer_class::PeerClass;

/// Identifies one connection within an engine; never reused.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConnId(u64);

impl ConnId {
    pub const fn new(id: u64) -> Self {
        Self(id)
    }
}

impl fmt::Display for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

impl fmt::Debug for ConnId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ConnId({})", self.0)
    }
}

/// Who is on the other end of a connection, known once the handshakes are exchanged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerLink {
    pub conn: ConnId,
    pub peer_id: PeerId,
    /// The remote address: the peer's listener for outgoing connections, an ephemeral
    /// port for incoming ones.
    pub addr: SocketAddr,
    /// True if we dialled.
    pub outgoing: bool,
    pub class: Option<PeerClass>,
}
