//! BEP 3 peer messages and their payload layout, independent of framing.
//!
//! A message on the wire is `<length: u32 BE><id: u8><payload>`; a zero length is a
//! keep-alive with no id. This module knows, per id, the payload size that is legal
//! ([`check_payload_len`]), how to read a checked payload ([`Message::parse`]) and how to
//! write a message ([`Message::encode`]). The length prefix and buffering live in
//! [`super::codec`].
//!
//! Invariant: `parse` is only handed payloads that passed `check_payload_len`, so its
//! fixed-size reads cannot run past the end.

use std::fmt;

use bytes::{Buf, BufMut, Bytes, BytesMut};

use crate::error::{Error, Result};

/// Message ids from BEP 3. Ids from extensions (port, fast, extended) are unknown here
/// on purpose: Starling never advertises those extensions, so a peer must not send them.
mod id {
    pub const CHOKE: u8 = 0;
    pub const UNCHOKE: u8 = 1;
    pub const INTERESTED: u8 = 2;
    pub const NOT_INTERESTED: u8 = 3;
    pub const HAVE: u8 = 4;
    pub const BITFIELD: u8 = 5;
    pub const REQUEST: u8 = 6;
    pub const PIECE: u8 = 7;
    pub const CANCEL: u8 = 8;
}

/// Bytes of the length prefix that starts every frame.
pub const LENGTH_PREFIX_LEN: usize = 4;
/// Bytes of a `piece` message before its block data: length, id, index, begin.
pub const PIECE_HEADER_LEN: usize = LENGTH_PREFIX_LEN + 1 + 8;
/// Bytes of a `request` or `cancel` payload: index, begin, length.
const REQUEST_PAYLOAD_LEN: usize = 12;

/// A request for (or cancellation of) `length` bytes at `begin` within piece `index`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct BlockRequest {
    pub index: u32,
    pub begin: u32,
    pub length: u32,
}

/// The data of one block: `data` starts at byte `begin` of piece `index`.
#[derive(Clone, PartialEq, Eq)]
pub struct Block {
    pub index: u32,
    pub begin: u32,
    pub data: Bytes,
}

impl fmt::Debug for Block {
    // Block data can be a MiB; logs get its length, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Block")
            .field("index", &self.index)
            .field("begin", &self.begin)
            .field("len", &self.data.len())
            .finish()
    }
}

/// One BEP 3 peer message. Piece indices are raw wire numbers, not yet checked against
/// any torrent.
#[derive(Clone, PartialEq, Eq)]
pub enum Message {
    KeepAlive,
    Choke,
    Unchoke,
    Interested,
    NotInterested,
    Have { index: u32 },
    Bitfield(Bytes),
    Request(BlockRequest),
    Piece(Block),
    Cancel(BlockRequest),
}

impl Message {
    /// The message id on the wire; `None` for keep-alive, which has none.
    pub fn id(&self) -> Option<u8> {
        Some(match self {
            Self::KeepAlive => return None,
            Self::Choke => id::CHOKE,
            Self::Unchoke => id::UNCHOKE,
            Self::Interested => id::INTERESTED,
            Self::NotInterested => id::NOT_INTERESTED,
            Self::Have { .. } => id::HAVE,
            Self::Bitfield(_) => id::BITFIELD,
            Self::Request(_) => id::REQUEST,
            Self::Piece(_) => id::PIECE,
            Self::Cancel(_) => id::CANCEL,
        })
    }

    /// The value of the length prefix: id plus payload bytes. A `u64` so that an
    /// oversized bitfield or block cannot wrap around before the codec checks it.
    pub fn length_prefix(&self) -> u64 {
        let payload = match self {
            Self::KeepAlive => return 0,
            Self::Choke | Self::Unchoke | Self::Interested | Self::NotInterested => 0,
            Self::Have { .. } => 4,
            Self::Bitfield(bits) => bits.len(),
            Self::Request(_) | Self::Cancel(_) => REQUEST_PAYLOAD_LEN,
            Self::Piece(block) => 8 + block.data.len(),
        };
        1 + payload as u64
    }

    /// Reads a payload whose size already passed [`check_payload_len`] for `id`.
    /// Block and bitfield bytes are frozen out of `payload` without copying.
    pub(super) fn parse(id: u8, mut payload: BytesMut) -> Result<Self> {
        Ok(match id {
            id::CHOKE => Self::Choke,
            id::UNCHOKE => Self::Unchoke,
            id::INTERESTED => Self::Interested,
            id::NOT_INTERESTED => Self::NotInterested,
            id::HAVE => Self::Have {
                index: payload.get_u32(),
            },
            id::BITFIELD => Self::Bitfield(payload.freeze()),
            id::REQUEST => Self::Request(read_request(&mut payload)),
            id::CANCEL => Self::Cancel(read_request(&mut payload)),
            id::PIECE => Self::Piece(Block {
                index: payload.get_u32(),
                begin: payload.get_u32(),
                data: payload.freeze(),
            }),
            other => return Err(Error::UnknownMessage { id: other }),
        })
    }

    /// Appends the whole frame, length prefix included. The caller has checked
    /// [`Self::length_prefix`] against its limit, so the prefix fits in a `u32`.
    pub(super) fn encode(&self, dst: &mut BytesMut) {
        let length_prefix = self.length_prefix();
        dst.reserve(LENGTH_PREFIX_LEN + length_prefix as usize);
        dst.put_u32(length_prefix as u32);
        let Some(id) = self.id() else { return };
        dst.put_u8(id);
        match self {
            Self::Have { index } => dst.put_u32(*index),
            Self::Bitfield(bits) => dst.extend_from_slice(bits),
            Self::Request(req) | Self::Cancel(req) => write_request(dst, req),
            Self::Piece(block) => {
                dst.put_u32(block.index);
                dst.put_u32(block.begin);
                dst.extend_from_slice(&block.data);
            }
            Self::KeepAlive
            | Self::Choke
            | Self::Unchoke
            | Self::Interested
            | Self::NotInterested => {}
        }
    }
}

impl fmt::Debug for Message {
    // Bitfields run to kilobytes and blocks to a MiB; logs get their sizes only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::KeepAlive => f.write_str("KeepAlive"),
            Self::Choke => f.write_str("Choke"),
            Self::Unchoke => f.write_str("Unchoke"),
            Self::Interested => f.write_str("Interested"),
            Self::NotInterested => f.write_str("NotInterested"),
            Self::Have { index } => write!(f, "Have {{ index: {index} }}"),
            Self::Bitfield(bits) => write!(f, "Bitfield({} bytes)", bits.len()),
            Self::Request(req) => f.debug_tuple("Request").field(req).finish(),
            Self::Piece(block) => f.debug_tuple("Piece").field(block).finish(),
            Self::Cancel(req) => f.debug_tuple("Cancel").field(req).finish(),
        }
    }
}

/// Checks that a payload of `len` bytes (after the id) is legal for message `id`.
/// Needs only the frame header, so a bad frame is rejected before its body is buffered.
pub(super) fn check_payload_len(id: u8, len: usize) -> Result<()> {
    let (ok, expected) = match id {
        id::CHOKE | id::UNCHOKE | id::INTERESTED | id::NOT_INTERESTED => (len == 0, "no payload"),
        id::HAVE => (len == 4, "a 4-byte payload"),
        id::REQUEST | id::CANCEL => (len == REQUEST_PAYLOAD_LEN, "a 12-byte payload"),
        id::PIECE => (len >= 8, "a payload of at least 8 bytes"),
        id::BITFIELD => (true, "any payload"),
        other => return Err(Error::UnknownMessage { id: other }),
    };
    if ok {
        Ok(())
    } else {
        Err(Error::MalformedMessage {
            id,
            reason: format!("payload of {len} bytes, expected {expected}"),
        })
    }
}

fn read_request(payload: &mut BytesMut) -> BlockRequest {
    BlockRequest {
        index: payload.get_u32(),
        begin: payload.get_u32(),
        length: payload.get_u32(),
    }
}

fn write_request(dst: &mut BytesMut, req: &BlockRequest) {
    dst.put_u32(req.index);
    dst.put_u32(req.begin);
    dst.put_u32(req.length);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(msg: &Message) -> Vec<u8> {
        let mut dst = BytesMut::new();
        msg.encode(&mut dst);
        dst.to_vec()
    }

    #[test]
    fn wire_bytes_match_bep3() {
        let cases: Vec<(Message, Vec<u8>)> = vec![
            (Message::KeepAlive, vec![0, 0, 0, 0]),
            (Message::Choke, vec![0, 0, 0, 1, 0]),
            (Message::Unchoke, vec![0, 0, 0, 1, 1]),
            (Message::Interested, vec![0, 0, 0, 1, 2]),
            (Message::NotInterested, vec![0, 0, 0, 1, 3]),
            (
                Message::Have { index: 0x0102_0304 },
                vec![0, 0, 0, 5, 4, 1, 2, 3, 4],
            ),
            (
                Message::Bitfield(Bytes::from_static(&[0xff, 0xc0])),
                vec![0, 0, 0, 3, 5, 0xff, 0xc0],
            ),
            (
                Message::Request(BlockRequest {
                    index: 1,
                    begin: 0x4000,
                    length: 0x4000,
                }),
                vec![0, 0, 0, 0x0d, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0],
            ),
            (
                Message::Piece(Block {
                    index: 2,
                    begin: 0x10,
                    data: Bytes::from_static(b"abc"),
                }),
                vec![
                    0, 0, 0, 0x0c, 7, 0, 0, 0, 2, 0, 0, 0, 0x10, b'a', b'b', b'c',
                ],
            ),
            (
                Message::Cancel(BlockRequest {
                    index: 0xffff_ffff,
                    begin: 0,
                    length: 1,
                }),
                vec![
                    0, 0, 0, 0x0d, 8, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 1,
                ],
            ),
        ];
        for (msg, wire) in cases {
            assert_eq!(encoded(&msg), wire, "{msg:?}");
            assert_eq!(msg.length_prefix() as usize + LENGTH_PREFIX_LEN, wire.len());
        }
    }

    #[test]
    fn payload_sizes_are_checked_per_id() {
        let malformed = [(0, 1), (3, 4), (4, 3), (4, 5), (6, 13), (8, 11), (7, 7)];
        for (id, len) in malformed {
            let err = check_payload_len(id, len).unwrap_err();
            assert!(
                matches!(err, Error::MalformedMessage { id: got, .. } if got == id),
                "id {id} len {len}: {err:?}"
            );
        }
        let legal = [
            (0, 0),
            (4, 4),
            (5, 0),
            (5, 9000),
            (6, 12),
            (7, 8),
            (7, 20),
            (8, 12),
        ];
        for (id, len) in legal {
            check_payload_len(id, len).unwrap();
        }
    }

    #[test]
    fn extension_ids_are_unknown() {
        // port (DHT), fast extension and extended (BEP 10) ids.
        for id in [9, 13, 14, 15, 16, 17, 20, 255] {
            let err = check_payload_len(id, 0).unwrap_err();
            assert!(matches!(err, Error::UnknownMessage { id: got } if got == id));
        }
    }

    #[test]
    fn debug_shows_sizes_not_contents() {
        let piece = Message::Piece(Block {
            index: 1,
            begin: 2,
            data: Bytes::from(vec![7u8; 1000]),
        });
        assert_eq!(
            format!("{piece:?}"),
            "Piece(Block { index: 1, begin: 2, len: 1000 })"
        );
        let bits = Message::Bitfield(Bytes::from(vec![0xffu8; 300]));
        assert_eq!(format!("{bits:?}"), "Bitfield(300 bytes)");
    }
}
