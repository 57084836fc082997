//! The BEP 3 handshake: the fixed 68 bytes each side sends first on a peer connection.
//!
//! Layout: `pstrlen = 19`, `"BitTorrent protocol"`, 8 reserved bytes, the 20-byte info
//! hash, the 20-byte peer id. A wrong protocol string is rejected as soon as the bytes
//! that show it arrive, without waiting for the rest.
//!
//! Invariant: Starling's outgoing handshakes carry reserved bytes of all zero, whatever
//! the `reserved` field says, so Starling never advertises DHT, peer exchange, the fast
//! extension or the extension protocol (BEP 5, 6, 10, 11). A peer's reserved bits are
//! kept for diagnostics and otherwise ignored.

use bytes::{BufMut, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

use crate::error::{Error, Result};
use crate::info_hash::InfoHash;
use crate::peer_id::PeerId;

/// The protocol string of BEP 3; its length (19) is the handshake's first byte.
pub const PROTOCOL: &[u8; 19] = b"BitTorrent protocol";
/// Total size of a handshake on the wire.
pub const HANDSHAKE_LEN: usize = 68;
/// Bytes that hold `pstrlen` and the protocol string: enough to reject a non-BitTorrent
/// peer.
pub(super) const PROTOCOL_PREFIX_LEN: usize = 1 + PROTOCOL.len();
/// The reserved bytes Starling sends: no extension bits at all.
const STARLING_RESERVED: [u8; 8] = [0; 8];

/// A decoded handshake.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Handshake {
    /// Reserved (extension) bits as received. Ignored when encoding: Starling always
    /// sends zeros.
    pub reserved: [u8; 8],
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
}

impl Handshake {
    /// Starling's handshake for a torrent: no extension bits.
    pub fn new(info_hash: InfoHash, peer_id: PeerId) -> Self {
        Self {
            reserved: STARLING_RESERVED,
            info_hash,
            peer_id,
        }
    }

    /// The 68 wire bytes, with the reserved bytes zeroed (see the module invariant).
    pub fn to_bytes(&self) -> [u8; HANDSHAKE_LEN] {
        let mut out = [0u8; HANDSHAKE_LEN];
        let mut dst = &mut out[..];
        dst.put_u8(PROTOCOL.len() as u8);
        dst.put_slice(PROTOCOL);
        dst.put_slice(&STARLING_RESERVED);
        dst.put_slice(self.info_hash.as_bytes());
        dst.put_slice(self.peer_id.as_bytes());
        out
    }

    /// Parses 68 wire bytes; any reserved bits are accepted.
    pub fn from_bytes(bytes: &[u8; HANDSHAKE_LEN]) -> Result<Self> {
        check_protocol_prefix(bytes)?;
        let (reserved, ids) = bytes[PROTOCOL_PREFIX_LEN..].split_at(8);
        let (info_hash, peer_id) = ids.split_at(20);
        Ok(Self {
            reserved: reserved.try_into().expect("split_at(8) yields 8 bytes"),
            info_hash: InfoHash::from_slice(info_hash)?,
            peer_id: PeerId::from_slice(peer_id)?,
        })
    }
}

/// Checks as much of `pstrlen` + protocol string as `bytes` holds (extra bytes are
/// ignored), so a partial read can already be rejected.
pub(super) fn check_protocol_prefix(bytes: &[u8]) -> Result<()> {
    let seen = &bytes[..bytes.len().min(PROTOCOL_PREFIX_LEN)];
    match seen.split_first() {
        None => Ok(()),
        Some((&pstrlen, _)) if usize::from(pstrlen) != PROTOCOL.len() => Err(Error::BadHandshake {
            reason: format!("protocol string length {pstrlen}, expected 19"),
        }),
        Some((_, pstr)) if !PROTOCOL.starts_with(pstr) => Err(Error::BadHandshake {
            reason: format!(
                "protocol string starts {:?}, expected \"BitTorrent protocol\"",
                String::from_utf8_lossy(pstr)
            ),
        }),
        Some(_) => Ok(()),
    }
}

/// Frames exactly one handshake. After it, switch the connection to
/// [`super::MessageCodec`] with [`super::into_message_framed`], which keeps any bytes
/// already read past the handshake.
#[derive(Clone, Copy, Debug, Default)]
pub struct HandshakeCodec;

impl Decoder for HandshakeCodec {
    type Item = Handshake;
    type Error = Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Handshake>> {
        check_protocol_prefix(src)?;
        if src.len() < HANDSHAKE_LEN {
            src.reserve(HANDSHAKE_LEN - src.len());
            return Ok(None);
        }
        let frame = src.split_to(HANDSHAKE_LEN);
        let bytes: &[u8; HANDSHAKE_LEN] = frame[..].try_into().expect("split to 68 bytes");
        Handshake::from_bytes(bytes).map(Some)
    }
}

impl Encoder<Handshake> for HandshakeCodec {
    type Error = Error;

    fn encode(&mut self, handshake: Handshake, dst: &mut BytesMut) -> Result<()> {
        dst.extend_from_slice(&handshake.to_bytes());
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Handshake {
        Handshake::new(
            InfoHash::from_bytes([0xaa; 20]),
            PeerId::from_bytes(*b"-SL0100-abcdefghijkl"),
        )
    }

    fn wire(reserved: [u8; 8]) -> Vec<u8> {
        let mut bytes = vec![19];
        bytes.extend_from_slice(b"BitTorrent protocol");
        bytes.extend_from_slice(&reserved);
        bytes.extend_from_slice(&[0xaa; 20]);
        bytes.extend_from_slice(b"-SL0100-abcdefghijkl");
        bytes
    }

    #[test]
    fn wire_bytes_match_bep3() {
        assert_eq!(sample().to_bytes().to_vec(), wire([0; 8]));
    }

    #[test]
    fn round_trips_whole_and_byte_by_byte() {
        let mut codec = HandshakeCodec;
        let mut buf = BytesMut::new();
        codec.encode(sample(), &mut buf).unwrap();
        assert_eq!(codec.decode(&mut buf.clone()).unwrap(), Some(sample()));

        let mut fed = BytesMut::new();
        for (i, &byte) in buf.iter().enumerate() {
            fed.put_u8(byte);
            let decoded = codec.decode(&mut fed).unwrap();
            assert_eq!(
                decoded.is_some(),
                i + 1 == HANDSHAKE_LEN,
                "after {} bytes",
                i + 1
            );
        }
        assert!(fed.is_empty());
    }

    #[test]
    fn peer_reserved_bits_are_accepted_but_never_sent() {
        // DHT (0x01 in byte 7) and extension protocol (0x10 in byte 5) bits set.
        let reserved = [0, 0, 0, 0, 0, 0x10, 0, 0x05];
        let mut buf = BytesMut::from(&wire(reserved)[..]);
        let got = HandshakeCodec.decode(&mut buf).unwrap().unwrap();
        assert_eq!(got.reserved, reserved);
        assert_eq!(got.info_hash, sample().info_hash);
        assert_eq!(&got.to_bytes()[20..28], &[0; 8]);
    }

    #[test]
    fn bad_protocol_is_rejected_as_soon_as_it_shows() {
        let mut wrong_len = BytesMut::from(&[18u8][..]);
        assert!(matches!(
            HandshakeCodec.decode(&mut wrong_len),
            Err(Error::BadHandshake { .. })
        ));
        let mut wrong_pstr = BytesMut::from(&b"\x13BitTorrent protocoX"[..]);
        let err = HandshakeCodec.decode(&mut wrong_pstr).unwrap_err();
        assert!(err.to_string().contains("protocoX"), "{err}");
        let mut http = BytesMut::from(&b"\x13GET / HTTP/1.1"[..]);
        assert!(HandshakeCodec.decode(&mut http).is_err());
    }

    #[test]
    fn leaves_following_bytes_in_the_buffer() {
        let mut buf = BytesMut::from(&wire([0; 8])[..]);
        buf.extend_from_slice(&[0, 0, 0, 1, 2]);
        assert!(HandshakeCodec.decode(&mut buf).unwrap().is_some());
        assert_eq!(&buf[..], &[0, 0, 0, 1, 2]);
    }
}
