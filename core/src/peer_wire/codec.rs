//! Length-prefixed framing of peer messages for `tokio_util::codec::Framed`.
//!
//! Limits hold before memory is committed: a length prefix over the codec's maximum
//! fails with `FrameTooLong` before anything is reserved, and an unknown id or a payload
//! size that does not fit its id fails as soon as the 5-byte header is in, before the
//! body is buffered. A partial frame reserves at most the rest of that (bounded) frame.
//! A frame cut short by end of stream is an error from tokio-util's default
//! `decode_eof` ("bytes remaining on stream", as `Error::Io`).
//!
//! After any error the stream is out of sync: the codec does not skip the bad frame and
//! the connection must be dropped (`Framed` ends the stream after an error anyway).

use bytes::{Buf, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use super::message::{LENGTH_PREFIX_LEN, Message, PIECE_HEADER_LEN, check_payload_len};
use crate::error::{Error, Result};

/// The largest block Starling serves or requests: 1 MiB. Standard clients ask 16 KiB.
pub const MAX_BLOCK_LEN: u32 = 1 << 20;
/// Default frame limit: exactly a `piece` message carrying a [`MAX_BLOCK_LEN`] block.
pub const DEFAULT_MAX_MESSAGE_LEN: u32 = MAX_BLOCK_LEN + PIECE_HEADER_LEN as u32;

/// Encodes and decodes [`Message`]s, refusing frames longer than `max_message_len`
/// bytes. The limit counts the whole frame, 4-byte length prefix included, and applies
/// to both directions so Starling never sends what it would refuse.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MessageCodec {
    max_message_len: u32,
}

impl MessageCodec {
    pub fn new(max_message_len: u32) -> Self {
        Self { max_message_len }
    }

    pub fn max_message_len(&self) -> u32 {
        self.max_message_len
    }

    fn too_long(&self, length: u64) -> Error {
        Error::FrameTooLong {
            length,
            max: u64::from(self.max_message_len),
        }
    }

    /// The whole frame length announced by the prefix at the front of `src`, checked
    /// against the limit; `None` until the prefix is in.
    fn frame_len(&self, src: &mut BytesMut) -> Result<Option<usize>> {
        let Some(prefix) = src.first_chunk::<LENGTH_PREFIX_LEN>() else {
            src.reserve(LENGTH_PREFIX_LEN - src.len());
            return Ok(None);
        };
        let frame_len = u64::from(u32::from_be_bytes(*prefix)) + LENGTH_PREFIX_LEN as u64;
        if frame_len > u64::from(self.max_message_len) {
            return Err(self.too_long(frame_len));
        }
        // Bounded by a u32 limit above, so this fits in usize.
        Ok(Some(frame_len as usize))
    }
}

impl Default for MessageCodec {
    fn default() -> Self {
        Self::new(DEFAULT_MAX_MESSAGE_LEN)
    }
}

impl Decoder for MessageCodec {
    type Item = Message;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Message>> {
        let Some(frame_len) = self.frame_len(src)? else {
            return Ok(None);
        };
        if frame_len == LENGTH_PREFIX_LEN {
            src.advance(LENGTH_PREFIX_LEN);
            return Ok(Some(Message::KeepAlive));
        }
        let Some(&id) = src.get(LENGTH_PREFIX_LEN) else {
            src.reserve(1);
            return Ok(None);
        };
        check_payload_len(id, frame_len - LENGTH_PREFIX_LEN - 1)?;
        if src.len() < frame_len {
            src.reserve(frame_len - src.len());
            return Ok(None);
        }
        // split_to hands the frame's bytes over without copying; block data is then
        // frozen out of them, so a piece is never copied on the way in.
        let mut frame = src.split_to(frame_len);
        frame.advance(LENGTH_PREFIX_LEN + 1);
        Message::parse(id, frame).map(Some)
    }
}

impl Encoder<Message> for MessageCodec {
    type Error = Error;

    fn encode(&mut self, message: Message, dst: &mut BytesMut) -> Result<()> {
        let frame_len = message.length_prefix() + LENGTH_PREFIX_LEN as u64;
        if frame_len > u64::from(self.max_message_len) {
            return Err(self.too_long(frame_len));
        }
        message.encode(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use bytes::{BufMut, Bytes};

    use super::*;
    use crate::peer_wire::message::Block;
    use crate::peer_wire::test_support::every_message;

    fn encode_all(messages: &[Message]) -> BytesMut {
        let mut buf = BytesMut::new();
        for msg in messages {
            MessageCodec::default()
                .encode(msg.clone(), &mut buf)
                .unwrap();
        }
        buf
    }

    fn decode_all(codec: &mut MessageCodec, buf: &mut BytesMut) -> Vec<Message> {
        std::iter::from_fn(|| codec.decode(buf).unwrap()).collect()
    }

    #[test]
    fn every_message_round_trips() {
        let messages = every_message();
        let mut buf = encode_all(&messages);
        assert_eq!(decode_all(&mut MessageCodec::default(), &mut buf), messages);
        assert!(buf.is_empty());
    }

    #[test]
    fn byte_by_byte_feeding_yields_the_same_messages() {
        let messages = every_message();
        let wire = encode_all(&messages);
        let (mut codec, mut fed, mut got) = (MessageCodec::default(), BytesMut::new(), vec![]);
        for &byte in wire.iter() {
            fed.put_u8(byte);
            got.extend(decode_all(&mut codec, &mut fed));
        }
        assert_eq!(got, messages);
        assert_eq!(codec.decode_eof(&mut fed).unwrap(), None);
    }

    #[test]
    fn truncation_at_every_offset_is_pending_then_an_eof_error() {
        let messages = every_message();
        let wire = encode_all(&messages).freeze();
        let boundaries: Vec<usize> = messages
            .iter()
            .scan(0, |end, m| {
                *end += m.length_prefix() as usize + LENGTH_PREFIX_LEN;
                Some(*end)
            })
            .collect();
        for cut in 0..wire.len() {
            let mut codec = MessageCodec::default();
            let mut buf = BytesMut::from(&wire[..cut]);
            let got = decode_all(&mut codec, &mut buf);
            let complete = boundaries.iter().filter(|&&end| end <= cut).count();
            assert_eq!(got, messages[..complete], "cut at {cut}");
            match codec.decode_eof(&mut buf) {
                Ok(None) if boundaries.contains(&cut) || cut == 0 => {}
                Err(Error::Io(err)) if !buf.is_empty() => {
                    assert!(err.to_string().contains("bytes remaining"), "{err}");
                }
                other => panic!("cut at {cut}: unexpected {other:?}"),
            }
        }
    }

    #[test]
    fn piece_data_is_not_copied() {
        let mut buf = encode_all(&every_message()[9..10]);
        let wire = buf.as_ptr_range();
        let Some(Message::Piece(block)) = MessageCodec::default().decode(&mut buf).unwrap() else {
            panic!("expected a piece");
        };
        assert!(wire.contains(&block.data.as_ptr()));
        assert_eq!(block.data.len(), 256);
    }

    #[test]
    fn default_limit_fits_exactly_a_max_block() {
        let block = |len: u32| {
            Message::Piece(Block {
                index: 0,
                begin: 0,
                data: Bytes::from(vec![0u8; len as usize]),
            })
        };
        let mut codec = MessageCodec::default();
        let mut buf = BytesMut::new();
        codec.encode(block(MAX_BLOCK_LEN), &mut buf).unwrap();
        assert_eq!(buf.len(), DEFAULT_MAX_MESSAGE_LEN as usize);
        assert_eq!(codec.decode(&mut buf).unwrap(), Some(block(MAX_BLOCK_LEN)));

        let err = codec
            .encode(block(MAX_BLOCK_LEN + 1), &mut buf)
            .unwrap_err();
        assert!(matches!(err, Error::FrameTooLong { .. }), "{err:?}");
        assert!(buf.is_empty());
    }

    #[test]
    fn an_oversized_prefix_fails_before_any_reserve() {
        let mut codec = MessageCodec::new(64);
        for prefix in [61, 1 << 20, u32::MAX] {
            let mut buf = BytesMut::with_capacity(8);
            buf.put_u32(prefix);
            let err = codec.decode(&mut buf).unwrap_err();
            assert!(
                matches!(err, Error::FrameTooLong { length, max: 64 } if length == u64::from(prefix) + 4)
            );
            assert_eq!(buf.capacity(), 8);
        }
        let mut at_limit = BytesMut::new();
        at_limit.put_u32(60);
        at_limit.put_u8(5);
        assert_eq!(codec.decode(&mut at_limit).unwrap(), None);
    }

    #[test]
    fn a_partial_frame_reserves_only_that_frame() {
        let mut buf = BytesMut::new();
        buf.put_u32(1001);
        buf.put_u8(5);
        assert_eq!(MessageCodec::default().decode(&mut buf).unwrap(), None);
        assert!(buf.capacity() >= 1005, "capacity {}", buf.capacity());
        assert!(buf.capacity() <= 2 * 1005, "capacity {}", buf.capacity());
    }

    #[test]
    fn wrong_sizes_fail_once_the_header_is_in() {
        // (length prefix, id): have with 3 bytes, request with 13, piece shorter than
        // 8, choke with a payload, cancel with 11.
        for (length, id) in [(4, 4), (14, 6), (8, 7), (2, 0), (12, 8)] {
            let mut buf = BytesMut::new();
            buf.put_u32(length);
            buf.put_u8(id);
            let err = MessageCodec::default().decode(&mut buf).unwrap_err();
            assert!(
                matches!(err, Error::MalformedMessage { id: got, .. } if got == id),
                "{err:?}"
            );
        }
    }

    #[test]
    fn unknown_ids_fail() {
        for id in [9u8, 20, 255] {
            let mut buf = BytesMut::from(&[0, 0, 0, 1, id][..]);
            let err = MessageCodec::default().decode(&mut buf).unwrap_err();
            assert!(matches!(err, Error::UnknownMessage { id: got } if got == id));
        }
    }
}
