//! Decoding a tracker's bencoded announce response (BEP 3, BEP 23 compact peers, BEP 7
//! `peers6`).
//!
//! Accepts both peer forms, since BEP 23 lets a tracker ignore `compact=1`: a byte string
//! of 6-byte IPv4 entries, or a list of `{ip, port, peer id}` dicts. A `failure reason`
//! turns the whole response into an error. Unknown keys are skipped; malformed known
//! keys are errors, except single peer entries with an unparsable address, which are
//! dropped.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use bendy::decoding::{Decoder, DictDecoder, Object};

/// A successful announce answer.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AnnounceReply {
    /// When to announce next, if the tracker said.
    pub interval: Option<Duration>,
    /// The earliest the tracker accepts the next announce.
    pub min_interval: Option<Duration>,
    pub peers: Vec<SocketAddr>,
    pub complete: Option<u64>,
    pub incomplete: Option<u64>,
}

/// Decodes a response body; `Err` holds the tracker's failure reason or what was wrong.
pub fn decode(body: &[u8]) -> Result<AnnounceReply, String> {
    let mut decoder = Decoder::new(body).with_max_depth(4);
    let object = decoder
        .next_object()
        .map_err(|e| format!("not bencode: {e}"))?
        .ok_or("empty response")?;
    let Object::Dict(mut dict) = object else {
        return Err("the response is not a dictionary".into());
    };
    let mut reply = AnnounceReply::default();
    while let Some((key, value)) = dict.next_pair().map_err(|e| format!("not bencode: {e}"))? {
        match key {
            b"failure reason" => {
                let reason = value.try_into_bytes().map_err(|e| e.to_string())?;
                return Err(format!(
                    "tracker failure: {}",
                    String::from_utf8_lossy(reason)
                ));
            }
            b"interval" => reply.interval = Some(Duration::from_secs(integer(value, "interval")?)),
            b"min interval" => {
                reply.min_interval = Some(Duration::from_secs(integer(value, "min interval")?));
            }
            b"complete" => reply.complete = Some(integer(value, "complete")?),
            b"incomplete" => reply.incomplete = Some(integer(value, "incomplete")?),
            b"peers" => match value {
                Object::Bytes(compact) => reply.peers.extend(compact_v4(compact)?),
                Object::List(mut list) => {
                    while let Some(item) = list.next_object().map_err(|e| e.to_string())? {
                        if let Object::Dict(peer) = item {
                            reply.peers.extend(peer_dict(peer)?);
                        }
                    }
                }
                _ => return Err("peers is neither a string nor a list".into()),
            },
            b"peers6" => {
                let compact = value.try_into_bytes().map_err(|e| e.to_string())?;
                reply.peers.extend(compact_v6(compact)?);
            }
            _ => {}
        }
    }
    Ok(reply)
}

fn integer(value: Object<'_, '_>, name: &str) -> Result<u64, String> {
    let raw = value
        .try_into_integer()
        .map_err(|_| format!("{name} is not an integer"))?;
    raw.parse()
        .map_err(|_| format!("{name} {raw} is not a non-negative integer"))
}

fn compact_v4(bytes: &[u8]) -> Result<Vec<SocketAddr>, String> {
    if !bytes.len().is_multiple_of(6) {
        return Err(format!(
            "compact peers of {} bytes, not a multiple of 6",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(6)
        .map(|e| {
            let ip = Ipv4Addr::new(e[0], e[1], e[2], e[3]);
            SocketAddr::from((ip, u16::from_be_bytes([e[4], e[5]])))
        })
        .collect())
}

fn compact_v6(bytes: &[u8]) -> Result<Vec<SocketAddr>, String> {
    if !bytes.len().is_multiple_of(18) {
        return Err(format!(
            "compact peers6 of {} bytes, not a multiple of 18",
            bytes.len()
        ));
    }
    Ok(bytes
        .chunks_exact(18)
        .map(|e| {
            let octets: [u8; 16] = e[..16].try_into().expect("chunk of 18");
            let ip = Ipv6Addr::from(octets);
            SocketAddr::from((ip, u16::from_be_bytes([e[16], e[17]])))
        })
        .collect())
}

/// One `{ip, port}` entry of a non-compact list; `None` if its address is unusable.
fn peer_dict(mut dict: DictDecoder<'_, '_>) -> Result<Option<SocketAddr>, String> {
    let (mut ip, mut port) = (None, None);
    while let Some((key, value)) = dict.next_pair().map_err(|e| e.to_string())? {
        match (key, value) {
            (b"ip", Object::Bytes(raw)) => {
                ip = std::str::from_utf8(raw)
                    .ok()
                    .and_then(|s| s.parse::<IpAddr>().ok());
            }
            (b"port", value) => port = u16::try_from(integer(value, "port")?).ok(),
            _ => {}
        }
    }
    Ok(ip.zip(port).map(|(ip, port)| SocketAddr::new(ip, port)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_compact_v4_and_v6_peers() {
        let mut body =
            b"d8:completei2e10:incompletei1e8:intervali30e12:min intervali15e5:peers12:".to_vec();
        body.extend_from_slice(&[127, 0, 0, 1, 0x1f, 0x90, 10, 0, 0, 2, 0, 80]);
        body.extend_from_slice(b"6:peers618:");
        body.extend_from_slice(&[0; 15]);
        body.extend_from_slice(&[1, 0, 81]);
        body.push(b'e');
        let reply = decode(&body).unwrap();
        assert_eq!(reply.interval, Some(Duration::from_secs(30)));
        assert_eq!(reply.min_interval, Some(Duration::from_secs(15)));
        assert_eq!((reply.complete, reply.incomplete), (Some(2), Some(1)));
        let want: Vec<SocketAddr> = ["127.0.0.1:8080", "10.0.0.2:80", "[::1]:81"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(reply.peers, want);
    }

    #[test]
    fn decodes_dict_peers_and_skips_unusable_ones() {
        let body = b"d8:intervali5e5:peersld2:ip9:127.0.0.17:peer id20:-SL0100-A123456789014:porti7000eed2:ip4:nope4:porti1eed2:ip3:::14:porti99999eeee";
        let reply = decode(body).unwrap();
        assert_eq!(reply.peers, vec!["127.0.0.1:7000".parse().unwrap()]);
    }

    #[test]
    fn failures_and_garbage_are_errors() {
        let err = decode(b"d14:failure reason9:not todaye").unwrap_err();
        assert_eq!(err, "tracker failure: not today");
        for (body, want) in [
            (&b"<html>"[..], "not bencode"),
            (b"", "empty"),
            (b"li1ee", "not a dictionary"),
            (b"d5:peers5:abcdee", "multiple of 6"),
            (b"d8:intervali-3ee", "non-negative"),
            (b"d5:peersi3ee", "neither"),
        ] {
            let err = decode(body).unwrap_err();
            assert!(
                err.contains(want),
                "{:?}: {err}",
                String::from_utf8_lossy(body)
            );
        }
    }
}
