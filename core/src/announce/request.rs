//! The BEP 3 announce request: encoded to and decoded from the query string.
//!
//! Parameters (BEP 3, BEP 23): `info_hash`, `peer_id` (raw 20 bytes each), `port`,
//! `left` (required); `uploaded`, `downloaded` (0 when absent), `event` (see [`Event`]),
//! `compact` (`1` for BEP 23 compact peers), `numwant`, `ip`; and Starling's optional
//! `zone` and `rack` (see [`super::location`]). Unknown parameters (libtorrent's `key`,
//! `corrupt`, `supportcrypto`, `no_peer_id`, ...) are ignored, and when a parameter
//! occurs more than once the first occurrence wins.
//!
//! `ip` is kept only when it is an IP literal: BEP 3 also allows a DNS name, and clients
//! fill it in from their own guesses, so anything else reads as absent. Whether a
//! tracker believes it is the tracker's policy, not the codec's.
//!
//! Decoding borrows the query and allocates only for escaped values and location names:
//! a tracker runs it on every announce.

use std::borrow::Cow;
use std::fmt::Write;
use std::net::IpAddr;
use std::str::FromStr;

use super::error::QueryError;
use super::event::Event;
use super::location::{NAME_RULE, Rack, Zone};
use super::percent;
use crate::{InfoHash, PeerId};

/// One announce, as it travels in the query string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceRequest {
    pub info_hash: InfoHash,
    pub peer_id: PeerId,
    /// The port other peers dial (1-65535).
    pub port: u16,
    /// Bytes sent to peers so far.
    pub uploaded: u64,
    /// Bytes received from peers so far.
    pub downloaded: u64,
    /// Bytes still missing; 0 for a seeder.
    pub left: u64,
    pub event: Event,
    /// BEP 23 compact peer lists requested (`compact=1`; absent or `0` is false).
    pub compact: bool,
    /// How many peers the client wants; `None` leaves it to the tracker.
    pub numwant: Option<usize>,
    /// The address the peer says it is reachable at (a NAT's outside address).
    pub ip: Option<IpAddr>,
    pub zone: Option<Zone>,
    pub rack: Option<Rack>,
}

impl AnnounceRequest {
    /// The query string (without `?`): raw ids percent-encoded byte by byte, optional
    /// parameters only when set, `event` omitted for [`Event::Update`].
    pub fn to_query(&self) -> String {
        let mut query = String::with_capacity(192);
        query.push_str("info_hash=");
        percent::encode_into(&mut query, self.info_hash.as_bytes());
        query.push_str("&peer_id=");
        percent::encode_into(&mut query, self.peer_id.as_bytes());
        // Writing to a String cannot fail.
        let _ = write!(
            query,
            "&port={}&uploaded={}&downloaded={}&left={}",
            self.port, self.uploaded, self.downloaded, self.left
        );
        if self.compact {
            query.push_str("&compact=1");
        }
        if let Some(numwant) = self.numwant {
            let _ = write!(query, "&numwant={numwant}");
        }
        if let Some(ip) = self.ip {
            query.push_str("&ip=");
            percent::encode_into(&mut query, ip.to_string().as_bytes());
        }
        if let Some(event) = self.event.as_param() {
            query.push_str("&event=");
            query.push_str(event);
        }
        if let Some(zone) = &self.zone {
            query.push_str("&zone=");
            query.push_str(zone.as_str());
        }
        if let Some(rack) = &self.rack {
            query.push_str("&rack=");
            query.push_str(rack.as_str());
        }
        query
    }

    /// Decodes a raw (still percent-encoded) query string; the error names the first
    /// parameter at fault, checked in the order the fields are listed.
    pub fn from_query(query: &str) -> Result<Self, QueryError> {
        let raw = RawParams::collect(query);
        let info_hash = InfoHash::from_bytes(twenty_bytes(raw.info_hash, "info_hash")?);
        let peer_id = PeerId::from_bytes(twenty_bytes(raw.peer_id, "peer_id")?);
        let port: u16 = number(required(raw.port, "port")?, "port")?;
        if port == 0 {
            return Err(QueryError::Invalid {
                name: "port",
                reason: "must be 1-65535",
            });
        }
        let left = number(required(raw.left, "left")?, "left")?;
        let uploaded = optional_number(raw.uploaded, "uploaded")?.unwrap_or(0);
        let downloaded = optional_number(raw.downloaded, "downloaded")?.unwrap_or(0);
        let event = match raw.event {
            Some(value) => {
                Event::from_param(&decoded(value, "event")?).ok_or(QueryError::Invalid {
                    name: "event",
                    reason: "must be started, completed, stopped, paused or empty",
                })?
            }
            None => Event::Update,
        };
        Ok(Self {
            info_hash,
            peer_id,
            port,
            uploaded,
            downloaded,
            left,
            event,
            numwant: optional_number(raw.numwant, "numwant")?,
            compact: compact(raw.compact)?,
            ip: ip_literal(raw.ip),
            zone: optional_name(raw.zone, "zone", Zone::parse)?,
            rack: optional_name(raw.rack, "rack", Rack::parse)?,
        })
    }
}

/// The raw values of the parameters the codec reads; first occurrence wins.
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
        for (name, value) in percent::pairs(query) {
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

fn required<'q>(value: Option<&'q str>, name: &'static str) -> Result<&'q str, QueryError> {
    value.ok_or(QueryError::Missing { name })
}

fn decoded<'q>(raw: &'q str, name: &'static str) -> Result<Cow<'q, [u8]>, QueryError> {
    percent::decode(raw).map_err(|_| QueryError::BadEncoding { name })
}

fn twenty_bytes(raw: Option<&str>, name: &'static str) -> Result<[u8; 20], QueryError> {
    let bytes = decoded(required(raw, name)?, name)?;
    bytes
        .as_ref()
        .try_into()
        .map_err(|_| QueryError::WrongLength { name })
}

fn number<T: FromStr>(raw: &str, name: &'static str) -> Result<T, QueryError> {
    let bytes = decoded(raw, name)?;
    std::str::from_utf8(&bytes)
        .ok()
        .and_then(|text| text.parse().ok())
        .ok_or(QueryError::Invalid {
            name,
            reason: "not a decimal number in range",
        })
}

fn optional_number<T: FromStr>(
    raw: Option<&str>,
    name: &'static str,
) -> Result<Option<T>, QueryError> {
    raw.map(|value| number(value, name)).transpose()
}

fn compact(raw: Option<&str>) -> Result<bool, QueryError> {
    match raw {
        None => Ok(false),
        Some(value) => match decoded(value, "compact")?.as_ref() {
            b"1" => Ok(true),
            b"0" => Ok(false),
            _ => Err(QueryError::Invalid {
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
) -> Result<Option<T>, QueryError> {
    let Some(value) = raw else { return Ok(None) };
    let parsed = parse(&decoded(value, name)?).ok_or(QueryError::Invalid {
        name,
        reason: NAME_RULE,
    })?;
    Ok(Some(parsed))
}

/// The `ip` parameter as an IP literal, if it is one.
fn ip_literal(raw: Option<&str>) -> Option<IpAddr> {
    let bytes = percent::decode(raw?).ok()?;
    std::str::from_utf8(&bytes).ok()?.parse().ok()
}

#[cfg(test)]
#[path = "request_tests.rs"]
mod tests;
