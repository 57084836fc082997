//! An origin's identity in the swarm, as `GET /peer` reports it to trackers: the peer id
//! of its P2P engine and the peer address agents dial.
//!
//! Trackers hand origins out to agents without the origins announcing (see
//! `docs/origin-api.md`), so they learn these two facts here: the address to hand out,
//! and the peer id to recognise the origin should it announce anyway. The peer id goes
//! over the wire as 40 hex characters, since a peer id is 20 arbitrary bytes.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use starling_core::PeerId;

/// What `GET /peer` answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginPeer {
    pub peer_id: PeerId,
    /// `host:port` agents dial: the host of the origin's `advertise` address with the
    /// peer listener's port. The host may be a name; trackers resolve it.
    pub peer_addr: String,
}

/// The JSON body: `{"peer_id": "<40 hex>", "peer_addr": "host:port"}`.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerBody {
    pub peer_id: String,
    pub peer_addr: String,
}

impl OriginPeer {
    /// The peer address for an origin advertised as `advertise` (`host:port`) whose peer
    /// listener is bound to `peer_port`.
    pub fn address_for(advertise: &str, peer_port: u16) -> String {
        let host = advertise
            .rsplit_once(':')
            .map_or(advertise, |(host, _)| host);
        format!("{host}:{peer_port}")
    }

    pub fn to_body(&self) -> PeerBody {
        let mut peer_id = String::with_capacity(40);
        for byte in self.peer_id.as_bytes() {
            write!(peer_id, "{byte:02x}").expect("writing to a String cannot fail");
        }
        PeerBody {
            peer_id,
            peer_addr: self.peer_addr.clone(),
        }
    }

    /// Parses a body; `Err` says what was wrong.
    pub fn from_body(body: PeerBody) -> Result<Self, String> {
        let hex = body.peer_id.as_bytes();
        if hex.len() != 40 {
            return Err(format!(
                "peer_id must be 40 hex characters, got {}",
                hex.len()
            ));
        }
        let mut bytes = [0u8; 20];
        for (byte, pair) in bytes.iter_mut().zip(hex.chunks_exact(2)) {
            let pair = std::str::from_utf8(pair).map_err(|_| "peer_id is not hex")?;
            *byte = u8::from_str_radix(pair, 16).map_err(|_| "peer_id is not hex")?;
        }
        if body
            .peer_addr
            .rsplit_once(':')
            .is_none_or(|(host, port)| host.is_empty() || port.parse::<u16>().is_err())
        {
            return Err(format!("peer_addr {:?} is not host:port", body.peer_addr));
        }
        Ok(Self {
            peer_id: PeerId::from_bytes(bytes),
            peer_addr: body.peer_addr,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_body_round_trips_and_bad_ones_are_named() {
        let peer = OriginPeer {
            peer_id: PeerId::from_bytes(*b"-SL0100-Oa\x00\xff23456789"),
            peer_addr: "origin-0.origins:15001".to_owned(),
        };
        let body = peer.to_body();
        assert_eq!(body.peer_id.len(), 40);
        assert!(body.peer_id.starts_with("2d534c"));
        assert_eq!(OriginPeer::from_body(body).unwrap(), peer);
        let bad = |peer_id: &str, peer_addr: &str| {
            OriginPeer::from_body(PeerBody {
                peer_id: peer_id.to_owned(),
                peer_addr: peer_addr.to_owned(),
            })
            .unwrap_err()
        };
        assert!(bad("abc", "a:1").contains("40 hex"));
        assert!(bad(&"zz".repeat(20), "a:1").contains("not hex"));
        assert!(bad(&"00".repeat(20), "a").contains("host:port"));
        assert!(bad(&"00".repeat(20), ":1").contains("host:port"));
    }

    #[test]
    fn the_address_takes_the_advertised_host_and_the_peer_port() {
        assert_eq!(
            OriginPeer::address_for("10.0.0.5:15002", 15001),
            "10.0.0.5:15001"
        );
        assert_eq!(OriginPeer::address_for("[::1]:15002", 40000), "[::1]:40000");
        assert_eq!(
            OriginPeer::address_for("origin-0.origins:15002", 15001),
            "origin-0.origins:15001"
        );
    }
}
