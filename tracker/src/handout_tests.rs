//! Hand-out ordering tests: classes, shuffling, limits, self-exclusion, locality share,
//! and the ring origins' reserved slots.

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::StdRng;

use super::*;
use crate::locality::{Rack, Zone};

/// Test peers: id number, completeness and locality; announced ones and ring origins.
struct Swarm {
    peers: HashMap<PeerId, PeerEntry>,
    ring: HashMap<PeerId, PeerEntry>,
}

fn id(n: u16) -> PeerId {
    let mut bytes = [b'x'; 20];
    bytes[..2].copy_from_slice(&n.to_be_bytes());
    PeerId::from_bytes(bytes)
}

fn n_of(peer: &PeerId) -> u16 {
    u16::from_be_bytes([peer.as_bytes()[0], peer.as_bytes()[1]])
}

fn place(zone: Option<&str>, rack: Option<&str>) -> Locality {
    Locality {
        zone: zone.map(|z| Zone::parse(z.as_bytes()).unwrap()),
        rack: rack.map(|r| Rack::parse(r.as_bytes()).unwrap()),
    }
}

impl Swarm {
    fn new() -> Self {
        Self {
            peers: HashMap::new(),
            ring: HashMap::new(),
        }
    }

    /// Adds announced peers `range` with the given class and place.
    fn add(&mut self, range: std::ops::Range<u16>, complete: bool, at: Locality) -> &mut Self {
        for n in range {
            self.peers
                .insert(id(n), entry(n, complete, false, at.clone()));
        }
        self
    }

    /// Adds ring origins `range` (complete, without a place, as the store adds them).
    fn add_origins(&mut self, range: std::ops::Range<u16>) -> &mut Self {
        for n in range {
            self.ring
                .insert(id(n), entry(n, true, true, Locality::default()));
        }
        self
    }

    /// Adds announced peers `range` whose peer id carries the origin marker.
    fn add_claimed_origins(&mut self, range: std::ops::Range<u16>) -> &mut Self {
        for n in range {
            self.peers
                .insert(id(n), entry(n, true, true, Locality::default()));
        }
        self
    }

    fn hand_out(&self, me: u16, at: &Locality, limit: usize, seed: u64) -> Vec<u16> {
        let requester = Requester {
            peer_id: &id(me),
            addr: SocketAddr::from(([127, 0, 0, 1], me)),
            locality: at,
        };
        let mut rng = StdRng::seed_from_u64(seed);
        hand_out(requester, &self.ring, &self.peers, limit, &mut rng)
            .into_iter()
            .map(|(peer, _)| n_of(peer))
            .collect()
    }
}

fn entry(n: u16, complete: bool, origin: bool, at: Locality) -> PeerEntry {
    PeerEntry {
        addr: SocketAddr::from(([127, 0, 0, 1], n)),
        complete,
        origin,
        last_seen: Instant::now(),
        locality: at,
    }
}

fn nowhere() -> Locality {
    Locality::default()
}

#[test]
fn complete_peers_come_before_leechers() {
    let mut swarm = Swarm::new();
    swarm
        .add(0..5, false, nowhere())
        .add(100..105, true, nowhere());
    for seed in 0..20 {
        let got = swarm.hand_out(999, &nowhere(), 10, seed);
        assert!(got[..5].iter().all(|n| (100..105).contains(n)), "{got:?}");
        assert!(got[5..].iter().all(|n| (0..5).contains(n)), "{got:?}");
    }
    let few = swarm.hand_out(999, &nowhere(), 3, 1);
    assert!(
        few.iter().all(|n| *n >= 100),
        "a small limit is filled by seeders: {few:?}"
    );
}

#[test]
fn origins_come_after_complete_peers_and_before_leechers() {
    let mut swarm = Swarm::new();
    swarm
        .add(0..4, false, nowhere())
        .add_origins(50..53)
        .add(100..103, true, nowhere());
    for seed in 0..20 {
        let got = swarm.hand_out(999, &nowhere(), 10, seed);
        assert_eq!(got.len(), 10);
        assert!(got[..3].iter().all(|n| *n >= 100), "{got:?}");
        assert!(got[3..6].iter().all(|n| (50..53).contains(n)), "{got:?}");
        assert!(got[6..].iter().all(|n| *n < 4), "{got:?}");
    }
    let firsts: HashSet<u16> = (0..50)
        .map(|seed| swarm.hand_out(999, &nowhere(), 10, seed)[3])
        .collect();
    assert_eq!(firsts.len(), 3, "origins are shuffled among themselves");

    // Origins have no place, so for a requester in a zone they are other-zone peers:
    // they stay in the reserved share even when local peers would fill the hand-out.
    let me = place(Some("z1"), None);
    let mut busy = Swarm::new();
    busy.add(0..40, true, place(Some("z1"), None))
        .add_origins(50..52);
    let got = busy.hand_out(999, &me, 8, 4);
    assert_eq!(
        &got[6..].iter().copied().collect::<HashSet<_>>(),
        &HashSet::from([50, 51])
    );
    assert!(got[..6].iter().all(|n| *n < 40), "{got:?}");
}

#[test]
fn never_includes_the_requester_and_never_exceeds_the_limit() {
    let mut swarm = Swarm::new();
    swarm.add(0..30, true, nowhere());
    let all = swarm.hand_out(7, &nowhere(), 100, 3);
    assert_eq!(all.len(), 29);
    assert!(!all.contains(&7));
    assert_eq!(
        all.iter().collect::<HashSet<_>>().len(),
        29,
        "no duplicates"
    );
    assert_eq!(swarm.hand_out(7, &nowhere(), 10, 3).len(), 10);
    assert!(swarm.hand_out(7, &nowhere(), 0, 3).is_empty());
    let mut restarted = Swarm::new();
    restarted.add(0..3, true, nowhere());
    restarted.peers.get_mut(&id(1)).unwrap().addr = SocketAddr::from(([127, 0, 0, 1], 500));
    let got = restarted.hand_out(500, &nowhere(), 10, 3);
    assert_eq!(
        got.len(),
        2,
        "the entry at my own address is me under an old id: {got:?}"
    );
    assert!(!got.contains(&1));
    let mut alone = Swarm::new();
    alone.add(7..8, true, nowhere());
    assert!(alone.hand_out(7, &nowhere(), 50, 3).is_empty());
}

#[test]
fn order_is_shuffled_within_a_class() {
    let mut swarm = Swarm::new();
    swarm.add(0..20, true, nowhere());
    let firsts: HashSet<u16> = (0..100)
        .map(|seed| swarm.hand_out(999, &nowhere(), 5, seed)[0])
        .collect();
    assert!(firsts.len() >= 10, "first slot should vary: {firsts:?}");
    let picked: HashSet<u16> = (0..100)
        .flat_map(|seed| swarm.hand_out(999, &nowhere(), 5, seed))
        .collect();
    assert_eq!(picked.len(), 20, "every peer gets handed out eventually");
}

#[test]
fn same_rack_then_same_zone_then_the_rest_within_a_class() {
    let me = place(Some("z1"), Some("r1"));
    let mut swarm = Swarm::new();
    swarm
        .add(0..2, true, place(Some("z2"), Some("r1")))
        .add(10..12, true, place(Some("z1"), Some("r2")))
        .add(20..22, true, place(Some("z1"), Some("r1")))
        .add(30..32, false, place(Some("z1"), Some("r1")));
    let got = swarm.hand_out(999, &me, 8, 5);
    let group = |n: &u16| n / 10;
    assert_eq!(
        got.iter().map(group).collect::<Vec<_>>(),
        [2, 2, 1, 1, 0, 0, 3, 3]
    );
}

#[test]
fn a_quarter_of_the_hand_out_is_kept_for_other_zones() {
    let me = place(Some("z1"), None);
    let mut swarm = Swarm::new();
    swarm
        .add(0..100, true, place(Some("z1"), None))
        .add(1000..1100, true, place(Some("z2"), None));
    let got = swarm.hand_out(9999, &me, 50, 11);
    assert_eq!(got.len(), 50);
    let others = got.iter().filter(|n| **n >= 1000).count();
    assert_eq!(others, 13, "ceil(50 / 4) other-zone peers");
    assert!(
        got[..37].iter().all(|n| *n < 1000),
        "locals first, in rank order: {got:?}"
    );

    // The reserve is taken from leechers' locals, not from seeders of other zones.
    let mut mixed = Swarm::new();
    mixed
        .add(0..3, true, place(Some("z2"), None))
        .add(100..110, false, place(Some("z1"), None));
    let got = mixed.hand_out(9999, &me, 8, 2);
    assert!(got[..3].iter().all(|n| *n < 100), "seeders first: {got:?}");
    assert_eq!(got.len(), 8);
}

#[test]
fn the_share_adapts_to_what_exists() {
    let me = place(Some("z1"), None);
    let mut few_others = Swarm::new();
    few_others
        .add(0..100, true, place(Some("z1"), None))
        .add(1000..1002, true, place(None, None));
    let got = few_others.hand_out(9999, &me, 50, 1);
    assert_eq!(got.len(), 50);
    assert_eq!(
        got.iter().filter(|n| **n >= 1000).count(),
        2,
        "unknown zone counts as other"
    );

    let mut few_locals = Swarm::new();
    few_locals.add(0..3, true, place(Some("z1"), None)).add(
        1000..1100,
        true,
        place(Some("z2"), None),
    );
    let got = few_locals.hand_out(9999, &me, 20, 1);
    assert_eq!(got.len(), 20);
    assert_eq!(
        &got[..3].iter().copied().collect::<HashSet<_>>(),
        &HashSet::from([0, 1, 2])
    );

    let single = few_locals.hand_out(9999, &me, 1, 1);
    assert!(
        single[0] >= 1000,
        "even a one-peer hand-out keeps the other-zone share"
    );
}

#[test]
fn ring_origins_are_never_pushed_out_by_complete_peers() {
    let mut swarm = Swarm::new();
    swarm.add(0..60, true, nowhere()).add_origins(500..502);
    for seed in 0..20 {
        let got = swarm.hand_out(999, &nowhere(), 50, seed);
        assert_eq!(got.len(), 50);
        assert!(got[..48].iter().all(|n| *n < 60), "{got:?}");
        assert_eq!(
            &got[48..].iter().copied().collect::<HashSet<_>>(),
            &HashSet::from([500, 501]),
            "both origins, after the complete peers: {got:?}"
        );
    }
    for seed in 0..5 {
        let only = swarm.hand_out(999, &nowhere(), 1, seed);
        assert!(only == [500] || only == [501], "{only:?}");
    }

    // Local seeders of a zoned requester do not push them out either.
    let me = place(Some("z1"), Some("r1"));
    let mut local = Swarm::new();
    local
        .add(0..60, true, place(Some("z1"), Some("r1")))
        .add_origins(500..503);
    let got = local.hand_out(999, &me, 50, 8);
    assert_eq!(got.len(), 50);
    assert_eq!(got.iter().filter(|n| **n >= 500).count(), 3, "{got:?}");

    // More origins than slots: every slot goes to an origin.
    let mut many = Swarm::new();
    many.add(0..10, true, nowhere()).add_origins(500..505);
    let got = many.hand_out(999, &nowhere(), 3, 1);
    assert!(got.iter().all(|n| *n >= 500), "{got:?}");
    assert_eq!(got.len(), 3);
}

#[test]
fn claimed_origins_get_no_reserved_slots_and_follow_ring_origins() {
    let mut swarm = Swarm::new();
    swarm
        .add_claimed_origins(0..60)
        .add_origins(500..501)
        .add(1000..1010, false, nowhere());
    for seed in 0..20 {
        let got = swarm.hand_out(999, &nowhere(), 50, seed);
        assert_eq!(got.len(), 50);
        assert_eq!(got[0], 500, "the ring origin leads its class: {got:?}");
        assert!(got[1..].iter().all(|n| *n < 60), "{got:?}");
    }
}

#[test]
fn ring_origins_of_other_zones_count_towards_the_other_zone_share() {
    let me = place(Some("z1"), None);
    let mut swarm = Swarm::new();
    swarm
        .add(0..100, true, place(Some("z1"), None))
        .add(1000..1100, true, place(Some("z2"), None))
        .add_origins(500..502);
    let got = swarm.hand_out(9999, &me, 12, 5);
    assert_eq!(got.len(), 12);
    assert_eq!(
        got.iter().filter(|n| (500..502).contains(*n)).count(),
        2,
        "{got:?}"
    );
    assert_eq!(
        got.iter().filter(|n| **n >= 1000).count(),
        1,
        "ceil(12 / 4) = 3 other-zone peers, two of them the origins: {got:?}"
    );
    assert!(got[..9].iter().all(|n| *n < 100), "locals first: {got:?}");
}
