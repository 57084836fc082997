//! Parsing a raw announce query string into an [`AnnounceRequest`] (pure, no I/O).
//!
//! Parameters (BEP 3, BEP 23): `info_hash`, `peer_id` (raw 20 bytes each), `port`,
//! `left` (required); `uploaded`, `downloaded` (validated when present, not kept),
//! `event` (`started`, `completed`, `stopped`, `paused` from BEP 21, or empty/absent
//! for a regular update), `compact` (`1` for BEP 23 compact peers), `numwant`, `ip`;
//! and Starling's optional `zone` and `rack` for locality. Unknown parameters (e.g.
//! libtorrent's `key`, `corrupt`, `supportcrypto`) are ignored.
//!
//! The peer's address is the connection's IP and the announced port; an `ip` parameter
//! replaces the IP only as [`AddressPolicy`] allows (from trusted networks), and one no
//! peer can be at (multicast, link-local, ...) fails the announce.

use std::borrow::Cow;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use starling_core::{InfoHash, PeerId};

use crate::address::AddressPolicy;
use crate::error::{Error, Result};
use crate::locality::{Locality, NAME_RULE, Rack, Zone};
use crate::query;

/// The `event` of an announce.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Event {
    Started,
    Completed,
    Stopped,
    /// BEP 21: the peer stays in the swarm but is not downloading for now.
    Paused,
    /// No event (absent or empty): the periodic re-announce.
    Update,
}

impl Event {
    pub const ALL: [Event; 5] = [
        Event::Started,
        Event::Completed,
        Event::Stopped,
        Event::Paused,
        Event::Update,
    ];

    /// The name used as a metrics label.
    pub fn label(self) -> &'static str {
        match self {
            Event::Started => "started",
            Event::Completed => "completed",
            Event::Stopped => "stopped",
            Event::Paused => "paused",
            Event::Update => "update",
        }
    }

    fn parse(raw: &[u8]) -> Option<Self> {
        Some(match raw {
            b"started" => Event::Started,
            b"completed" => Event::Completed,
            b"stopped" => Event::Stopped,
            b"paused" => Event::Paused,
            b"" | b"empty" => Event::Update,
            _ => return None,
        })
    }
}

/// One validated announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
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

impl AnnounceRequest {
    /// Parses the raw (still percent-encoded) query of a request that arrived from
    /// `remote`; `addresses` says whether its `ip` is believed.
    pub fn parse(raw_query: &str, remote: IpAddr, addresses: &AddressPolicy) -> Result<Self> {
        let raw = RawParams::collect(raw_query);
        let info_hash = InfoHash::from_bytes(twenty_bytes(raw.info_hash, "info_hash")?);
        let peer_id = PeerId::from_bytes(twenty_bytes(raw.peer_id, "peer_id")?);
        let port: u16 = number(required(raw.port, "port")?, "port")?;
        if port == 0 {
            return Err(Error::InvalidParam {
                name: "port",
                reason: "must be 1-65535",
            });
        }
        let left = number(required(raw.left, "left")?, "left")?;
        optional_number::<u64>(raw.uploaded, "uploaded")?;
        optional_number::<u64>(raw.downloaded, "downloaded")?;
        let event = match raw.event {
            Some(value) => Event::parse(&decoded(value, "event")?).ok_or(Error::InvalidParam {
                name: "event",
                reason: "must be started, completed, stopped, paused or empty",
            })?,
            None => Event::Update,
        };
        Ok(Self {
            info_hash,
            peer_id,
            addr: SocketAddr::new(addresses.peer_ip(claimed_ip(raw.ip), remote)?, port),
            from_trusted_network: addresses.trusts(remote),
            left,
            event,
            numwant: optional_number(raw.numwant, "numwant")?,
            compact: compact(raw.compact)?,
            locality: Locality {
                zone: optional_name(raw.zone, "zone", Zone::parse)?,
                rack: optional_name(raw.rack, "rack", Rack::parse)?,
            },
        })
    }

    /// A peer with nothing left to download, or that says it just completed, seeds.
    pub fn is_complete(&self) -> bool {
        self.left == 0 || self.event == Event::Completed
    }
}

/// The raw values of the parameters the tracker reads; first occurrence wins.
#[derive(Default)]
struct RawParams<'q> {
    info_hash: Option<&'q str>,
    peer_id: Option<&'q str>,
    port: Option<&'q str>,
    left: Option<&'q str>,
    uploaded: Option<&'q str>,
    downloaded: Option<&'q str>,
    event: Option<&'q str>,
    compact: Option<&'q str>,
    numwant: Option<&'q str>,
    ip: Option<&'q str>,
    zone: Option<&'q str>,
    rack: Option<&'q str>,
}

impl<'q> RawParams<'q> {
    fn collect(query: &'q str) -> Self {
        let mut raw = Self::default();
        for (name, value) in query::pairs(query) {
            let slot = match name {
                "info_hash" => &mut raw.info_hash,
                "peer_id" => &mut raw.peer_id,
                "port" => &mut raw.port,
                "left" => &mut raw.left,
                "uploaded" => &mut raw.uploaded,
                "downloaded" => &mut raw.downloaded,
                "event" => &mut raw.event,
                "compact" => &mut raw.compact,
                "numwant" => &mut raw.numwant,
                "ip" => &mut raw.ip,
                "zone" => &mut raw.zone,
                "rack" => &mut raw.rack,
                _ => continue,
            };
            slot.get_or_insert(value);
        }
        raw
    }
}

fn required<'q>(value: Option<&'q str>, name: &'static str) -> Result<&'q str> {
    value.ok_or(Error::MissingParam { name })
}

fn decoded<'q>(raw: &'q str, name: &'static str) -> Result<Cow<'q, [u8]>> {
    query::decode(raw).map_err(|_| Error::BadEncoding { name })
}

fn twenty_bytes(raw: Option<&str>, name: &'static str) -> Result<[u8; 20]> {
    let bytes = decoded(required(raw, name)?, name)?;
    bytes
        .as_ref()
        .try_into()
        .map_err(|_| Error::WrongLength { name })
}

fn number<T: FromStr>(raw: &str, name: &'static str) -> Result<T> {
    let bytes = decoded(raw, name)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(Error::InvalidParam {
            name,
            reason: "not a decimal number in range",
        })
}

fn optional_number<T: FromStr>(raw: Option<&str>, name: &'static str) -> Result<Option<T>> {
    raw.map(|value| number(value, name)).transpose()
}

fn compact(raw: Option<&str>) -> Result<bool> {
    match raw {
        None => Ok(false),
        Some(value) => match decoded(value, "compact")?.as_ref() {
            b"1" => Ok(true),
            b"0" => Ok(false),
            _ => Err(Error::InvalidParam {
                name: "compact",
                reason: "must be 0 or 1",
            }),
        },
    }
}

fn optional_name<T>(
    raw: Option<&str>,
    name: &'static str,
    parse: fn(&[u8]) -> Option<T>,
) -> Result<Option<T>> {
    let Some(value) = raw else { return Ok(None) };
    let parsed = parse(&decoded(value, name)?).ok_or(Error::InvalidParam {
        name,
        reason: NAME_RULE,
    })?;
    Ok(Some(parsed))
}

/// The `ip` parameter as an IP literal, if it is one.
fn claimed_ip(raw: Option<&str>) -> Option<IpAddr> {
    let bytes = query::decode(raw?).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
