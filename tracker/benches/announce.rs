//! Announce throughput on one thread: parse + store + hand-out + bencode, no HTTP.
//!
//! Fills the store with 10,000 torrents x 50 peers (spread over 3 zones), then replays
//! pre-built re-announces of random peers and prints announces per second for both
//! phases. Run with `cargo bench -p starling-tracker --bench announce`.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{RngExt, SeedableRng};
use starling_config::tracker::TrackerConfig;
use starling_tracker::{AnnounceSettings, MetainfoSettings, StoreLimits, TrackerState};

const TORRENTS: u32 = 10_000;
const PEERS_PER_TORRENT: u32 = 50;
const REPLAYED: usize = 1_000_000;
const POOL: usize = 100_000;

fn encode(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

fn info_hash(torrent: u32) -> [u8; 20] {
    let mut bytes = [0u8; 20];
    // Spread like SHA-1 output: the shard is picked from the leading bytes.
    bytes[..8].copy_from_slice(
        &u64::from(torrent)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            .to_le_bytes(),
    );
    bytes[16..].copy_from_slice(&torrent.to_be_bytes());
    bytes
}

fn announce(torrent: u32, peer: u32, event: &str) -> (String, SocketAddr) {
    let mut peer_id = *b"-SL0100-000000000000";
    peer_id[16..].copy_from_slice(&peer.to_be_bytes());
    let query = format!(
        "info_hash={}&peer_id={}&port=6881&uploaded=0&downloaded=0&left={}&event={event}&compact=1&numwant=50&zone=zone-{}&key=1a2b3c",
        encode(&info_hash(torrent)),
        encode(&peer_id),
        if peer.is_multiple_of(5) { 0 } else { 1 << 20 },
        peer % 3
    );
    let [_, b, c, d] = (torrent * PEERS_PER_TORRENT + peer).to_be_bytes();
    (
        query,
        SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, b, c, d)), 50_000),
    )
}

fn report(phase: &str, count: usize, took: Duration) {
    let rate = count as f64 / took.as_secs_f64();
    println!("{phase}: {count} announces in {took:.2?} = {rate:.0} announces/s");
}

fn main() {
    let settings = AnnounceSettings {
        interval: Duration::from_secs(30),
        min_interval: Duration::from_secs(15),
        peer_ttl: Duration::from_secs(3600),
        announce_limit: 50,
        store_limits: StoreLimits::default(),
        addresses: starling_tracker::AddressPolicy::default(),
    };
    // The announce path never touches the metainfo lookup: an empty origin ring will do.
    let metainfo = MetainfoSettings::from_config(&TrackerConfig::default()).unwrap();
    let state = TrackerState::new(settings, metainfo);

    let started = Instant::now();
    let mut filled = 0;
    for torrent in 0..TORRENTS {
        for peer in 0..PEERS_PER_TORRENT {
            let (query, remote) = announce(torrent, peer, "started");
            state.announce(Some(&query), remote);
            filled += 1;
        }
    }
    // Includes building each query string, so it understates the tracker's own rate.
    report(
        "fill (new peers, incl. query formatting)",
        filled,
        started.elapsed(),
    );
    assert_eq!(state.store().peer_count(), filled);

    let mut rng = SmallRng::seed_from_u64(1);
    let pool: Vec<_> = (0..POOL)
        .map(|_| {
            let torrent = rng.random_range(0..TORRENTS);
            announce(torrent, rng.random_range(0..PEERS_PER_TORRENT), "")
        })
        .collect();
    let mut bytes = 0;
    let started = Instant::now();
    for i in 0..REPLAYED {
        let (query, remote) = &pool[i % POOL];
        bytes += state.announce(Some(query), *remote).len();
    }
    report(
        "re-announce (parse+store+handout+encode)",
        REPLAYED,
        started.elapsed(),
    );
    println!("average response: {} bytes", bytes / REPLAYED);
}
