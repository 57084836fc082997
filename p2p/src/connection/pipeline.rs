//! How much one connection asks of its peer at a time.
//!
//! Standard BitTorrent clients get what they expect: `pipeline_depth` requests of one
//! block each (`block_size`, 16 KiB by default; libtorrent, aria2 and Transmission refuse
//! or drop larger requests). Between Starling peers, known by the client prefix of the
//! peer id, one request spans a run of blocks up to [`STARLING_REQUEST_BYTES`]: a
//! loopback pull spent most of its CPU on per-block costs (a task hand-off, a read and a
//! flush per 16 KiB; docs/benchmarks.md), and both ends accept blocks up to
//! `MAX_BLOCK_LEN`. What is in flight to a Starling peer is bounded in bytes, not in
//! requests, so larger requests do not multiply the memory a download holds: at most
//! [`STARLING_IN_FLIGHT_BYTES`], and with an ingress cap at most a quarter second of it
//! (so that requests spread over several peers do not queue past the request timeout
//! behind the cap), but never less than `pipeline_depth` blocks, what a standard client
//! is given.

use super::requests::Outstanding;
use crate::settings::EngineSettings;
use crate::torrent::pieces::RequestRoom;

/// The largest request sent to a Starling peer: 16 blocks of 16 KiB.
pub const STARLING_REQUEST_BYTES: u32 = 256 * 1024;
/// Bytes requested and not yet received from one Starling peer, at most (plus one
/// request), on an uncapped host.
pub const STARLING_IN_FLIGHT_BYTES: u64 = 1024 * 1024;
/// With an ingress cap, a Starling peer gets at most this share of a second of it.
const CAPPED_IN_FLIGHT_DIVISOR: u64 = 4;

/// The requests a connection may send now, given those in flight.
pub fn request_room(
    settings: &EngineSettings,
    starling_peer: bool,
    outstanding: &Outstanding,
) -> RequestRoom {
    let depth = settings.p2p.pipeline_depth;
    if !starling_peer {
        return RequestRoom::blocks(depth.saturating_sub(outstanding.len()));
    }
    let block_len = settings.block_len();
    let blocks_per_request = (STARLING_REQUEST_BYTES / block_len).max(1);
    let request_len = u64::from(blocks_per_request * block_len);
    let capped = settings
        .p2p
        .ingress_rate
        .map_or(STARLING_IN_FLIGHT_BYTES, |rate| {
            (rate.as_u64() / CAPPED_IN_FLIGHT_DIVISOR).min(STARLING_IN_FLIGHT_BYTES)
        });
    let budget = capped.max(depth as u64 * u64::from(block_len));
    let room_bytes = budget.saturating_sub(outstanding.bytes());
    RequestRoom {
        requests: room_bytes.div_ceil(request_len) as usize,
        blocks_per_request: blocks_per_request as usize,
    }
}

#[cfg(test)]
mod tests {
    use std::time::Instant;

    use starling_config::{ByteRate, ByteSize, P2pConfig};
    use starling_core::peer_wire::BlockRequest;

    use super::*;

    fn settings(block_size: ByteSize, pipeline_depth: usize) -> EngineSettings {
        EngineSettings::agent(P2pConfig {
            block_size,
            pipeline_depth,
            ..P2pConfig::default()
        })
    }

    fn in_flight(lengths: &[u32]) -> Outstanding {
        let mut outstanding = Outstanding::default();
        for (i, &length) in lengths.iter().enumerate() {
            let request = BlockRequest {
                index: i as u32,
                begin: 0,
                length,
            };
            outstanding.push(request, Instant::now());
        }
        outstanding
    }

    #[test]
    fn standard_peers_get_pipeline_depth_single_blocks() {
        let defaults = settings(ByteSize::kib(16), 16);
        let room = request_room(&defaults, false, &in_flight(&[16384; 10]));
        assert_eq!(room, RequestRoom::blocks(6));
        assert_eq!(
            request_room(&defaults, false, &in_flight(&[16384; 20])),
            RequestRoom::blocks(0)
        );
    }

    #[test]
    fn starling_peers_get_large_requests_bounded_in_bytes() {
        let defaults = settings(ByteSize::kib(16), 16);
        let room = request_room(&defaults, true, &Outstanding::default());
        assert_eq!(
            room,
            RequestRoom {
                requests: 4,
                blocks_per_request: 16
            }
        );
        let three_in_flight = in_flight(&[STARLING_REQUEST_BYTES; 3]);
        assert_eq!(request_room(&defaults, true, &three_in_flight).requests, 1);
        let full = in_flight(&[STARLING_REQUEST_BYTES; 4]);
        assert_eq!(request_room(&defaults, true, &full).requests, 0);
        // A short request leaves room for one more, however short.
        let short = in_flight(&[STARLING_REQUEST_BYTES, STARLING_REQUEST_BYTES, 1000, 1000]);
        assert_eq!(request_room(&defaults, true, &short).requests, 2);
    }

    #[test]
    fn an_ingress_cap_bounds_what_is_in_flight_to_a_quarter_second() {
        let capped = |rate| {
            EngineSettings::agent(P2pConfig {
                ingress_rate: Some(rate),
                ..P2pConfig::default()
            })
        };
        let slow = capped(ByteRate::mib_per_sec(1));
        let room = request_room(&slow, true, &Outstanding::default());
        assert_eq!(
            room.requests, 1,
            "256 KiB: the standard 16 x 16 KiB, in one request"
        );
        let fast = capped(ByteRate::mib_per_sec(20));
        assert_eq!(
            request_room(&fast, true, &Outstanding::default()).requests,
            4
        );
    }

    #[test]
    fn configured_blocks_larger_than_a_starling_request_are_sent_whole() {
        let big = settings(ByteSize::mib(1), 16);
        let room = request_room(&big, true, &in_flight(&[1 << 20; 15]));
        assert_eq!(
            room,
            RequestRoom {
                requests: 1,
                blocks_per_request: 1
            },
            "the budget is pipeline_depth blocks of 1 MiB"
        );
    }
}
