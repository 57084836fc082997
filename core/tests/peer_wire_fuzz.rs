//! Seeded random input against the peer wire decoders: 20,000 buffers each for the
//! message codec and the handshake codec. Properties checked on every buffer:
//! no panic; the read buffer's capacity stays within what the input and the frame limit
//! explain (a length prefix is never trusted past the limit); and every message decoded
//! re-encodes to exactly the bytes it consumed, so garbage never becomes a wrong message.

use bytes::{BufMut, BytesMut};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use starling_core::Error;
use starling_core::peer_wire::{HANDSHAKE_LEN, HandshakeCodec, Message, MessageCodec, PROTOCOL};
use tokio_util::codec::{Decoder, Encoder};

const BUFFERS: usize = 20_000;
const SMALL_LIMIT: u32 = 256;

/// Random bytes, or a run of frames with plausible headers (lengths near zero or near
/// the limit, ids around the known range) and random bodies, which reach deeper paths.
fn random_input(rng: &mut StdRng, limit: u32) -> Vec<u8> {
    let mut out = Vec::new();
    if rng.random_bool(0.3) {
        out.resize(rng.random_range(0..600), 0);
        rng.fill(&mut out[..]);
        return out;
    }
    for _ in 0..rng.random_range(1..6) {
        let length: u32 = match rng.random_range(0..4) {
            0 => rng.random_range(0..20),
            1 => limit.saturating_sub(rng.random_range(0..8)),
            2 => limit.saturating_add(rng.random_range(0..8)),
            _ => rng.random(),
        };
        out.put_u32(length);
        out.put_u8(rng.random_range(0..12));
        let mut body = vec![0u8; rng.random_range(0..(length as usize).min(300) + 1)];
        rng.fill(&mut body[..]);
        out.extend_from_slice(&body);
    }
    out
}

/// What the decoder made of the inputs, so the test can show that the generator reaches
/// every outcome rather than bouncing off the first check.
#[derive(Debug, Default)]
struct Tally {
    messages: usize,
    pieces: usize,
    too_long: usize,
    unknown: usize,
    malformed: usize,
    cut_short: usize,
}

/// Feeds `input` to `codec` in random chunks, as a socket would, until an error or the
/// end of input; checks the properties described in the module header.
fn feed(rng: &mut StdRng, codec: &mut MessageCodec, input: &[u8], tally: &mut Tally) {
    let limit = codec.max_message_len() as usize;
    let bound = 2 * (input.len() + limit) + 64;
    let mut buf = BytesMut::new();
    let mut rest = input;
    loop {
        let take = rng.random_range(0..=rest.len().min(100));
        buf.extend_from_slice(&rest[..take]);
        rest = &rest[take..];
        let at_end = rest.is_empty();
        loop {
            let before = buf.clone().freeze();
            let result = if at_end {
                codec.decode_eof(&mut buf)
            } else {
                codec.decode(&mut buf)
            };
            assert!(buf.capacity() <= bound, "capacity {}", buf.capacity());
            match result {
                Ok(Some(msg)) => {
                    let consumed = before.len() - buf.len();
                    let mut again = BytesMut::new();
                    codec.encode(msg.clone(), &mut again).unwrap();
                    assert_eq!(&again[..], &before[..consumed], "{msg:?}");
                    tally.messages += 1;
                    tally.pieces += usize::from(matches!(msg, Message::Piece(_)));
                }
                Ok(None) => break,
                Err(err) => return tally.count_error(err),
            }
        }
        if at_end {
            return;
        }
    }
}

impl Tally {
    fn count_error(&mut self, err: Error) {
        let counter = match err {
            Error::FrameTooLong { .. } => &mut self.too_long,
            Error::UnknownMessage { .. } => &mut self.unknown,
            Error::MalformedMessage { .. } => &mut self.malformed,
            Error::Io(_) => &mut self.cut_short,
            other => panic!("unexpected error {other:?}"),
        };
        *counter += 1;
    }
}

#[test]
fn random_buffers_never_panic_overallocate_or_misdecode() {
    let mut rng = StdRng::seed_from_u64(0x5354_4152);
    let mut tally = Tally::default();
    for i in 0..BUFFERS {
        let mut codec = if i % 2 == 0 {
            MessageCodec::new(SMALL_LIMIT)
        } else {
            MessageCodec::default()
        };
        let input = random_input(&mut rng, codec.max_message_len());
        feed(&mut rng, &mut codec, &input, &mut tally);
    }
    let Tally {
        messages,
        pieces,
        too_long,
        unknown,
        malformed,
        cut_short,
    } = tally;
    assert!(
        [messages, pieces, too_long, unknown, malformed, cut_short]
            .iter()
            .all(|&n| n > 100),
        "{tally:?}"
    );
}

#[test]
fn random_handshakes_never_panic_and_decode_only_the_protocol() {
    let mut rng = StdRng::seed_from_u64(0x4853);
    for _ in 0..BUFFERS {
        let mut input = vec![0u8; rng.random_range(0..100)];
        rng.fill(&mut input[..]);
        if rng.random_bool(0.5) && input.len() >= 20 {
            input[0] = 19;
            input[1..20].copy_from_slice(PROTOCOL);
        }
        let mut buf = BytesMut::from(&input[..]);
        match HandshakeCodec.decode(&mut buf) {
            Ok(Some(hs)) => {
                assert_eq!(&input[..20], b"\x13BitTorrent protocol");
                assert_eq!(&input[20..28], &hs.reserved);
                assert_eq!(&input[28..48], hs.info_hash.as_bytes());
                assert_eq!(&input[48..68], hs.peer_id.as_bytes());
                assert_eq!(buf.len(), input.len() - HANDSHAKE_LEN);
            }
            Ok(None) => assert!(input.len() < HANDSHAKE_LEN),
            Err(err) => assert!(matches!(err, Error::BadHandshake { .. }), "{err:?}"),
        }
        assert!(buf.capacity() <= 2 * input.len().max(HANDSHAKE_LEN));
    }
}
