use starling_core::PieceIndex;

use crate::torrent::state::Status;
use crate::torrent::state::tests::{PIECES, join, state};

fn idx(i: u32) -> PieceIndex {
    PieceIndex::new(i, PIECES).unwrap()
}

fn numbers(pieces: &[PieceIndex]) -> Vec<u32> {
    pieces.iter().map(|p| p.get()).collect()
}

#[tokio::test]
async fn nothing_is_revealed_unless_enabled_and_seeding() {
    let (mut state, _dir) = state().await;
    let a = join(&mut state, 1, 1, &[]);
    state.status = Status::Seeding;
    assert!(!state.is_super_seeding());
    assert!(state.reveal_to(a).is_empty(), "not enabled");
    state.enable_super_seed();
    state.status = Status::Downloading;
    assert!(state.reveal_to(a).is_empty(), "not seeding");
    state.status = Status::Seeding;
    assert_eq!(state.reveal_to(a).len(), 1);
}

#[tokio::test]
async fn every_piece_is_revealed_once_before_any_twice_lowest_first() {
    let (mut state, _dir) = state().await;
    state.enable_super_seed();
    state.status = Status::Seeding;
    let peers: Vec<_> = (1..=4).map(|n| join(&mut state, n, n as u8, &[])).collect();
    let mut shown = Vec::new();
    for &peer in &peers {
        let first = state.reveal_to(peer);
        assert_eq!(first.len(), 1, "a choked peer holds one piece");
        assert!(state.reveal_to(peer).is_empty(), "and no more");
        shown.extend(numbers(&first));
    }
    assert_eq!(
        shown,
        [0, 1, 2, 3],
        "in piece order, so a lone reader streams"
    );
    state.peers.get_mut(&peers[0]).unwrap().unchoked = true;
    assert_eq!(
        numbers(&state.reveal_to(peers[0])),
        [4, 5, 6],
        "an unchoked peer holds four"
    );
    state.peers.get_mut(&peers[1]).unwrap().unchoked = true;
    let second = numbers(&state.reveal_to(peers[1]));
    assert_eq!(second[0], 7, "the last piece nobody was shown");
    assert_eq!(second[1..], [0, 2], "then repeats, never one it was shown");

    // Every piece has been shown: a newcomer gets the one fewest connected peers have
    // (here: the only piece nobody reported yet).
    for (i, &peer) in peers.iter().enumerate() {
        for piece in 0..PIECES {
            if piece != 5 && (piece as usize) % 4 == i {
                state.add_have(peer, idx(piece));
            }
        }
    }
    let newcomer = join(&mut state, 9, 9, &[]);
    assert_eq!(numbers(&state.reveal_to(newcomer)), [5]);
}

#[tokio::test]
async fn a_reported_piece_makes_room_for_the_next_and_held_pieces_are_never_shown() {
    let (mut state, _dir) = state().await;
    state.enable_super_seed();
    state.status = Status::Seeding;
    let a = join(&mut state, 1, 1, &[0, 1, 2]);
    state.peers.get_mut(&a).unwrap().unchoked = true;
    assert_eq!(
        numbers(&state.reveal_to(a)),
        [3, 4, 5, 6],
        "only what it lacks"
    );
    assert!(state.reveal_to(a).is_empty(), "four open at most");
    state.add_have(a, idx(3));
    assert_eq!(numbers(&state.reveal_to(a)), [7], "a report makes room");
    state.add_have(a, idx(4));
    assert!(
        state.reveal_to(a).is_empty(),
        "nothing left that the peer lacks and was not shown"
    );

    // A disconnected peer's reveals still count: the next peer gets the pieces nobody
    // was shown first.
    let b = join(&mut state, 2, 2, &[]);
    state.unregister(a);
    state.peers.get_mut(&b).unwrap().unchoked = true;
    assert_eq!(numbers(&state.reveal_to(b)), [0, 1, 2, 3]);
}

#[tokio::test]
async fn an_origin_reveals_from_its_own_starting_piece() {
    let (mut state, _dir) = state().await;
    state.enable_super_seed_from(PIECES / 2);
    state.status = Status::Seeding;
    let agent = join(&mut state, 1, 1, &[]);
    state.peers.get_mut(&agent).unwrap().unchoked = true;
    assert_eq!(numbers(&state.reveal_to(agent)), [4, 5, 6, 7]);
    let late = join(&mut state, 2, 2, &[]);
    state.peers.get_mut(&late).unwrap().unchoked = true;
    assert_eq!(
        numbers(&state.reveal_to(late)),
        [0, 1, 2, 3],
        "then wraps around"
    );
}
