//! Peer wire messages: whatever a peer sends after its handshake goes through
//! `MessageCodec::decode`. Decoding must never panic, never buffer past the frame limit,
//! and every message it yields must encode back to exactly the bytes it came from.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use starling_core::peer_wire::{Message, MessageCodec};
use tokio_util::codec::{Decoder, Encoder};

/// A small frame limit so the fuzzer reaches the `FrameTooLong` path with short inputs.
const SMALL_LIMIT: u32 = 64;

fuzz_target!(|data: &[u8]| {
    for limit in [
        SMALL_LIMIT,
        starling_core::peer_wire::DEFAULT_MAX_MESSAGE_LEN,
    ] {
        decode_all_and_round_trip(MessageCodec::new(limit), data);
    }
});

fn decode_all_and_round_trip(mut codec: MessageCodec, data: &[u8]) {
    let mut src = BytesMut::from(data);
    loop {
        let before = src.clone();
        let message: Message = match codec.decode(&mut src) {
            Ok(Some(message)) => message,
            Ok(None) | Err(_) => break,
        };
        let consumed = before.len() - src.len();
        let mut encoded = BytesMut::new();
        codec
            .encode(message.clone(), &mut encoded)
            .expect("a decoded message fits the limit it was decoded under");
        assert_eq!(&encoded[..], &before[..consumed], "{message:?}");
        assert!(encoded.len() <= codec.max_message_len() as usize);
        let again = codec.decode(&mut encoded).expect("re-decodes");
        assert_eq!(again, Some(message));
        assert!(encoded.is_empty());
    }
    // A pending partial frame reserves at most the rest of that bounded frame.
    assert!(
        src.capacity() <= 2 * (codec.max_message_len() as usize).max(data.len()) + 64,
        "capacity {} for {} buffered bytes",
        src.capacity(),
        src.len()
    );
}
