//! An announce as the tracker stores it: the decoded query plus where the peer is.
//!
//! The query itself is decoded by the shared codec,
//! [`starling_core::announce::AnnounceRequest`] (every BEP 3 / BEP 23 parameter and
//! Starling's `zone` and `rack`; see there). This module adds the tracker's own rule:
//! the peer's address is the connection's IP and the announced port; an `ip` parameter
//! replaces the IP only as [`AddressPolicy`] allows (from trusted networks), and one no
//! peer can be at (multicast, link-local, ...) fails the announce.

use std::net::{IpAddr, SocketAddr};

use starling_core::announce::{AnnounceRequest, Event};
use starling_core::{InfoHash, PeerId};

use crate::address::AddressPolicy;
use crate::error::Result;
use crate::locality::Locality;

/// One validated announce, with the address other peers are told to dial.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerAnnounce {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    /// Where other peers reach this one.
    pub addr: SocketAddr,
    /// The announce came from one of `trusted_networks`, so the per-address bound of
    /// the store does not apply (see [`crate::store`]).
    pub from_trusted_network: bool,
    /// Bytes the peer still needs; 0 means it holds the whole blob.
    pub left: u64,
    pub event: Event,
    /// How many peers the client wants; capped by the tracker's `announce_limit`.
    pub numwant: Option<usize>,
    /// BEP 23 compact peer lists requested.
    pub compact: bool,
    pub locality: Locality,
}

impl PeerAnnounce {
    /// Parses the raw (still percent-encoded) query of a request that arrived from
    /// `remote`; `addresses` says whether its `ip` is believed.
    pub fn parse(raw_query: &str, remote: IpAddr, addresses: &AddressPolicy) -> Result<Self> {
        let request = AnnounceRequest::from_query(raw_query)?;
        Ok(Self {
            info_hash: request.info_hash,
            peer_id: request.peer_id,
            addr: SocketAddr::new(addresses.peer_ip(request.ip, remote)?, request.port),
            from_trusted_network: addresses.trusts(remote),
            left: request.left,
            event: request.event,
            numwant: request.numwant,
            compact: request.compact,
            locality: Locality {
                zone: request.zone,
                rack: request.rack,
            },
        })
    }

    /// A peer with nothing left to download, or that says it just completed, seeds.
    pub fn is_complete(&self) -> bool {
        self.left == 0 || self.event == Event::Completed
    }
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
