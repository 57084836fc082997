//! Decoding a tracker's announce response for the engine, with the shared codec
//! (`starling_core::announce`: BEP 3, BEP 23 compact and dict peers, BEP 7 `peers6`).
//!
//! A `failure reason` is an error here, like an undecodable body: both count against
//! the tracker's passive health and make the announcer try the next tracker.

use starling_core::announce::{AnnounceReply, AnnounceResponse};

/// Decodes a response body; `Err` holds the tracker's failure reason or what was wrong.
pub fn decode(body: &[u8]) -> Result<AnnounceReply, String> {
    match AnnounceResponse::decode(body).map_err(|e| e.to_string())? {
        AnnounceResponse::Reply(reply) => Ok(reply),
        AnnounceResponse::Failure { reason } => Err(format!("tracker failure: {reason}")),
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_reply_lists_every_peer() {
        let mut body = b"d8:intervali30e5:peers6:".to_vec();
        body.extend_from_slice(&[127, 0, 0, 1, 0x1f, 0x90]);
        body.extend_from_slice(b"6:peers618:");
        body.extend_from_slice(&[0; 15]);
        body.extend_from_slice(&[1, 0, 81]);
        body.push(b'e');
        let reply = decode(&body).unwrap();
        assert_eq!(reply.interval, Some(Duration::from_secs(30)));
        let want: Vec<SocketAddr> = ["127.0.0.1:8080", "[::1]:81"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        assert_eq!(reply.addrs(), want);
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
