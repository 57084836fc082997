//! Pieces being downloaded: which blocks are missing, requested (from whom, since when)
//! or received, and the bytes received so far.
//!
//! Invariants:
//! - a piece is here from the moment a connection starts it until it is verified
//!   ([`Pieces::finish`]) or rejected ([`Pieces::reset`]); once all its blocks are in it
//!   is `verifying` and hands out no more blocks;
//! - a block is `Requested` exactly while at least one connection has an outstanding
//!   request for it; releasing the last requester makes it `Missing` again, so timed-out
//!   or disconnected peers never strand a block;
//! - a piece has an owner (the connection that started it, which keeps fetching it) or
//!   is an orphan that the next connection able to serve it adopts. Keeping a piece with
//!   one peer means a bad piece can be blamed on exactly one peer.
//!
//! - blocks are the torrent's `block_len` (16 KiB by default, what standard clients
//!   expect); a request may span a run of consecutive blocks of one piece
//!   ([`RequestRoom::blocks_per_request`], used between Starling peers), and every block
//!   of the run keeps its own state and sender, so endgame duplicates, releases and blame
//!   work block by block whatever the request sizes.
//!
//! Pure bookkeeping: no locks, no i/o; the torrent calls it under its state lock.

use std::collections::HashMap;
use std::ops::Range;

use starling_core::PieceIndex;
use starling_core::peer_wire::{Block, BlockRequest};

use crate::connection::ConnId;

/// At most this many connections fetch one block at once (in endgame).
const MAX_REQUESTERS: usize = 2;

#[derive(Debug, Clone, PartialEq, Eq)]
enum BlockState {
    Missing,
    Requested(Vec<ConnId>),
    Received,
}

#[derive(Debug)]
struct InProgress {
    len: u32,
    owner: Option<ConnId>,
    blocks: Vec<BlockState>,
    data: Vec<u8>,
    received: u32,
    contributors: Vec<ConnId>,
    /// The connection each received block came from, by block.
    senders: Vec<Option<ConnId>>,
    verifying: bool,
}

/// How many requests a connection may still send, and how many consecutive blocks one
/// request may span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestRoom {
    pub requests: usize,
    pub blocks_per_request: usize,
}

impl RequestRoom {
    /// Room for `requests` requests of one block each (what standard clients expect).
    pub fn blocks(requests: usize) -> Self {
        Self {
            requests,
            blocks_per_request: 1,
        }
    }
}

/// A piece whose blocks are all in, ready for its SHA-1 check.
#[derive(Debug)]
pub struct CompletePiece {
    pub index: PieceIndex,
    pub data: Vec<u8>,
    /// Connections that sent at least one of its blocks.
    pub contributors: Vec<ConnId>,
    /// Each block's byte range in `data` and the connection that sent it.
    pub block_senders: Vec<(Range<usize>, ConnId)>,
}

/// What became of a received block.
#[derive(Debug)]
pub enum Received {
    /// Stored; `others_asked` if other connections had requested it too (endgame).
    Stored { others_asked: bool },
    /// Stored, and it was the piece's last block.
    Complete(CompletePiece, bool),
    /// Already had, or never asked for by anyone: dropped.
    Unwanted,
}

/// All pieces in flight for one torrent.
#[derive(Debug)]
pub struct Pieces {
    block_len: u32,
    in_progress: HashMap<PieceIndex, InProgress>,
}

impl Pieces {
    pub fn new(block_len: u32) -> Self {
        Self {
            block_len: block_len.max(1),
            in_progress: HashMap::new(),
        }
    }

    pub fn len(&self) -> usize {
        self.in_progress.len()
    }

    pub fn is_empty(&self) -> bool {
        self.in_progress.is_empty()
    }

    pub fn contains(&self, piece: PieceIndex) -> bool {
        self.in_progress.contains_key(&piece)
    }

    /// Starts `piece` of `len` bytes, owned by `owner`.
    pub fn start(&mut self, piece: PieceIndex, len: u32, owner: ConnId) {
        let count = len.div_ceil(self.block_len).max(1) as usize;
        self.in_progress.insert(
            piece,
            InProgress {
                len,
                owner: Some(owner),
                blocks: vec![BlockState::Missing; count],
                data: vec![0; len as usize],
                received: 0,
                contributors: Vec::new(),
                senders: vec![None; count],
                verifying: false,
            },
        );
    }

    /// Pieces owned by `conn`, then orphans (which `conn` adopts if `can_serve` says the
    /// peer has them), in index order.
    pub fn owned_or_adoptable(
        &mut self,
        conn: ConnId,
        can_serve: impl Fn(PieceIndex) -> bool,
    ) -> Vec<PieceIndex> {
        let mut own: Vec<PieceIndex> = Vec::new();
        let mut adopt: Vec<PieceIndex> = Vec::new();
        for (&piece, p) in &self.in_progress {
            if p.verifying || !can_serve(piece) {
                continue;
            }
            match p.owner {
                Some(owner) if owner == conn => own.push(piece),
                None => adopt.push(piece),
                Some(_) => {}
            }
        }
        for piece in &adopt {
            self.in_progress.get_mut(piece).expect("listed above").owner = Some(conn);
        }
        own.sort();
        adopt.sort();
        own.extend(adopt);
        own
    }

    /// Pieces with missing blocks, any owner, in index order.
    pub fn with_missing_blocks(&self) -> Vec<PieceIndex> {
        let mut pieces: Vec<PieceIndex> = self
            .in_progress
            .iter()
            .filter(|(_, p)| !p.verifying && p.blocks.contains(&BlockState::Missing))
            .map(|(&piece, _)| piece)
            .collect();
        pieces.sort();
        pieces
    }

    /// Hands `conn` missing blocks of `piece` until `out` holds `room.requests`
    /// requests, each a run of up to `room.blocks_per_request` consecutive blocks.
    pub fn take_missing(
        &mut self,
        piece: PieceIndex,
        conn: ConnId,
        room: RequestRoom,
        out: &mut Vec<BlockRequest>,
    ) {
        let block_len = self.block_len;
        let Some(p) = self.in_progress.get_mut(&piece).filter(|p| !p.verifying) else {
            return;
        };
        let mut i = 0;
        while i < p.blocks.len() && out.len() < room.requests {
            if p.blocks[i] != BlockState::Missing {
                i += 1;
                continue;
            }
            let run_end = (i..p.blocks.len())
                .take(room.blocks_per_request.max(1))
                .take_while(|&j| p.blocks[j] == BlockState::Missing)
                .last()
                .map_or(i, |last| last + 1);
            for state in &mut p.blocks[i..run_end] {
                *state = BlockState::Requested(vec![conn]);
            }
            out.push(run_request(piece, p.len, block_len, i..run_end));
            i = run_end;
        }
    }

    /// Endgame: hands `conn` up to `max` blocks that others requested and nobody
    /// delivered yet, from pieces `can_serve` accepts.
    pub fn take_duplicates(
        &mut self,
        conn: ConnId,
        can_serve: impl Fn(PieceIndex) -> bool,
        max: usize,
        out: &mut Vec<BlockRequest>,
    ) {
        let block_len = self.block_len;
        let mut pieces: Vec<(&PieceIndex, &mut InProgress)> = self
            .in_progress
            .iter_mut()
            .filter(|(piece, p)| !p.verifying && can_serve(**piece))
            .collect();
        pieces.sort_by_key(|(piece, _)| **piece);
        for (&piece, p) in pieces {
            for (i, state) in p.blocks.iter_mut().enumerate() {
                if out.len() >= max {
                    return;
                }
                if let BlockState::Requested(by) = state
                    && by.len() < MAX_REQUESTERS
                    && !by.contains(&conn)
                {
                    by.push(conn);
                    out.push(run_request(piece, p.len, block_len, i..i + 1));
                }
            }
        }
    }

    /// Withdraws `conn`'s request for the blocks of `request` (timeout, choke, cancel).
    pub fn release(&mut self, conn: ConnId, request: &BlockRequest, count: u32) {
        let Some(piece) = PieceIndex::new(request.index, count) else {
            return;
        };
        let block_len = self.block_len;
        if let Some(p) = self.in_progress.get_mut(&piece)
            && let Some(run) = block_run(p, block_len, request)
        {
            for state in &mut p.blocks[run] {
                unrequest(state, conn);
            }
        }
    }

    /// Withdraws every request of a closing connection and orphans its pieces.
    pub fn release_all(&mut self, conn: ConnId) {
        for p in self.in_progress.values_mut() {
            if p.owner == Some(conn) {
                p.owner = None;
            }
            for state in &mut p.blocks {
                unrequest(state, conn);
            }
        }
    }

    /// Whether any block of `request` is still worth receiving.
    pub fn is_needed(&self, request: &BlockRequest, count: u32) -> bool {
        let Some(piece) = PieceIndex::new(request.index, count) else {
            return false;
        };
        self.in_progress.get(&piece).is_some_and(|p| {
            !p.verifying
                && block_run(p, self.block_len, request)
                    .is_some_and(|run| p.blocks[run].iter().any(|s| *s != BlockState::Received))
        })
    }

    /// Stores a block from `conn`; only exact blocks (or runs of them) of pieces in
    /// progress are taken, and of a run only the blocks not received yet.
    pub fn receive(&mut self, conn: ConnId, block: &Block, count: u32) -> Received {
        let Some(piece) = PieceIndex::new(block.index, count) else {
            return Received::Unwanted;
        };
        let block_len = self.block_len;
        let Some(p) = self.in_progress.get_mut(&piece).filter(|p| !p.verifying) else {
            return Received::Unwanted;
        };
        let request = BlockRequest {
            index: block.index,
            begin: block.begin,
            length: block.data.len() as u32,
        };
        let Some(run) = block_run(p, block_len, &request) else {
            return Received::Unwanted;
        };
        let mut others_asked = false;
        let mut stored = false;
        for i in run {
            let state = &mut p.blocks[i];
            match state {
                BlockState::Received => continue,
                BlockState::Missing => {}
                BlockState::Requested(by) => others_asked |= by.iter().any(|&c| c != conn),
            }
            *state = BlockState::Received;
            let begin = i * block_len as usize;
            let end = (begin + block_len as usize).min(p.len as usize);
            let from = begin - block.begin as usize;
            p.data[begin..end].copy_from_slice(&block.data[from..from + (end - begin)]);
            p.received += 1;
            p.senders[i] = Some(conn);
            stored = true;
        }
        if !stored {
            return Received::Unwanted;
        }
        if !p.contributors.contains(&conn) {
            p.contributors.push(conn);
        }
        if p.received as usize == p.blocks.len() {
            p.verifying = true;
            let complete = CompletePiece {
                index: piece,
                data: std::mem::take(&mut p.data),
                contributors: p.contributors.clone(),
                block_senders: block_senders(&p.senders, p.len, block_len),
            };
            return Received::Complete(complete, others_asked);
        }
        Received::Stored { others_asked }
    }

    /// Forgets a verified piece.
    pub fn finish(&mut self, piece: PieceIndex) {
        self.in_progress.remove(&piece);
    }

    /// Forgets a piece that failed verification, so it is fetched again from scratch.
    pub fn reset(&mut self, piece: PieceIndex) {
        self.in_progress.remove(&piece);
    }
}

/// The byte range of every received block with its sender.
fn block_senders(
    senders: &[Option<ConnId>],
    len: u32,
    block_len: u32,
) -> Vec<(Range<usize>, ConnId)> {
    senders
        .iter()
        .enumerate()
        .filter_map(|(i, sender)| {
            let begin = i * block_len as usize;
            let end = (begin + block_len as usize).min(len as usize);
            sender.map(|conn| (begin..end, conn))
        })
        .collect()
}

/// The request for the blocks `run` of a piece of `len` bytes.
fn run_request(piece: PieceIndex, len: u32, block_len: u32, run: Range<usize>) -> BlockRequest {
    let begin = run.start as u32 * block_len;
    let end = (run.end as u32).saturating_mul(block_len).min(len);
    BlockRequest {
        index: piece.get(),
        begin,
        length: end - begin,
    }
}

/// The blocks `request` names, if it covers exactly a run of the piece's blocks.
fn block_run(p: &InProgress, block_len: u32, request: &BlockRequest) -> Option<Range<usize>> {
    let begin = request.begin;
    if !begin.is_multiple_of(block_len) || begin >= p.len || request.length == 0 {
        return None;
    }
    let end = begin
        .checked_add(request.length)
        .filter(|&end| end <= p.len)?;
    if end != p.len && !end.is_multiple_of(block_len) {
        return None;
    }
    Some((begin / block_len) as usize..end.div_ceil(block_len) as usize)
}

fn unrequest(state: &mut BlockState, conn: ConnId) {
    if let BlockState::Requested(by) = state {
        by.retain(|&c| c != conn);
        if by.is_empty() {
            *state = BlockState::Missing;
        }
    }
}

#[cfg(test)]
#[path = "pieces_tests.rs"]
mod tests;
