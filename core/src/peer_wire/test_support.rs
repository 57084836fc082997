//! Sample messages shared by the peer wire unit tests.

use bytes::Bytes;

use super::message::{Block, BlockRequest, Message};

/// One message of every kind, with payloads that exercise the byte order; index 9 is a
/// 256-byte piece.
pub(super) fn every_message() -> Vec<Message> {
    let req = BlockRequest {
        index: 0x0102_0304,
        begin: 0x4000,
        length: 0x4000,
    };
    vec![
        Message::KeepAlive,
        Message::Choke,
        Message::Unchoke,
        Message::Interested,
        Message::NotInterested,
        Message::Have { index: 0xdead_beef },
        Message::Bitfield(Bytes::from_static(&[0xff, 0x80])),
        Message::Bitfield(Bytes::new()),
        Message::Request(req),
        Message::Piece(Block {
            index: 7,
            begin: 0x8000,
            data: Bytes::from((0..=255u8).collect::<Vec<_>>()),
        }),
        Message::Piece(Block {
            index: 0,
            begin: 0,
            data: Bytes::new(),
        }),
        Message::Cancel(req),
    ]
}
