//! The mutable state of one swarm, held under the torrent's lock: our pieces, the
//! connected peers (their pieces, interest and choke state), pieces in flight, reader
//! cursors, and the decisions each connection makes for itself against it.
//!
//! Everything here is synchronous and quick (no i/o, no awaiting), so the lock is never
//! held across an await. Connections call in to register, report what their peer has,
//! pick blocks, hand in blocks, and learn whether to choke; the driver calls in for
//! choke rounds.

use std::collections::{HashMap, VecDeque};
use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use rand::SeedableRng;
use rand::rngs::SmallRng;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::BlockRequest;
use starling_core::{Bitfield, PeerId, PieceIndex};
use tokio_util::sync::CancellationToken;

use super::candidates::Candidates;
use super::pieces::{Pieces, RequestRoom};
use super::source::Source;
use super::super_seed::SuperSeed;
use crate::blame::Blame;
use crate::connection::{ConnId, PeerLink};
use crate::eviction::Activity;
use crate::peer_class::PeerClass;
use crate::picker::Picker;

/// Bytes just after a reader's cursor that are fetched before the rest (rarest first
/// within them, see the picker).
const READER_WINDOW_BYTES: u64 = 4 << 20;
/// A window spans at least this many pieces, so a few peers can share it.
const MIN_WINDOW_PIECES: u64 = 4;

/// Where a torrent is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Downloading,
    /// Every piece is verified; the whole blob's sha256 is being checked.
    Committing,
    Seeding,
    Failed(String),
    Stopped,
}

impl Status {
    pub fn is_active(&self) -> bool {
        matches!(self, Self::Downloading | Self::Committing | Self::Seeding)
    }
}

/// How [`TorrentState::request_blocks`] chooses new pieces for one connection.
struct PickPolicy {
    /// If set, only pieces not in it: the ones no other serving peer has.
    only_unique: Option<Bitfield>,
    windows: Vec<Range<u32>>,
    windows_in_order: bool,
}

/// Why a connection was turned away after the handshakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    NotActive,
    SelfConnection,
    Duplicate,
    TooManyPeers,
}

impl Refusal {
    pub fn reason(self) -> &'static str {
        match self {
            Self::NotActive => "the torrent is no longer active",
            Self::SelfConnection => "that is our own peer id",
            Self::Duplicate => "already connected to that peer id",
            Self::TooManyPeers => "the torrent has its maximum of connections",
        }
    }
}

/// One connected peer.
#[derive(Debug)]
pub struct PeerEntry {
    pub link: PeerLink,
    pub bitfield: Bitfield,
    /// The peer wants pieces from us.
    pub interested: bool,
    /// We let the peer download (the choker's decision; the session sends it).
    pub unchoked: bool,
    /// Piece bytes received from / sent to the peer in this choke round.
    pub round_received: u64,
    pub round_sent: u64,
    /// The peer chokes us (as its last choke/unchoke said).
    pub choking_us: bool,
    /// The peer let our requests time out; until then it is not counted on.
    pub snubbed_until: Option<Instant>,
    /// Block traffic and interest, for eviction and the idle sweep.
    pub activity: Activity,
    pub close: CancellationToken,
}

/// The state of one swarm.
#[derive(Debug)]
pub struct TorrentState {
    pub meta: Arc<MetaInfo>,
    pub status: Status,
    pub have: Bitfield,
    pub source: Source,
    pub pieces: Pieces,
    pub picker: Picker,
    pub peers: HashMap<ConnId, PeerEntry>,
    by_peer_id: HashMap<PeerId, ConnId>,
    /// Addresses from announces, to dial.
    pub candidates: Candidates,
    cursors: HashMap<u64, PieceIndex>,
    next_cursor: u64,
    pub(super) optimistic: Option<ConnId>,
    /// Last time a block was served (seeders idle out without it).
    pub last_upload: Instant,
    pub uploaded: u64,
    /// Bytes of verified pieces.
    pub downloaded: u64,
    /// Bytes of blocks received that we asked for (progress, for stall detection).
    pub received: u64,
    pub(super) rng: SmallRng,
    /// Set on origins: pieces are revealed to peers one by one (see `super_seed`).
    pub(super) super_seed: Option<SuperSeed>,
    /// Strikes for failed pieces and the blocks of failed pieces (see `blame`).
    pub blame: Blame,
    /// The last connections that went away, so that blocks they sent can still be
    /// blamed on their peer (see `admission`).
    pub(super) departed: VecDeque<PeerLink>,
}

impl TorrentState {
    pub fn new(meta: Arc<MetaInfo>, have: Bitfield, source: Source, block_len: u32) -> Self {
        let status = if have.is_complete() && source.is_committed() {
            Status::Seeding
        } else if have.is_complete() {
            Status::Committing
        } else {
            Status::Downloading
        };
        Self {
            picker: Picker::new(meta.piece_count()),
            pieces: Pieces::new(block_len),
            meta,
            status,
            have,
            source,
            peers: HashMap::new(),
            by_peer_id: HashMap::new(),
            candidates: Candidates::default(),
            cursors: HashMap::new(),
            next_cursor: 0,
            optimistic: None,
            last_upload: Instant::now(),
            uploaded: 0,
            downloaded: 0,
            received: 0,
            rng: SmallRng::seed_from_u64(rand::random()),
            super_seed: None,
            blame: Blame::new(starling_config::p2p::default_bad_piece_strikes()),
            departed: VecDeque::new(),
        }
    }

    /// Reveals pieces one by one while seeding, as origins do (see `super_seed`),
    /// starting from piece 0 among equals.
    pub fn enable_super_seed(&mut self) {
        self.enable_super_seed_from(0);
    }

    /// The same, starting from piece `first` among equals.
    pub fn enable_super_seed_from(&mut self, first: u32) {
        self.super_seed = Some(SuperSeed::new(self.piece_count(), first));
    }

    pub fn piece_count(&self) -> u32 {
        self.have.piece_count()
    }

    /// Bytes still missing.
    pub fn left(&self) -> u64 {
        let missing: u64 = (0..self.piece_count())
            .filter_map(|i| self.meta.piece_index(i))
            .filter(|&p| !self.have.has(p))
            .map(|p| self.meta.piece_len(p))
            .sum();
        missing
    }

    /// Admits an established connection. If it replaces an older connection to the same
    /// peer, the older one's close token is returned for the caller to cancel.
    ///
    /// Duplicates (both sides dialled each other) are resolved the same way on both
    /// ends: the connection dialled by the smaller peer id survives.
    pub fn register(
        &mut self,
        link: PeerLink,
        our_id: PeerId,
        max_peers: usize,
        close: CancellationToken,
    ) -> Result<Option<CancellationToken>, Refusal> {
        if !self.status.is_active() {
            return Err(Refusal::NotActive);
        }
        if link.peer_id == our_id {
            return Err(Refusal::SelfConnection);
        }
        let mut replaced = None;
        if let Some(&existing) = self.by_peer_id.get(&link.peer_id) {
            let dialled_by_smaller = |outgoing: bool| outgoing == (our_id < link.peer_id);
            let old_outgoing = self.peers[&existing].link.outgoing;
            if !dialled_by_smaller(link.outgoing) || dialled_by_smaller(old_outgoing) {
                return Err(Refusal::Duplicate);
            }
            let old = self
                .unregister(existing)
                .expect("indexed peers are registered");
            replaced = Some(old.close);
        } else if self.peers.len() >= max_peers {
            return Err(Refusal::TooManyPeers);
        }
        self.by_peer_id.insert(link.peer_id, link.conn);
        let bitfield = Bitfield::new(self.piece_count());
        self.peers.insert(
            link.conn,
            PeerEntry {
                link,
                bitfield,
                interested: false,
                unchoked: false,
                round_received: 0,
                round_sent: 0,
                choking_us: true,
                snubbed_until: None,
                activity: Activity::new(Instant::now()),
                close,
            },
        );
        Ok(replaced)
    }

    /// Forgets a connection: its pieces, its requests and its upload slot.
    pub fn unregister(&mut self, conn: ConnId) -> Option<PeerEntry> {
        let entry = self.peers.remove(&conn)?;
        if self.by_peer_id.get(&entry.link.peer_id) == Some(&conn) {
            self.by_peer_id.remove(&entry.link.peer_id);
        }
        self.picker.remove_bitfield(&entry.bitfield);
        self.pieces.release_all(conn);
        if self.optimistic == Some(conn) {
            self.optimistic = None;
        }
        if let Some(seed) = self.super_seed.as_mut() {
            seed.forget(conn);
        }
        self.remember_departed(entry.link);
        Some(entry)
    }

    /// Records the peer's bitfield; returns whether we want something from it.
    pub fn set_bitfield(&mut self, conn: ConnId, bitfield: Bitfield) -> bool {
        let Some(entry) = self.peers.get_mut(&conn) else {
            return false;
        };
        self.picker.remove_bitfield(&entry.bitfield);
        self.picker.add_bitfield(&bitfield);
        entry.bitfield = bitfield;
        self.wants_from(conn)
    }

    /// Records a `have`; returns whether we want something from the peer.
    pub fn add_have(&mut self, conn: ConnId, piece: PieceIndex) -> bool {
        let Some(entry) = self.peers.get_mut(&conn) else {
            return false;
        };
        if entry.bitfield.set(piece) {
            self.picker.add_piece(piece);
        }
        self.wants_from(conn)
    }

    /// Whether the peer has a piece we lack.
    pub fn wants_from(&self, conn: ConnId) -> bool {
        self.peers.get(&conn).is_some_and(|entry| {
            entry
                .bitfield
                .as_bytes()
                .iter()
                .zip(self.have.as_bytes())
                .any(|(theirs, ours)| theirs & !ours != 0)
        })
    }

    pub fn peer_is_seed(&self, conn: ConnId) -> bool {
        self.peers
            .get(&conn)
            .is_some_and(|e| e.bitfield.is_complete())
    }

    /// Hands `conn` up to `room.requests` block requests (each a run of up to
    /// `room.blocks_per_request` blocks) for its peer: its own pieces first, then
    /// new pieces (reader windows, then rarest first; see [`Self::pick_policy`]), then
    /// blocks of others' pieces, and in endgame duplicates of blocks others have not
    /// delivered yet.
    pub fn request_blocks(&mut self, conn: ConnId, room: RequestRoom) -> Vec<BlockRequest> {
        let mut out = Vec::new();
        let Some(entry) = self.peers.get(&conn) else {
            return out;
        };
        if self.status != Status::Downloading {
            return out;
        }
        let peer_has = entry.bitfield.clone();
        for piece in self.pieces.owned_or_adoptable(conn, |p| peer_has.has(p)) {
            self.pieces.take_missing(piece, conn, room, &mut out);
        }
        let policy = self.pick_policy(conn);
        self.start_pieces(conn, &peer_has, &policy, room, &mut out);
        for piece in self.pieces.with_missing_blocks() {
            if out.len() >= room.requests {
                break;
            }
            if peer_has.has(piece) {
                self.pieces.take_missing(piece, conn, room, &mut out);
            }
        }
        if out.is_empty() && self.in_endgame() {
            self.pieces
                .take_duplicates(conn, |p| peer_has.has(p), room.requests, &mut out);
        }
        out
    }

    /// How new pieces are chosen for `conn`'s peer.
    ///
    /// Origins are the last resort: their bandwidth is shared by the whole cluster, so an
    /// origin is asked for a new piece only if no agent serving us has it, and,
    /// while other agents are connected, rarest first over the whole blob rather than
    /// in reader windows, so that agents streaming the same blob do not all ask it for
    /// the same pieces. A connection's peer that is the only one fills windows in order.
    fn pick_policy(&self, conn: ConnId) -> PickPolicy {
        let from_origin = self
            .peers
            .get(&conn)
            .is_some_and(|e| e.link.class == Some(PeerClass::Origin));
        PickPolicy {
            only_unique: from_origin.then(|| self.served_by_others(conn)),
            windows: if from_origin && self.has_swarm(conn) {
                Vec::new()
            } else {
                self.windows()
            },
            windows_in_order: self.peers.len() == 1,
        }
    }

    /// Starts new pieces the peer has until `out` holds `max` requests.
    fn start_pieces(
        &mut self,
        conn: ConnId,
        peer_has: &Bitfield,
        policy: &PickPolicy,
        room: RequestRoom,
        out: &mut Vec<BlockRequest>,
    ) {
        while out.len() < room.requests {
            let (have, pieces) = (&self.have, &self.pieces);
            let wanted = |p: PieceIndex| {
                peer_has.has(p)
                    && !have.has(p)
                    && !pieces.contains(p)
                    && policy.only_unique.as_ref().is_none_or(|e| !e.has(p))
            };
            let (windows, in_order) = (&policy.windows, policy.windows_in_order);
            let Some(piece) = self.picker.pick(wanted, windows, in_order, &mut self.rng) else {
                return;
            };
            let len = self.meta.piece_len(piece) as u32;
            self.pieces.start(piece, len, conn);
            self.pieces.take_missing(piece, conn, room, out);
        }
    }

    /// Pieces that agents (or other non-origin peers) other than `conn` which currently
    /// serve us (they unchoke us and answer in time) have. Other origins do not count:
    /// an origin is never "another peer that has it" for an origin, or two origins
    /// that both hold the blob would each leave every piece to the other.
    fn served_by_others(&self, conn: ConnId) -> Bitfield {
        let mut union = vec![0u8; Bitfield::byte_len(self.piece_count())];
        let now = Instant::now();
        let serving = self.peers.values().filter(|e| {
            e.link.conn != conn
                && e.link.class != Some(PeerClass::Origin)
                && !e.choking_us
                && e.snubbed_until.is_none_or(|t| t <= now)
        });
        for entry in serving {
            for (acc, byte) in union.iter_mut().zip(entry.bitfield.as_bytes()) {
                *acc |= byte;
            }
        }
        Bitfield::from_bytes(&union, self.piece_count()).expect("a union of valid bitfields")
    }

    /// Whether peers other than `conn` that are not origins are connected.
    fn has_swarm(&self, conn: ConnId) -> bool {
        self.peers
            .values()
            .any(|e| e.link.conn != conn && e.link.class != Some(PeerClass::Origin))
    }

    /// Records that the peer let requests time out (until `until`), or delivered again.
    pub fn set_snubbed(&mut self, conn: ConnId, until: Option<Instant>) {
        if let Some(entry) = self.peers.get_mut(&conn) {
            entry.snubbed_until = until;
        }
    }

    /// Records the peer's latest choke or unchoke.
    pub fn set_choking_us(&mut self, conn: ConnId, choking: bool) {
        if let Some(entry) = self.peers.get_mut(&conn) {
            entry.choking_us = choking;
        }
    }

    /// True once every missing piece is in flight and no block is unrequested.
    fn in_endgame(&self) -> bool {
        let missing = self.piece_count() - self.have.count();
        self.pieces.len() as u32 >= missing && self.pieces.with_missing_blocks().is_empty()
    }

    /// Piece ranges just after each reader cursor, most urgent (lowest) first.
    fn windows(&self) -> Vec<Range<u32>> {
        let piece_len = self.meta.info().piece_length().max(1);
        let span = (READER_WINDOW_BYTES / piece_len).max(MIN_WINDOW_PIECES) as u32;
        let mut starts: Vec<u32> = self.cursors.values().map(|p| p.get()).collect();
        starts.sort_unstable();
        starts
            .into_iter()
            .map(|s| s..s.saturating_add(span))
            .collect()
    }

    /// Registers a reader waiting at `piece`; returns its cursor id.
    pub fn add_cursor(&mut self, piece: PieceIndex) -> u64 {
        self.next_cursor += 1;
        self.cursors.insert(self.next_cursor, piece);
        self.next_cursor
    }

    pub fn move_cursor(&mut self, id: u64, piece: PieceIndex) {
        if let Some(cursor) = self.cursors.get_mut(&id) {
            *cursor = piece;
        }
    }

    pub fn remove_cursor(&mut self, id: u64) {
        self.cursors.remove(&id);
    }

    pub fn has_readers(&self) -> bool {
        !self.cursors.is_empty()
    }
}

#[cfg(test)]
#[path = "state_tests.rs"]
pub(super) mod tests;
