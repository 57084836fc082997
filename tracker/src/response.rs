//! Bencoded announce responses (BEP 3, BEP 23 compact peers, BEP 7 `peers6`).
//!
//! Success: a dict with `complete`, `incomplete`, `interval`, `min interval` and
//! `peers`: with `compact=1` a byte string of 6 bytes per IPv4 peer (address then
//! port, big-endian) plus `peers6` with 18 bytes per IPv6 peer when there are any;
//! otherwise a list of `{ip, peer id, port}` dicts. Failure: `{failure reason}` sent
//! with HTTP 200, which is what standard clients look for. Keys are emitted in sorted
//! order, as bencode requires.

use std::net::SocketAddr;
use std::time::Duration;

use bendy::encoding::{Encoder, Error as BencodeError, SingleItemEncoder};

use crate::error::{Error, Result};
use crate::store::{HandedPeer, SwarmCounts};

/// A successful announce answer, ready to encode.
#[derive(Debug, Clone, Copy)]
pub struct AnnounceResponse<'a> {
    pub interval: Duration,
    pub min_interval: Duration,
    pub counts: SwarmCounts,
    pub peers: &'a [HandedPeer],
    pub compact: bool,
}

impl AnnounceResponse<'_> {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let mut encoder = Encoder::new();
        encoder
            .emit_dict(|mut dict| {
                dict.emit_pair(b"complete", self.counts.complete)?;
                dict.emit_pair(b"incomplete", self.counts.incomplete)?;
                dict.emit_pair(b"interval", self.interval.as_secs())?;
                dict.emit_pair(b"min interval", self.min_interval.as_secs())?;
                if self.compact {
                    let (v4, v6) = compact_peers(self.peers);
                    dict.emit_pair_with(b"peers", |e| e.emit_bytes(&v4))?;
                    if !v6.is_empty() {
                        dict.emit_pair_with(b"peers6", |e| e.emit_bytes(&v6))?;
                    }
                    Ok(())
                } else {
                    dict.emit_pair_with(b"peers", |e| peer_dicts(e, self.peers))
                }
            })
            .and_then(|()| encoder.get_output())
            .map_err(|e| Error::Encode(e.to_string()))
    }
}

/// `d14:failure reason<len>:<reason>e`.
pub fn encode_failure(reason: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(reason.len() + 24);
    out.extend_from_slice(b"d14:failure reason");
    out.extend_from_slice(reason.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(reason.as_bytes());
    out.push(b'e');
    out
}

/// BEP 23 / BEP 7 compact forms: (IPv4 6-byte entries, IPv6 18-byte entries).
pub fn compact_peers(peers: &[HandedPeer]) -> (Vec<u8>, Vec<u8>) {
    let mut v4 = Vec::with_capacity(peers.len() * 6);
    let mut v6 = Vec::new();
    for peer in peers {
        match peer.addr {
            SocketAddr::V4(addr) => {
                v4.extend_from_slice(&addr.ip().octets());
                v4.extend_from_slice(&addr.port().to_be_bytes());
            }
            SocketAddr::V6(addr) => {
                v6.extend_from_slice(&addr.ip().octets());
                v6.extend_from_slice(&addr.port().to_be_bytes());
            }
        }
    }
    (v4, v6)
}

fn peer_dicts(
    encoder: SingleItemEncoder,
    peers: &[HandedPeer],
) -> std::result::Result<(), BencodeError> {
    encoder.emit_list(|list| {
        for peer in peers {
            list.emit_dict(|mut dict| {
                dict.emit_pair(b"ip", peer.addr.ip().to_string())?;
                dict.emit_pair_with(b"peer id", |e| e.emit_bytes(peer.peer_id.as_bytes()))?;
                dict.emit_pair(b"port", peer.addr.port())
            })?;
        }
        Ok(())
    })
}

#[cfg(test)]
mod tests {
    use starling_core::PeerId;

    use super::*;

    fn peer(n: u8, addr: &str) -> HandedPeer {
        HandedPeer {
            peer_id: PeerId::from_bytes([n; 20]),
            addr: addr.parse().unwrap(),
        }
    }

    fn response(peers: &[HandedPeer], compact: bool) -> Vec<u8> {
        AnnounceResponse {
            interval: Duration::from_secs(30),
            min_interval: Duration::from_secs(15),
            counts: SwarmCounts {
                complete: 2,
                incomplete: 1,
            },
            peers,
            compact,
        }
        .encode()
        .unwrap()
    }

    #[test]
    fn compact_entries_are_address_then_big_endian_port() {
        let peers = [
            peer(1, "10.1.2.3:6881"),
            peer(2, "[2001:db8::1]:443"),
            peer(3, "255.0.0.1:1"),
        ];
        let (v4, v6) = compact_peers(&peers);
        assert_eq!(v4, [10, 1, 2, 3, 0x1a, 0xe1, 255, 0, 0, 1, 0, 1]);
        let mut expected_v6 = vec![0x20, 0x01, 0x0d, 0xb8];
        expected_v6.extend_from_slice(&[0; 11]);
        expected_v6.extend_from_slice(&[1, 0x01, 0xbb]);
        assert_eq!(v6, expected_v6);
    }

    #[test]
    fn compact_response_bytes() {
        let body = response(&[peer(1, "127.0.0.1:258")], true);
        assert_eq!(
            body,
            b"d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e5:peers6:\x7f\x00\x00\x01\x01\x02e"
        );
        let with_v6 = response(&[peer(1, "[::1]:258")], true);
        let tail = b"5:peers0:6:peers618:\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x01\x02e";
        assert!(
            with_v6.ends_with(tail),
            "{}",
            String::from_utf8_lossy(&with_v6)
        );
    }

    #[test]
    fn non_compact_response_lists_peer_dicts() {
        let body = response(&[peer(b'a', "10.0.0.1:80")], false);
        let expected = format!(
            "d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e5:peersld2:ip8:10.0.0.17:peer id20:{}4:porti80eeee",
            "a".repeat(20)
        );
        assert_eq!(String::from_utf8(body).unwrap(), expected);
    }

    #[test]
    fn failure_is_a_one_key_dict() {
        assert_eq!(
            encode_failure("missing port"),
            b"d14:failure reason12:missing porte"
        );
    }
}
