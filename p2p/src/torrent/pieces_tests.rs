use bytes::Bytes;

use super::*;

const COUNT: u32 = 4;
const A: ConnId = ConnId::new(1);
const B: ConnId = ConnId::new(2);
const C: ConnId = ConnId::new(3);

fn piece(i: u32) -> PieceIndex {
    PieceIndex::new(i, COUNT).unwrap()
}

fn block(req: &BlockRequest, fill: u8) -> Block {
    Block {
        index: req.index,
        begin: req.begin,
        data: Bytes::from(vec![fill; req.length as usize]),
    }
}

/// Piece 1 of 10 bytes in blocks of 4: 4 + 4 + 2.
fn pieces() -> Pieces {
    let mut pieces = Pieces::new(4);
    pieces.start(piece(1), 10, A);
    pieces
}

fn take(pieces: &mut Pieces, conn: ConnId, max: usize) -> Vec<BlockRequest> {
    let mut out = Vec::new();
    pieces.take_missing(piece(1), conn, RequestRoom::blocks(max), &mut out);
    out
}

#[test]
fn blocks_cover_the_piece_and_assemble_in_place() {
    let mut pieces = pieces();
    let reqs = take(&mut pieces, A, 10);
    let spans: Vec<(u32, u32)> = reqs.iter().map(|r| (r.begin, r.length)).collect();
    assert_eq!(spans, [(0, 4), (4, 4), (8, 2)]);
    assert!(take(&mut pieces, B, 10).is_empty(), "all requested");
    // Out of order arrival.
    for (req, fill) in [(&reqs[2], 3), (&reqs[0], 1)] {
        assert!(matches!(
            pieces.receive(A, &block(req, fill), COUNT),
            Received::Stored {
                others_asked: false
            }
        ));
    }
    let Received::Complete(done, false) = pieces.receive(A, &block(&reqs[1], 2), COUNT) else {
        panic!("the last block completes the piece");
    };
    assert_eq!(done.index, piece(1));
    assert_eq!(done.data, [1, 1, 1, 1, 2, 2, 2, 2, 3, 3]);
    assert_eq!(done.contributors, [A]);
    assert_eq!(done.block_senders, [(0..4, A), (4..8, A), (8..10, A)]);
    assert!(
        take(&mut pieces, A, 10).is_empty(),
        "verifying pieces hand out nothing"
    );
    assert!(!pieces.is_needed(&reqs[0], COUNT));
    pieces.finish(piece(1));
    assert!(!pieces.contains(piece(1)));
}

#[test]
fn only_exact_blocks_of_pieces_in_progress_are_taken() {
    let mut pieces = pieces();
    let reqs = take(&mut pieces, A, 10);
    let bad = [
        Block {
            index: 2,
            begin: 0,
            data: Bytes::from_static(&[0; 4]),
        },
        Block {
            index: 9,
            begin: 0,
            data: Bytes::from_static(&[0; 4]),
        },
        Block {
            index: 1,
            begin: 2,
            data: Bytes::from_static(&[0; 4]),
        },
        Block {
            index: 1,
            begin: 0,
            data: Bytes::from_static(&[0; 3]),
        },
        Block {
            index: 1,
            begin: 8,
            data: Bytes::from_static(&[0; 4]),
        },
        Block {
            index: 1,
            begin: 12,
            data: Bytes::from_static(&[0; 4]),
        },
    ];
    for block in &bad {
        assert!(
            matches!(pieces.receive(A, block, COUNT), Received::Unwanted),
            "{block:?}"
        );
    }
    pieces.receive(B, &block(&reqs[0], 1), COUNT);
    assert!(matches!(
        pieces.receive(A, &block(&reqs[0], 1), COUNT),
        Received::Unwanted
    ));
}

#[test]
fn released_blocks_go_back_to_missing() {
    let mut pieces = pieces();
    let reqs = take(&mut pieces, A, 2);
    assert_eq!(reqs.len(), 2);
    pieces.release(A, &reqs[0], COUNT);
    let again = take(&mut pieces, B, 10);
    assert_eq!(again.iter().map(|r| r.begin).collect::<Vec<_>>(), [0, 8]);
    assert!(pieces.is_needed(&reqs[1], COUNT));
}

#[test]
fn a_closed_connection_orphans_its_piece_for_the_next_one() {
    let mut pieces = pieces();
    pieces.start(piece(3), 4, B);
    take(&mut pieces, A, 1);
    assert_eq!(pieces.owned_or_adoptable(A, |_| true), [piece(1)]);
    pieces.release_all(A);
    // C's peer lacks piece 1: nothing to adopt.
    assert!(pieces.owned_or_adoptable(C, |p| p != piece(1)).is_empty());
    assert_eq!(pieces.owned_or_adoptable(C, |_| true), [piece(1)]);
    assert!(
        pieces.owned_or_adoptable(A, |_| true).is_empty(),
        "C owns it now"
    );
    let reqs = take(&mut pieces, C, 10);
    assert_eq!(reqs.len(), 3, "A's request was released too");
    assert_eq!(pieces.with_missing_blocks(), [piece(3)]);
}

#[test]
fn endgame_duplicates_are_bounded_and_flagged_on_arrival() {
    let mut pieces = pieces();
    let reqs = take(&mut pieces, A, 10);
    let mut dup = Vec::new();
    pieces.take_duplicates(A, |_| true, 10, &mut dup);
    assert!(dup.is_empty(), "never the same block twice to one peer");
    pieces.take_duplicates(B, |_| true, 2, &mut dup);
    assert_eq!(dup, reqs[..2]);
    let mut third = Vec::new();
    pieces.take_duplicates(C, |_| true, 10, &mut third);
    assert_eq!(third, reqs[2..], "at most two requesters per block");
    let mut none = Vec::new();
    pieces.take_duplicates(C, |p| p != piece(1), 10, &mut none);
    assert!(none.is_empty());
    assert!(matches!(
        pieces.receive(B, &block(&reqs[0], 1), COUNT),
        Received::Stored { others_asked: true }
    ));
    assert!(
        !pieces.is_needed(&reqs[0], COUNT),
        "A's copy is now cancelled"
    );
}

#[test]
fn each_block_is_attributed_to_the_connection_that_sent_it() {
    let mut pieces = pieces();
    let reqs = take(&mut pieces, A, 10);
    assert!(matches!(
        pieces.receive(A, &block(&reqs[0], 0xAB), COUNT),
        Received::Stored { .. }
    ));
    // A never answers the rest: its requests time out and B takes them.
    for req in &reqs[1..] {
        pieces.release(A, req, COUNT);
    }
    let rest = take(&mut pieces, B, 10);
    assert_eq!(rest, reqs[1..]);
    assert!(matches!(
        pieces.receive(B, &block(&rest[0], 2), COUNT),
        Received::Stored { .. }
    ));
    let Received::Complete(done, false) = pieces.receive(B, &block(&rest[1], 3), COUNT) else {
        panic!("the last block completes the piece");
    };
    assert_eq!(done.contributors, [A, B]);
    assert_eq!(done.block_senders, [(0..4, A), (4..8, B), (8..10, B)]);
}

fn take_runs(pieces: &mut Pieces, conn: ConnId, blocks_per_request: usize) -> Vec<BlockRequest> {
    let room = RequestRoom {
        requests: 10,
        blocks_per_request,
    };
    let mut out = Vec::new();
    pieces.take_missing(piece(1), conn, room, &mut out);
    out
}

#[test]
fn a_request_may_span_a_run_of_blocks_each_kept_apart() {
    let mut pieces = pieces();
    let runs = take_runs(&mut pieces, A, 2);
    let spans: Vec<(u32, u32)> = runs.iter().map(|r| (r.begin, r.length)).collect();
    assert_eq!(spans, [(0, 8), (8, 2)], "two blocks, then the short tail");
    let bad = BlockRequest {
        length: 6,
        ..runs[0]
    };
    assert!(
        matches!(
            pieces.receive(A, &block(&bad, 9), COUNT),
            Received::Unwanted
        ),
        "a run must end on a block boundary"
    );
    assert!(matches!(
        pieces.receive(A, &block(&runs[0], 1), COUNT),
        Received::Stored {
            others_asked: false
        }
    ));
    let Received::Complete(done, false) = pieces.receive(A, &block(&runs[1], 3), COUNT) else {
        panic!("the tail completes the piece");
    };
    assert_eq!(done.data, [1, 1, 1, 1, 1, 1, 1, 1, 3, 3]);
    assert_eq!(done.block_senders, [(0..4, A), (4..8, A), (8..10, A)]);
}

#[test]
fn runs_stop_at_requested_blocks_and_store_only_what_is_missing() {
    let mut pieces = pieces();
    let single = take(&mut pieces, B, 1);
    assert_eq!((single[0].begin, single[0].length), (0, 4));
    let runs = take_runs(&mut pieces, A, 3);
    let spans: Vec<(u32, u32)> = runs.iter().map(|r| (r.begin, r.length)).collect();
    assert_eq!(spans, [(4, 6)], "the run starts after B's block");
    // A releasing its run makes both of its blocks missing again, B's stays requested.
    pieces.release(A, &runs[0], COUNT);
    assert_eq!(take(&mut pieces, C, 10).len(), 2);
    // Endgame: B also fetches a block of C's; A's whole-piece answer stores the rest.
    let mut dup = Vec::new();
    pieces.take_duplicates(B, |_| true, 10, &mut dup);
    assert_eq!(dup.len(), 2);
    assert!(matches!(
        pieces.receive(B, &block(&dup[0], 2), COUNT),
        Received::Stored { others_asked: true }
    ));
    let whole = BlockRequest {
        index: 1,
        begin: 0,
        length: 10,
    };
    assert!(pieces.is_needed(&whole, COUNT));
    let Received::Complete(done, true) = pieces.receive(C, &block(&whole, 7), COUNT) else {
        panic!("the rest completes the piece, with others asked");
    };
    assert_eq!(done.data, [7, 7, 7, 7, 2, 2, 2, 2, 7, 7]);
    assert_eq!(done.block_senders, [(0..4, C), (4..8, B), (8..10, C)]);
    assert!(!pieces.is_needed(&whole, COUNT));
}
