//! Peer store tests: updates, `stopped`, bounds and expiry with an injected clock.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::locality::Locality;

const TTL: Duration = Duration::from_secs(90);

fn hash(n: u8) -> InfoHash {
    InfoHash::from_bytes([n; 20])
}

fn peer(n: u8) -> PeerId {
    let mut id = *b"-SL0100-000000000000";
    id[19] = n;
    PeerId::from_bytes(id)
}

fn announce(info_hash: InfoHash, n: u8, left: u64, event: Event) -> PeerAnnounce {
    PeerAnnounce {
        info_hash,
        peer_id: peer(n),
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(127, 0, 0, n)), 6881),
        from_trusted_network: false,
        left,
        event,
        numwant: None,
        compact: true,
        locality: Locality::default(),
    }
}

struct Fixture {
    store: PeerStore,
    rng: StdRng,
    t0: Instant,
}

impl Fixture {
    fn new(limits: StoreLimits) -> Self {
        Self {
            store: PeerStore::new(TTL, limits),
            rng: StdRng::seed_from_u64(7),
            t0: Instant::now(),
        }
    }

    fn at(&mut self, secs: u64, req: PeerAnnounce) -> AnnounceOutcome {
        let now = self.t0 + Duration::from_secs(secs);
        self.store.announce(req, 50, &[], now, &mut self.rng)
    }
}

fn ids(outcome: &AnnounceOutcome) -> Vec<PeerId> {
    outcome.peers.iter().map(|p| p.peer_id).collect()
}

#[test]
fn announces_accumulate_and_peers_see_each_other() {
    let mut f = Fixture::new(StoreLimits::default());
    let first = f.at(0, announce(hash(1), 1, 0, Event::Started));
    assert!(first.stored);
    assert!(first.peers.is_empty(), "alone in the swarm");
    assert_eq!(
        first.counts,
        SwarmCounts {
            complete: 1,
            incomplete: 0
        }
    );

    let second = f.at(1, announce(hash(1), 2, 10, Event::Started));
    assert_eq!(ids(&second), [peer(1)]);
    assert_eq!(second.peers[0].addr, "127.0.0.1:6881".parse().unwrap());
    assert_eq!(
        second.counts,
        SwarmCounts {
            complete: 1,
            incomplete: 1
        }
    );

    f.at(2, announce(hash(2), 3, 10, Event::Started));
    assert_eq!((f.store.peer_count(), f.store.torrent_count()), (3, 2));
}

#[test]
fn a_reannounce_updates_the_entry_in_place() {
    let mut f = Fixture::new(StoreLimits::default());
    f.at(0, announce(hash(1), 1, 10, Event::Started));
    let mut moved = announce(hash(1), 1, 10, Event::Completed);
    moved.addr.set_port(7000);
    f.at(5, moved);
    let live = f.store.live_peers(&hash(1), f.t0 + Duration::from_secs(5));
    assert_eq!(live.len(), 1);
    let entry = &live[0].1;
    assert!(entry.complete, "event=completed marks the peer complete");
    assert_eq!(entry.addr.port(), 7000);
    assert_eq!(entry.last_seen, f.t0 + Duration::from_secs(5));
    assert_eq!(f.store.peer_count(), 1);
}

#[test]
fn stopped_removes_the_peer_and_an_empty_swarm() {
    let mut f = Fixture::new(StoreLimits::default());
    f.at(0, announce(hash(1), 1, 0, Event::Started));
    f.at(0, announce(hash(1), 2, 5, Event::Started));
    let stopped = f.at(1, announce(hash(1), 2, 5, Event::Stopped));
    assert!(stopped.peers.is_empty());
    assert_eq!(
        stopped.counts,
        SwarmCounts {
            complete: 1,
            incomplete: 0
        }
    );
    assert_eq!(f.store.peer_count(), 1);

    f.at(2, announce(hash(1), 1, 0, Event::Stopped));
    assert_eq!((f.store.peer_count(), f.store.torrent_count()), (0, 0));
    let unknown = f.at(3, announce(hash(9), 9, 0, Event::Stopped));
    assert_eq!(unknown.counts, SwarmCounts::default());
    assert_eq!(
        f.store.torrent_count(),
        0,
        "stopping an unknown peer creates nothing"
    );
}

#[test]
fn dead_peers_are_hidden_at_once_and_removed_by_the_sweep() {
    let mut f = Fixture::new(StoreLimits::default());
    f.at(0, announce(hash(1), 1, 0, Event::Started));
    f.at(30, announce(hash(1), 2, 0, Event::Started));

    // Peer 1 was last seen at 0s: still live just before the TTL, dead at exactly the TTL.
    let just_before = f.at(89, announce(hash(1), 3, 9, Event::Started));
    assert_eq!(just_before.counts.complete, 2);
    let at_ttl = f.at(90, announce(hash(1), 3, 9, Event::Update));
    assert_eq!(ids(&at_ttl), [peer(2)]);
    assert_eq!(
        at_ttl.counts,
        SwarmCounts {
            complete: 1,
            incomplete: 1
        }
    );
    assert_eq!(f.store.peer_count(), 3, "reads never remove");

    assert_eq!(f.store.sweep(f.t0 + Duration::from_secs(90)), 1);
    assert_eq!(f.store.peer_count(), 2);
    assert_eq!(f.store.sweep(f.t0 + Duration::from_secs(500)), 2);
    assert_eq!((f.store.peer_count(), f.store.torrent_count()), (0, 0));
}

#[test]
fn the_total_bound_turns_new_peers_away_but_still_hands_out() {
    let limits = StoreLimits {
        max_peers: 2,
        max_peers_per_torrent: 100,
        ..StoreLimits::default()
    };
    let mut f = Fixture::new(limits);
    f.at(0, announce(hash(1), 1, 0, Event::Started));
    f.at(0, announce(hash(2), 2, 0, Event::Started));
    let turned_away = f.at(0, announce(hash(1), 3, 7, Event::Started));
    assert!(!turned_away.stored);
    assert_eq!(ids(&turned_away), [peer(1)]);
    let new_torrent = f.at(0, announce(hash(3), 4, 7, Event::Started));
    assert!(!new_torrent.stored);
    assert_eq!(f.store.torrent_count(), 2, "no empty swarm is left behind");

    assert!(
        f.at(1, announce(hash(1), 1, 0, Event::Update)).stored,
        "known peers update"
    );
    f.at(2, announce(hash(2), 2, 0, Event::Stopped));
    assert!(
        f.at(3, announce(hash(1), 3, 7, Event::Started)).stored,
        "room again"
    );
    assert_eq!(f.store.peer_count(), 2);
}

#[test]
fn the_per_torrent_bound_caps_one_swarm() {
    let limits = StoreLimits {
        max_peers: 100,
        max_peers_per_torrent: 3,
        ..StoreLimits::default()
    };
    let mut f = Fixture::new(limits);
    let stored: Vec<bool> = (1..=5)
        .map(|n| f.at(0, announce(hash(1), n, 1, Event::Started)).stored)
        .collect();
    assert_eq!(stored, [true, true, true, false, false]);
    assert!(f.at(0, announce(hash(2), 9, 1, Event::Started)).stored);
    assert_eq!(f.store.peer_count(), 4);
}

#[test]
fn the_hand_out_respects_the_limit_and_omits_the_requester() {
    let mut f = Fixture::new(StoreLimits::default());
    for n in 1..=20 {
        f.at(0, announce(hash(1), n, u64::from(n % 2), Event::Started));
    }
    let now = f.t0;
    let outcome = f.store.announce(
        announce(hash(1), 1, 1, Event::Update),
        5,
        &[],
        now,
        &mut f.rng,
    );
    assert_eq!(outcome.peers.len(), 5);
    assert!(!ids(&outcome).contains(&peer(1)));
    assert_eq!(
        outcome.counts,
        SwarmCounts {
            complete: 10,
            incomplete: 10
        }
    );
}

#[test]
fn torrents_spread_over_shards() {
    let mut f = Fixture::new(StoreLimits::default());
    for n in 0..=255u8 {
        let mut bytes = [0u8; 20];
        bytes[0] = n;
        f.at(
            0,
            announce(InfoHash::from_bytes(bytes), 1, 0, Event::Started),
        );
    }
    assert_eq!(f.store.torrent_count(), 256);
    let used = f
        .store
        .shards
        .iter()
        .filter(|s| !lock_shard(s).is_empty())
        .count();
    assert_eq!(used, SHARDS);
}

/// An origin's peer id: the Starling prefix and the origin marker.
fn origin_id(n: u8) -> PeerId {
    let mut id = *b"-SL0100-O00000000000";
    id[19] = n;
    PeerId::from_bytes(id)
}

fn ring_origin(n: u8, port: u16) -> OriginSeed {
    OriginSeed {
        peer_id: origin_id(n),
        addr: SocketAddr::new(IpAddr::V4(Ipv4Addr::new(10, 0, 0, n)), port),
    }
}

#[test]
fn ring_origins_are_handed_out_once_without_being_stored() {
    let mut f = Fixture::new(StoreLimits::default());
    f.at(0, announce(hash(1), 1, 0, Event::Started));
    let origins = [ring_origin(1, 15001), ring_origin(2, 15001)];
    let now = f.t0;
    let leecher = announce(hash(1), 2, 10, Event::Started);
    let outcome = f.store.announce(leecher, 50, &origins, now, &mut f.rng);
    let mut handed = ids(&outcome);
    handed[1..].sort();
    assert_eq!(handed, [peer(1), origins[0].peer_id, origins[1].peer_id]);
    assert_eq!(outcome.peers[0].peer_id, peer(1), "complete peers first");
    assert_eq!(
        outcome.counts,
        SwarmCounts {
            complete: 3,
            incomplete: 1
        },
        "origins count as seeders"
    );
    assert_eq!(f.store.peer_count(), 2, "ring origins are not stored");

    // Origin 1 announces anyway (under its id), origin 2 restarted and announces under
    // a new id from the same address: each is listed once, as an origin.
    let mut announced = announce(hash(1), 0, 0, Event::Started);
    announced.peer_id = origins[0].peer_id;
    announced.addr = origins[0].addr;
    f.at(1, announced);
    let mut restarted = announce(hash(1), 0, 0, Event::Started);
    restarted.peer_id = origin_id(9);
    restarted.addr = origins[1].addr;
    f.at(1, restarted);
    let later = f.t0 + Duration::from_secs(2);
    let again = announce(hash(1), 2, 10, Event::Update);
    let outcome = f.store.announce(again, 50, &origins, later, &mut f.rng);
    let addrs: Vec<SocketAddr> = outcome.peers.iter().map(|p| p.addr).collect();
    assert_eq!(addrs.len(), 3, "{addrs:?}");
    assert_eq!(
        outcome.peers[0].peer_id,
        peer(1),
        "complete agents before origins"
    );
    assert!(addrs.contains(&origins[0].addr) && addrs.contains(&origins[1].addr));
    assert_eq!(outcome.counts.complete, 3);

    let mut origin_itself = announce(hash(1), 0, 0, Event::Update);
    origin_itself.peer_id = origins[0].peer_id;
    origin_itself.addr = origins[0].addr;
    let outcome = f
        .store
        .announce(origin_itself, 50, &origins, later, &mut f.rng);
    assert!(
        outcome.peers.iter().all(|p| p.addr != origins[0].addr),
        "never the requester itself"
    );
}

#[test]
fn ring_origins_are_handed_out_whatever_strangers_announce() {
    let mut f = Fixture::new(StoreLimits::default());
    for n in 1..=60 {
        f.at(0, announce(hash(1), n, 0, Event::Started));
    }
    let origins = [ring_origin(1, 15001), ring_origin(2, 15001)];
    let now = f.t0 + Duration::from_secs(1);
    for _ in 0..10 {
        let leecher = announce(hash(1), 200, 10, Event::Started);
        let outcome = f.store.announce(leecher, 50, &origins, now, &mut f.rng);
        assert_eq!(outcome.peers.len(), 50);
        let addrs: Vec<SocketAddr> = outcome.peers.iter().map(|p| p.addr).collect();
        assert!(
            origins.iter().all(|o| addrs.contains(&o.addr)),
            "every ring origin is in the hand-out: {addrs:?}"
        );
    }
}

#[test]
fn a_stranger_under_an_origins_peer_id_does_not_replace_its_address() {
    let mut f = Fixture::new(StoreLimits::default());
    let origin = ring_origin(1, 15001);
    let mut impostor = announce(hash(1), 0, 0, Event::Started);
    impostor.peer_id = origin.peer_id;
    impostor.addr = "127.0.0.66:6666".parse().unwrap();
    assert!(f.at(0, impostor).stored);
    let leecher = announce(hash(1), 2, 10, Event::Started);
    let outcome = f.store.announce(leecher, 50, &[origin], f.t0, &mut f.rng);
    assert_eq!(
        outcome.peers,
        [HandedPeer {
            peer_id: origin.peer_id,
            addr: origin.addr
        }],
        "the ring's address, listed once"
    );
    assert_eq!(outcome.counts.complete, 1);
}

/// Peer `n` of a swarm announcing from 127.0.0.1 (port `6000 + n`).
fn from_one_ip(n: u8, trusted: bool) -> PeerAnnounce {
    let mut req = announce(hash(1), n, 10, Event::Started);
    req.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 6000 + u16::from(n));
    req.from_trusted_network = trusted;
    req
}

#[test]
fn one_address_holds_at_most_max_peers_per_ip_entries_of_a_swarm() {
    let limits = StoreLimits {
        max_peers_per_ip: 3,
        ..StoreLimits::default()
    };
    let mut f = Fixture::new(limits);
    for n in 1..=5 {
        assert!(f.at(u64::from(n), from_one_ip(n, false)).stored);
    }
    let now = f.t0 + Duration::from_secs(5);
    let mut live: Vec<PeerId> = f
        .store
        .live_peers(&hash(1), now)
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    live.sort();
    assert_eq!(
        live,
        [peer(3), peer(4), peer(5)],
        "the least recent went first"
    );
    assert_eq!(f.store.peer_count(), 3);

    // Re-announcing from the same address evicts nobody; another address has its own quota.
    f.at(6, from_one_ip(3, false));
    f.at(6, announce(hash(1), 9, 10, Event::Started));
    assert_eq!(f.store.peer_count(), 4);
    // Another swarm has its own quota too.
    let mut elsewhere = from_one_ip(1, false);
    elsewhere.info_hash = hash(2);
    f.at(6, elsewhere);
    assert_eq!(f.store.peer_count(), 5);

    // A known peer that moves onto the full address evicts the least recent there.
    let mut moved = announce(hash(1), 9, 10, Event::Update);
    moved.addr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 7009);
    f.at(7, moved);
    let at_one_ip = f
        .store
        .live_peers(&hash(1), f.t0 + Duration::from_secs(7))
        .into_iter()
        .map(|(id, _)| id)
        .collect::<HashSet<_>>();
    assert_eq!(at_one_ip, HashSet::from([peer(3), peer(5), peer(9)]));
    assert_eq!(f.store.peer_count(), 4);
}

#[test]
fn announces_from_trusted_networks_are_not_bound_per_address() {
    let limits = StoreLimits {
        max_peers_per_ip: 3,
        ..StoreLimits::default()
    };
    let mut f = Fixture::new(limits);
    for n in 1..=10 {
        assert!(f.at(0, from_one_ip(n, true)).stored);
    }
    assert_eq!(f.store.peer_count(), 10);
}
