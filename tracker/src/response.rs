//! The tracker's announce answers, bencoded by the shared codec
//! ([`starling_core::announce::AnnounceResponse`]; BEP 3, BEP 23 compact peers, BEP 7
//! `peers6`).
//!
//! Success: `complete`, `incomplete`, `interval`, `min interval` and `peers`: with
//! `compact=1` IPv4 peers as 6-byte entries plus `peers6` when there are IPv6 peers;
//! otherwise a list of `{ip, peer id, port}` dicts. Failure: `{failure reason}` sent
//! with HTTP 200, which is what standard clients look for.

use std::time::Duration;

use starling_core::announce::{AnnounceReply, AnnounceResponse, PeerEntry, Peers};

use crate::error::{Error, Result};
use crate::store::{HandedPeer, SwarmCounts};

/// A successful announce answer, ready to encode.
#[derive(Debug, Clone, Copy)]
pub struct TrackerReply<'a> {
    pub interval: Duration,
    pub min_interval: Duration,
    pub counts: SwarmCounts,
    pub peers: &'a [HandedPeer],
    pub compact: bool,
}

impl TrackerReply<'_> {
    pub fn encode(&self) -> Result<Vec<u8>> {
        let (peers, peers6) = if self.compact {
            AnnounceReply::compact_peers(self.peers.iter().map(|peer| peer.addr))
        } else {
            let entries = self.peers.iter().map(|peer| PeerEntry {
                addr: peer.addr,
                peer_id: Some(peer.peer_id),
            });
            (Peers::Dicts(entries.collect()), Vec::new())
        };
        AnnounceResponse::Reply(AnnounceReply {
            interval: Some(self.interval),
            min_interval: Some(self.min_interval),
            complete: Some(self.counts.complete as u64),
            incomplete: Some(self.counts.incomplete as u64),
            warning: None,
            peers,
            peers6,
        })
        .encode()
        .map_err(Error::Encode)
    }
}

/// `d14:failure reason<len>:<reason>e`.
pub fn encode_failure(reason: &str) -> Vec<u8> {
    let failure = AnnounceResponse::Failure {
        reason: reason.to_owned(),
    };
    failure
        .encode()
        .expect("a one-key dict of a string always encodes")
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
        TrackerReply {
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
