//! The BEP 3 handshake, the first bytes any peer sends. Decoding must never panic; a
//! decoded handshake re-encodes to the same 68 bytes with the reserved bytes zeroed.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use starling_core::peer_wire::{HANDSHAKE_LEN, Handshake, HandshakeCodec};
use tokio_util::codec::{Decoder, Encoder};

fuzz_target!(|data: &[u8]| {
    let mut src = BytesMut::from(data);
    let Ok(Some(handshake)) = HandshakeCodec.decode(&mut src) else {
        return;
    };
    assert_eq!(
        src.len(),
        data.len() - HANDSHAKE_LEN,
        "consumes exactly 68 bytes"
    );
    let mut wire = data[..HANDSHAKE_LEN].to_vec();
    wire[20..28].fill(0);
    let mut encoded = BytesMut::new();
    HandshakeCodec.encode(handshake, &mut encoded).unwrap();
    assert_eq!(&encoded[..], &wire[..]);
    let again = Handshake::from_bytes(&handshake.to_bytes()).unwrap();
    assert_eq!(again.info_hash, handshake.info_hash);
    assert_eq!(again.peer_id, handshake.peer_id);
});
