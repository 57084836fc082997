//! The BEP 3 peer wire protocol: the handshake, the ten messages and their codecs.
//!
//! A connection starts with a 68-byte [`Handshake`] each way ([`HandshakeCodec`] or
//! [`read_handshake`] / [`write_handshake`]), then carries length-prefixed [`Message`]s
//! ([`MessageCodec`]). See [`io`] for switching from one to the other without losing
//! bytes the peer sent right after its handshake.
//!
//! Scope and invariants:
//! - Only BEP 3. Starling sends reserved bytes of zero and never advertises DHT, peer
//!   exchange or extensions; ids of extension messages decode as `UnknownMessage`.
//! - Piece indices here are the raw `u32`s of the wire. The engine converts them to
//!   `PieceIndex` against its torrent's piece count (and a bitfield payload to a
//!   `Bitfield` with `Bitfield::from_bytes`) before using them.
//! - Decoding never panics and never reserves more than the codec's frame limit, whatever
//!   the peer sends; block data is handed out without copying.

pub mod codec;
pub mod handshake;
pub mod io;
pub mod message;
#[cfg(test)]
mod test_support;

pub use codec::{DEFAULT_MAX_MESSAGE_LEN, MAX_BLOCK_LEN, MessageCodec};
pub use handshake::{HANDSHAKE_LEN, Handshake, HandshakeCodec, PROTOCOL};
pub use io::{into_message_framed, read_handshake, write_handshake};
pub use message::{Block, BlockRequest, Message};
