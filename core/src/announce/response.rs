//! The bencoded announce response (BEP 3, BEP 23 compact peers, BEP 7 `peers6`).
//!
//! Success: a dict with `complete`, `incomplete`, `interval`, `min interval`, `peers`
//! and optional `peers6` and `warning message`. `peers` is either a byte string of 6
//! bytes per IPv4 peer (address then port, big-endian) or a list of `{ip, peer id,
//! port}` dicts, since BEP 23 lets a tracker ignore `compact=1`; `peers6` holds 18 bytes
//! per IPv6 peer. Failure: `{failure reason}`, sent with HTTP 200.
//!
//! Encoding emits keys in sorted order, as bencode requires, and `peers6` only when
//! there are IPv6 peers. Decoding accepts only canonical bencode (bendy rejects
//! unsorted keys), skips unknown keys, and fails on a malformed known key, except that
//! single dict peers with an unusable address (or a non-dict entry) are dropped. A
//! `failure reason` makes the whole response a [`AnnounceResponse::Failure`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV4, SocketAddrV6};
use std::time::Duration;

use bendy::decoding::{Decoder, DictDecoder, Object};
use bendy::encoding::{Encoder, Error as EncodeError, SingleItemEncoder};

use super::error::ResponseError;
use crate::PeerId;

/// A tracker's answer to an announce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnnounceResponse {
    Reply(AnnounceReply),
    /// The tracker refused the announce; `reason` is for humans.
    Failure {
        reason: String,
    },
}

/// A successful announce answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnounceReply {
    /// When to announce next, if the tracker said.
    pub interval: Option<Duration>,
    /// The earliest the tracker accepts the next announce.
    pub min_interval: Option<Duration>,
    /// Seeders in the swarm.
    pub complete: Option<u64>,
    /// Leechers in the swarm.
    pub incomplete: Option<u64>,
    /// Something the tracker wants a human to read; the announce still succeeded.
    pub warning: Option<String>,
    pub peers: Peers,
    /// BEP 7 compact IPv6 peers.
    pub peers6: Vec<SocketAddrV6>,
}

/// The `peers` value in one of its two forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peers {
    /// BEP 23: 6 bytes per IPv4 peer.
    Compact(Vec<SocketAddrV4>),
    /// BEP 3: a list of `{ip, peer id, port}` dicts.
    Dicts(Vec<PeerEntry>),
}

impl Default for Peers {
    fn default() -> Self {
        Self::Compact(Vec::new())
    }
}

/// One peer of a dict-form list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerEntry {
    pub addr: SocketAddr,
    /// Absent when the tracker left it out (BEP 23 `no_peer_id`) or it is not 20 bytes.
    pub peer_id: Option<PeerId>,
}

impl AnnounceReply {
    /// Splits addresses into the compact forms: IPv4 into `peers`, IPv6 into `peers6`.
    pub fn compact_peers(
        addrs: impl IntoIterator<Item = SocketAddr>,
    ) -> (Peers, Vec<SocketAddrV6>) {
        let (mut v4, mut v6) = (Vec::new(), Vec::new());
        for addr in addrs {
            match addr {
                SocketAddr::V4(addr) => v4.push(addr),
                SocketAddr::V6(addr) => v6.push(addr),
            }
        }
        (Peers::Compact(v4), v6)
    }

    /// Every peer address, `peers` first (in order) then `peers6`.
    pub fn addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = match &self.peers {
            Peers::Compact(v4) => v4.iter().copied().map(SocketAddr::V4).collect(),
            Peers::Dicts(entries) => entries.iter().map(|entry| entry.addr).collect(),
        };
        addrs.extend(self.peers6.iter().copied().map(SocketAddr::V6));
        addrs
    }
}

impl AnnounceResponse {
    /// The bencoded body.
    pub fn encode(&self) -> Result<Vec<u8>, ResponseError> {
        let mut encoder = Encoder::new();
        encoder
            .emit_dict(|mut dict| match self {
                Self::Failure { reason } => dict.emit_pair(b"failure reason", reason.as_str()),
                Self::Reply(reply) => {
                    let seconds = |d: Option<Duration>| d.map(|d| d.as_secs());
                    emit_optional(&mut dict, b"complete", reply.complete)?;
                    emit_optional(&mut dict, b"incomplete", reply.incomplete)?;
                    emit_optional(&mut dict, b"interval", seconds(reply.interval))?;
                    emit_optional(&mut dict, b"min interval", seconds(reply.min_interval))?;
                    match &reply.peers {
                        Peers::Compact(v4) => {
                            dict.emit_pair_with(b"peers", |e| e.emit_bytes(&compact_v4(v4)))?
                        }
                        Peers::Dicts(entries) => {
                            dict.emit_pair_with(b"peers", |e| peer_dicts(e, entries))?
                        }
                    }
                    if !reply.peers6.is_empty() {
                        let v6 = compact_v6(&reply.peers6);
                        dict.emit_pair_with(b"peers6", |e| e.emit_bytes(&v6))?;
                    }
                    if let Some(warning) = &reply.warning {
                        dict.emit_pair(b"warning message", warning.as_str())?;
                    }
                    Ok(())
                }
            })
            .and_then(|()| encoder.get_output())
            .map_err(|e| ResponseError::Encode {
                reason: e.to_string(),
            })
    }

    /// Decodes a response body.
    pub fn decode(body: &[u8]) -> Result<Self, ResponseError> {
        // Top dict -> peers list -> peer dict -> value.
        let mut decoder = Decoder::new(body).with_max_depth(4);
        let Object::Dict(mut dict) = decoder.next_object()?.ok_or(ResponseError::Empty)? else {
            return Err(ResponseError::NotADictionary);
        };
        let mut reply = AnnounceReply::default();
        while let Some((key, value)) = dict.next_pair()? {
            match key {
                b"failure reason" => {
                    let reason = text(value, "failure reason")?;
                    return Ok(Self::Failure { reason });
                }
                b"interval" => reply.interval = Some(seconds(value, "interval")?),
                b"min interval" => reply.min_interval = Some(seconds(value, "min interval")?),
                b"complete" => reply.complete = Some(integer(value, "complete")?),
                b"incomplete" => reply.incomplete = Some(integer(value, "incomplete")?),
                b"warning message" => reply.warning = Some(text(value, "warning message")?),
                b"peers" => reply.peers = peers(value)?,
                b"peers6" => reply.peers6 = parse_v6(bytes(value, "peers6")?)?,
                _ => {}
            }
        }
        Ok(Self::Reply(reply))
    }
}

fn emit_optional(
    dict: &mut bendy::encoding::SortedDictEncoder,
    key: &[u8],
    value: Option<u64>,
) -> Result<(), EncodeError> {
    match value {
        Some(value) => dict.emit_pair(key, value),
        None => Ok(()),
    }
}

fn compact_v4(peers: &[SocketAddrV4]) -> Vec<u8> {
    let mut out = Vec::with_capacity(peers.len() * 6);
    for addr in peers {
        out.extend_from_slice(&addr.ip().octets());
        out.extend_from_slice(&addr.port().to_be_bytes());
    }
    out
}

fn compact_v6(peers: &[SocketAddrV6]) -> Vec<u8> {
    let mut out = Vec::with_capacity(peers.len() * 18);
    for addr in peers {
        out.extend_from_slice(&addr.ip().octets());
        out.extend_from_slice(&addr.port().to_be_bytes());
    }
    out
}

fn peer_dicts(encoder: SingleItemEncoder, entries: &[PeerEntry]) -> Result<(), EncodeError> {
    encoder.emit_list(|list| {
        for entry in entries {
            list.emit_dict(|mut dict| {
                dict.emit_pair(b"ip", entry.addr.ip().to_string())?;
                if let Some(peer_id) = &entry.peer_id {
                    dict.emit_pair_with(b"peer id", |e| e.emit_bytes(peer_id.as_bytes()))?;
                }
                dict.emit_pair(b"port", entry.addr.port())
            })?;
        }
        Ok(())
    })
}

fn integer(value: Object<'_, '_>, key: &'static str) -> Result<u64, ResponseError> {
    let Object::Integer(raw) = value else {
        return Err(ResponseError::NotAnInteger { key });
    };
    raw.parse().map_err(|_| ResponseError::Negative {
        key,
        raw: raw.to_owned(),
    })
}

fn seconds(value: Object<'_, '_>, key: &'static str) -> Result<Duration, ResponseError> {
    integer(value, key).map(Duration::from_secs)
}

fn bytes<'ser>(value: Object<'_, 'ser>, key: &'static str) -> Result<&'ser [u8], ResponseError> {
    match value {
        Object::Bytes(bytes) => Ok(bytes),
        _ => Err(ResponseError::NotAString { key }),
    }
}

/// A human-readable string; invalid UTF-8 is replaced, since it is only shown.
fn text(value: Object<'_, '_>, key: &'static str) -> Result<String, ResponseError> {
    Ok(String::from_utf8_lossy(bytes(value, key)?).into_owned())
}

fn peers(value: Object<'_, '_>) -> Result<Peers, ResponseError> {
    match value {
        Object::Bytes(compact) => parse_v4(compact).map(Peers::Compact),
        Object::List(mut list) => {
            let mut entries = Vec::new();
            while let Some(item) = list.next_object()? {
                if let Object::Dict(peer) = item {
                    entries.extend(peer_dict(peer)?);
                }
            }
            Ok(Peers::Dicts(entries))
        }
        _ => Err(ResponseError::PeersNeitherStringNorList),
    }
}

fn parse_v4(bytes: &[u8]) -> Result<Vec<SocketAddrV4>, ResponseError> {
    entries(bytes, "peers", 6, |e| {
        let ip = Ipv4Addr::new(e[0], e[1], e[2], e[3]);
        SocketAddrV4::new(ip, u16::from_be_bytes([e[4], e[5]]))
    })
}

fn parse_v6(bytes: &[u8]) -> Result<Vec<SocketAddrV6>, ResponseError> {
    entries(bytes, "peers6", 18, |e| {
        let octets: [u8; 16] = e[..16].try_into().expect("an entry of 18 bytes");
        SocketAddrV6::new(
            Ipv6Addr::from(octets),
            u16::from_be_bytes([e[16], e[17]]),
            0,
            0,
        )
    })
}

fn entries<T>(
    bytes: &[u8],
    key: &'static str,
    entry: usize,
    parse: impl Fn(&[u8]) -> T,
) -> Result<Vec<T>, ResponseError> {
    if !bytes.len().is_multiple_of(entry) {
        return Err(ResponseError::CompactLength {
            key,
            len: bytes.len(),
            entry,
        });
    }
    Ok(bytes.chunks_exact(entry).map(parse).collect())
}

/// One `{ip, port, peer id}` entry of a dict list; `None` if its address is unusable.
fn peer_dict(mut dict: DictDecoder<'_, '_>) -> Result<Option<PeerEntry>, ResponseError> {
    let (mut ip, mut port, mut peer_id) = (None, None, None);
    while let Some((key, value)) = dict.next_pair()? {
        match (key, value) {
            (b"ip", Object::Bytes(raw)) => {
                ip = std::str::from_utf8(raw)
                    .ok()
                    .and_then(|s| s.parse::<IpAddr>().ok());
            }
            (b"peer id", Object::Bytes(raw)) => {
                peer_id = <[u8; 20]>::try_from(raw).ok().map(PeerId::from_bytes);
            }
            (b"port", value) => port = u16::try_from(integer(value, "port")?).ok(),
            _ => {}
        }
    }
    Ok(ip.zip(port).map(|(ip, port)| PeerEntry {
        addr: SocketAddr::new(ip, port),
        peer_id,
    }))
}

#[cfg(test)]
#[path = "response_tests.rs"]
mod tests;
