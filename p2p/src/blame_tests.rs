use std::net::SocketAddr;

use super::*;
use crate::connection::ConnId;

const COUNT: u32 = 8;

fn piece(i: u32) -> PieceIndex {
    PieceIndex::new(i, COUNT).unwrap()
}

fn peer(n: u8) -> PeerLink {
    let mut id = *b"-XX0001-blametest000";
    id[19] = n;
    PeerLink {
        conn: ConnId::new(u64::from(n)),
        peer_id: PeerId::from_bytes(id),
        addr: SocketAddr::from(([127, 0, 0, 1], 7000 + u16::from(n))),
        outgoing: true,
        class: None,
    }
}

/// A piece of four 4-byte blocks, the `i`-th sent by `senders[i]`.
fn blocks(senders: [PeerLink; 4]) -> Vec<BlockSource> {
    senders
        .into_iter()
        .enumerate()
        .map(|(i, sender)| BlockSource {
            range: i * 4..i * 4 + 4,
            sender,
        })
        .collect()
}

const GOOD: [u8; 16] = [7; 16];

/// The good piece with its first block corrupt.
fn first_block_corrupt() -> [u8; 16] {
    let mut data = GOOD;
    data[..4].copy_from_slice(&[0xAB; 4]);
    data
}

fn ids(peers: &[PeerLink]) -> Vec<PeerId> {
    peers.iter().map(|p| p.peer_id).collect()
}

#[test]
fn the_sole_source_of_a_failed_piece_is_banned_at_once() {
    let (a, b) = (peer(1), peer(2));
    let mut blame = Blame::new(2);
    let banned = blame.piece_failed(piece(0), &first_block_corrupt(), &blocks([a, a, a, a]));
    assert_eq!(ids(&banned), [a.peer_id]);
    assert_eq!(blame.strikes(&b.peer_id), 0);
}

#[test]
fn a_shared_failure_strikes_every_source_and_the_second_bans() {
    let (corrupter, honest) = (peer(1), peer(2));
    let mut blame = Blame::new(2);
    let shared = blocks([corrupter, honest, honest, honest]);
    let bad = first_block_corrupt();
    assert!(blame.piece_failed(piece(0), &bad, &shared).is_empty());
    assert_eq!(blame.strikes(&corrupter.peer_id), 1);
    assert_eq!(blame.strikes(&honest.peer_id), 1);
    // Neither has verified anything: two strikes are two failed pieces, for both.
    let banned = blame.piece_failed(piece(1), &bad, &shared);
    assert_eq!(ids(&banned), [corrupter.peer_id, honest.peer_id]);
}

#[test]
fn verified_pieces_weigh_against_strikes() {
    let (corrupter, honest) = (peer(1), peer(2));
    let mut blame = Blame::new(2);
    for i in 2..2 + VERIFIED_PIECES_PER_STRIKE {
        let own = blocks([honest; 4]);
        assert!(blame.piece_verified(piece(i), &GOOD, &own).is_empty());
    }
    let shared = blocks([corrupter, honest, honest, honest]);
    let bad = first_block_corrupt();
    assert!(blame.piece_failed(piece(0), &bad, &shared).is_empty());
    let banned = blame.piece_failed(piece(1), &bad, &shared);
    assert_eq!(
        ids(&banned),
        [corrupter.peer_id],
        "4 verified pieces buy the honest peer a third strike"
    );
    assert_eq!(blame.strikes(&honest.peer_id), 2);
    assert_eq!(
        blame.strikes(&corrupter.peer_id),
        0,
        "banned peers are forgotten"
    );
}

#[test]
fn a_verified_retry_proves_who_sent_the_corrupt_block_and_clears_the_rest() {
    let (corrupter, honest, other) = (peer(1), peer(2), peer(3));
    let mut blame = Blame::new(2);
    let shared = blocks([corrupter, honest, other, honest]);
    assert!(
        blame
            .piece_failed(piece(0), &first_block_corrupt(), &shared)
            .is_empty()
    );
    // The retry comes from the honest peer alone and verifies.
    let proven = blame.piece_verified(piece(0), &GOOD, &blocks([honest; 4]));
    assert_eq!(ids(&proven), [corrupter.peer_id]);
    assert_eq!(blame.strikes(&honest.peer_id), 0, "its blocks matched");
    assert_eq!(blame.strikes(&other.peer_id), 0);
    // Settled: verifying the piece again proves nothing more.
    assert!(
        blame
            .piece_verified(piece(0), &GOOD, &blocks([honest; 4]))
            .is_empty()
    );
}

#[test]
fn a_verified_other_piece_settles_nothing() {
    let (corrupter, honest) = (peer(1), peer(2));
    let mut blame = Blame::new(3);
    let shared = blocks([corrupter, honest, honest, honest]);
    assert!(
        blame
            .piece_failed(piece(0), &first_block_corrupt(), &shared)
            .is_empty()
    );
    assert!(
        blame
            .piece_verified(piece(5), &GOOD, &blocks([honest; 4]))
            .is_empty()
    );
    assert_eq!(blame.strikes(&corrupter.peer_id), 1);
    assert_eq!(blame.strikes(&honest.peer_id), 1);
}
