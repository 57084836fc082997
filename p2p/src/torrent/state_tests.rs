use std::net::SocketAddr;

use starling_core::metainfo::Info;
use starling_store::{Store, StoreOptions};
use tempfile::TempDir;

use super::*;
use crate::choker::UploadSlots;

const PIECE: u64 = 64;
pub(crate) const PIECES: u32 = 8;
/// Four blocks per piece.
const BLOCK: u32 = 16;

pub(crate) async fn state() -> (TorrentState, TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_root(StoreOptions {
        root: dir.path().to_path_buf(),
        idle_ttl: std::time::Duration::from_secs(3600),
        high_watermark: u64::MAX,
        low_watermark: u64::MAX,
    })
    .await
    .unwrap();
    let length = PIECE * u64::from(PIECES);
    let digest = starling_core::Digest::of(b"state tests");
    let info = Info::new(digest.hex(), length, PIECE, vec![[0; 20]; PIECES as usize]).unwrap();
    let partial = store.open_partial(&digest, length, PIECE).await.unwrap();
    let meta = Arc::new(MetaInfo::new(info, None));
    let state = TorrentState::new(meta, Bitfield::new(PIECES), Source::partial(partial), BLOCK);
    (state, dir)
}

fn peer(n: u8) -> PeerId {
    let mut id = *b"-SL0100-A00000000000";
    id[19] = b'0' + n;
    PeerId::from_bytes(id)
}

fn link(conn: u64, peer_id: PeerId, outgoing: bool) -> PeerLink {
    PeerLink {
        conn: ConnId::new(conn),
        peer_id,
        addr: SocketAddr::from(([127, 0, 0, 1], 7000 + conn as u16)),
        outgoing,
        class: None,
    }
}

pub(crate) fn join(state: &mut TorrentState, conn: u64, n: u8, pieces: &[u32]) -> ConnId {
    join_as(state, link(conn, peer(n), true), pieces)
}

fn join_as(state: &mut TorrentState, link: PeerLink, pieces: &[u32]) -> ConnId {
    state
        .register(link, peer(0), 10, CancellationToken::new())
        .unwrap();
    let mut field = Bitfield::new(PIECES);
    for &p in pieces {
        field.set(PieceIndex::new(p, PIECES).unwrap());
    }
    state.set_bitfield(link.conn, field);
    link.conn
}

fn pieces_of(requests: &[BlockRequest]) -> Vec<u32> {
    let mut pieces: Vec<u32> = requests.iter().map(|r| r.index).collect();
    pieces.dedup();
    pieces
}

#[tokio::test]
async fn registration_refuses_self_and_limits_and_settles_duplicates() {
    let (mut state, _dir) = state().await;
    let (ours, smaller, larger) = (peer(5), peer(1), peer(9));
    let token = CancellationToken::new;
    let refused = |r: Result<_, Refusal>| r.err();
    assert_eq!(
        refused(state.register(link(1, ours, true), ours, 2, token())),
        Some(Refusal::SelfConnection)
    );
    // We (5) dialled 9: the connection dialled by the smaller id wins, so the one 9
    // dials to us afterwards is the duplicate.
    state
        .register(link(2, larger, true), ours, 2, token())
        .unwrap();
    assert_eq!(
        refused(state.register(link(3, larger, false), ours, 2, token())),
        Some(Refusal::Duplicate)
    );
    // 1 dialled us first; our own dial to 1 then loses, and 1's does not replace it.
    state
        .register(link(4, smaller, false), ours, 2, token())
        .unwrap();
    assert_eq!(
        refused(state.register(link(5, smaller, true), ours, 2, token())),
        Some(Refusal::Duplicate)
    );
    assert_eq!(
        refused(state.register(link(6, peer(7), true), ours, 2, token())),
        Some(Refusal::TooManyPeers)
    );
    // We dialled 1 first; 1's own dial then replaces ours, on both sides alike.
    state.unregister(ConnId::new(4));
    state
        .register(link(7, smaller, true), ours, 2, token())
        .unwrap();
    let old = state
        .register(link(8, smaller, false), ours, 2, token())
        .unwrap();
    assert!(
        old.is_some(),
        "the superseded connection is handed back to close"
    );
    assert!(state.peers.contains_key(&ConnId::new(8)));
    assert!(!state.peers.contains_key(&ConnId::new(7)));
    state.status = Status::Stopped;
    assert_eq!(
        refused(state.register(link(9, peer(3), true), ours, 9, token())),
        Some(Refusal::NotActive)
    );
}

#[tokio::test]
async fn a_connection_finishes_its_piece_before_starting_another() {
    let (mut state, _dir) = state().await;
    let a = join(&mut state, 1, 1, &[0, 1, 2, 3, 4, 5, 6, 7]);
    let first = state.request_blocks(a, RequestRoom::blocks(2));
    assert_eq!(first.len(), 2);
    let second = state.request_blocks(a, RequestRoom::blocks(4));
    assert_eq!(
        pieces_of(&first),
        pieces_of(&second[..2]),
        "same piece first"
    );
    assert_eq!(pieces_of(&second).len(), 2, "then a new one");
    assert!(state.wants_from(a));
}

#[tokio::test]
async fn rarest_pieces_go_first_and_reader_windows_beat_them() {
    let (mut state, _dir) = state().await;
    let a = join(&mut state, 1, 1, &[0, 1, 2, 3, 4, 5, 6, 7]);
    join(&mut state, 2, 2, &[0, 1, 2, 3, 4, 5, 6]);
    // Piece 7 is held by one peer only.
    assert_eq!(
        pieces_of(&state.request_blocks(a, RequestRoom::blocks(4))),
        [7]
    );
    // The reader's window covers every piece here, so let it start at the end: of the
    // pieces left after 7, the window 2.. offers 2 to 6, and the first pick is one of them.
    state.add_cursor(PieceIndex::new(2, PIECES).unwrap());
    let windowed = pieces_of(&state.request_blocks(a, RequestRoom::blocks(4)));
    assert_eq!(windowed.len(), 1);
    assert!((2..7).contains(&windowed[0]), "{windowed:?}");
}

#[tokio::test]
async fn endgame_duplicates_only_once_everything_is_requested() {
    let (mut state, _dir) = state().await;
    let a = join(&mut state, 1, 1, &[6, 7]);
    let b = join(&mut state, 2, 2, &[7]);
    for p in 0..6 {
        state.have.set(PieceIndex::new(p, PIECES).unwrap());
    }
    assert_eq!(
        state.request_blocks(a, RequestRoom::blocks(8)).len(),
        8,
        "pieces 6 and 7"
    );
    let dup = state.request_blocks(b, RequestRoom::blocks(8));
    assert_eq!(pieces_of(&dup), [7], "only what b's peer has");
    assert_eq!(dup.len(), 4);
    assert!(
        state.request_blocks(b, RequestRoom::blocks(8)).is_empty(),
        "no block twice to one peer"
    );
}

#[tokio::test]
async fn interest_takes_free_slots_and_losing_it_passes_the_slot_on() {
    let (mut state, _dir) = state().await;
    let slots = UploadSlots::Limited(1);
    let a = join(&mut state, 1, 1, &[]);
    let b = join(&mut state, 2, 2, &[]);
    assert!(state.set_interested(a, true, slots));
    assert!(!state.set_interested(b, true, slots), "no slot left");
    assert!(!state.set_interested(a, false, slots));
    assert!(state.peers[&b].unchoked, "b took a's slot");
    let seeded = state.unregister(b).unwrap();
    assert!(seeded.unchoked);
    assert!(
        !state.fill_free_slots(UploadSlots::Unlimited),
        "a is not interested"
    );
}

#[tokio::test]
async fn origins_only_give_what_no_unchoking_peer_has() {
    let (mut state, _dir) = state().await;
    let origin_link = PeerLink {
        class: Some(PeerClass::Origin),
        ..link(1, peer(1), true)
    };
    let origin = join_as(&mut state, origin_link, &[0, 1, 2, 3, 4, 5, 6, 7]);
    let agent = join(&mut state, 2, 2, &[0, 1, 2, 3, 4, 5]);
    // The agent still chokes us: the origin is the only source.
    assert_eq!(
        state.request_blocks(origin, RequestRoom::blocks(4)).len(),
        4
    );
    state.set_choking_us(agent, false);
    let from_origin = pieces_of(&state.request_blocks(origin, RequestRoom::blocks(8)));
    assert!(from_origin.iter().all(|&p| p >= 6), "{from_origin:?}");
    assert!(
        state
            .request_blocks(origin, RequestRoom::blocks(8))
            .is_empty(),
        "pieces 6 and 7 are taken"
    );
    assert!(
        !state
            .request_blocks(agent, RequestRoom::blocks(4))
            .is_empty()
    );
}

#[tokio::test]
async fn two_origins_never_leave_a_piece_to_each_other() {
    let (mut state, _dir) = state().await;
    let origin = |conn, n| PeerLink {
        class: Some(PeerClass::Origin),
        ..link(conn, peer(n), true)
    };
    let a = join_as(&mut state, origin(1, 1), &[0, 1, 2, 3]);
    let b = join_as(&mut state, origin(2, 2), &[0, 1, 2, 3]);
    state.set_choking_us(a, false);
    state.set_choking_us(b, false);
    let from_a = pieces_of(&state.request_blocks(a, RequestRoom::blocks(4)));
    let from_b = pieces_of(&state.request_blocks(b, RequestRoom::blocks(4)));
    assert_eq!(
        from_a.len(),
        1,
        "origin a is asked although b has the piece"
    );
    assert_eq!(from_b.len(), 1, "and b although a has it");
    assert_ne!(from_a, from_b, "each gets a piece of its own");
}

#[tokio::test]
async fn a_lone_peer_fills_the_reader_window_in_order() {
    let (mut state, _dir) = state().await;
    let only = join(&mut state, 1, 1, &[0, 1, 2, 3, 4, 5, 6, 7]);
    state.add_cursor(PieceIndex::new(3, PIECES).unwrap());
    let first = state.request_blocks(only, RequestRoom::blocks(12));
    assert_eq!(pieces_of(&first), [3, 4, 5]);
}

#[tokio::test]
async fn a_full_torrent_evicts_an_idle_peer_and_remembers_its_link() {
    use crate::eviction::EvictionPolicy;
    use std::time::Duration;
    let policy = EvictionPolicy {
        evict_idle_after: Duration::from_secs(30),
        interest_grace: Duration::from_secs(10),
        idle_timeout: Duration::from_secs(120),
    };
    let (mut state, _dir) = state().await;
    let ours = peer(0);
    let (idle, busy) = (link(1, peer(1), true), link(2, peer(2), true));
    for l in [idle, busy] {
        state
            .register(l, ours, 2, CancellationToken::new())
            .unwrap();
    }
    let now = Instant::now() + Duration::from_secs(60);
    assert!(state.make_room(3, &policy, now).is_none(), "room left");
    state.record_traffic(busy.conn, now);
    let evicted = state
        .make_room(2, &policy, now)
        .expect("the idle peer goes");
    assert!(!state.peers.contains_key(&idle.conn));
    assert_eq!(
        state.link_of(idle.conn),
        Some(idle),
        "still known for blame"
    );
    evicted.cancel();
    let newcomer = link(3, peer(3), true);
    state
        .register(newcomer, ours, 2, CancellationToken::new())
        .unwrap();
    state.peers.get_mut(&newcomer.conn).unwrap().activity = Activity::new(now);
    assert!(
        state.make_room(2, &policy, now).is_none(),
        "a newcomer and a busy peer stay"
    );
    assert_eq!(state.close_idle(&policy, now), 0);
    assert_eq!(
        state.close_idle(&policy, now + Duration::from_secs(120)),
        2,
        "both idle past the timeout"
    );
}
