//! An established connection: its message loop and the decisions it makes for itself.
//!
//! One task per connection runs the session (reading and reacting to messages) and the
//! [`Writer`] side by side, so that a slow upload never delays reading, and ends both as
//! soon as either ends. The session:
//! - sends our bitfield first (skipped when empty, as BEP 3 allows; an origin
//!   super-seeding sends `have`s for the pieces it reveals instead), accepts the peer's
//!   only as its first message, validated against the piece count;
//! - tracks interest both ways and answers `interested` from the torrent's choker, which
//!   may unchoke at once if a slot is free;
//! - keeps `pipeline_depth` block requests in flight while unchoked, picking blocks from
//!   the torrent; releases them on choke, on timeout (and then rests the peer for a
//!   timeout before asking again), and on close;
//! - validates requests (at most [`MAX_BLOCK_LEN`], inside the piece) and queues them for
//!   the writer while the peer is unchoked;
//! - hands blocks to the torrent and, when a piece is complete, starts its check (a peer
//!   blamed for a bad piece has its connection closed by the check);
//! - resynchronises from the torrent whenever it changes: `have`s for new pieces, choke
//!   decisions, cancels for blocks that arrived from someone else, and closing when both
//!   sides are seeds.
//!
//! Requests and blocks are handled in `transfer`. Every ending is logged once by
//! [`log_end`]; protocol violations close the connection.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use starling_core::peer_wire::{Message, MessageCodec};
use starling_core::{Bitfield, PieceIndex};
use tokio::net::TcpStream;
use tokio::net::tcp::OwnedReadHalf;
use tokio::sync::{mpsc, watch};
use tokio_util::codec::{FramedRead, FramedWrite};
use tokio_util::sync::CancellationToken;

use super::PeerLink;
use super::handshake::{admit, release};
use super::requests::Outstanding;
use super::upload::{KEEPALIVE_EVERY, UploadQueue, Writer};
use crate::error::PeerError;
use crate::torrent::Torrent;
use crate::torrent::state::Status;

/// How often timers (request timeouts, idleness) are checked.
const TICK: Duration = Duration::from_secs(1);
/// A peer silent for this long (keep-alives included) is dropped.
const IDLE_LIMIT: Duration = Duration::from_secs(2 * KEEPALIVE_EVERY.as_secs() + 30);

/// Runs an established connection to its end. `on_admitted` runs once the torrent has
/// accepted the connection.
pub async fn run(
    torrent: Arc<Torrent>,
    stream: TcpStream,
    link: PeerLink,
    on_admitted: impl FnOnce(),
) -> Result<(), PeerError> {
    let token = admit(&torrent, link)?;
    on_admitted();
    tracing::Span::current().record("peer", tracing::field::display(link.peer_id));
    tracing::debug!(class = ?link.class, "connected");
    // Small control messages (requests, haves) must not wait for Nagle.
    let _ = stream.set_nodelay(true);
    let (read, write) = stream.into_split();
    let (control, control_rx) = mpsc::unbounded_channel();
    let uploads = Arc::new(UploadQueue::default());
    let writer = Writer {
        sink: FramedWrite::new(write, MessageCodec::default()),
        control: control_rx,
        uploads: uploads.clone(),
        torrent: torrent.clone(),
        link,
    };
    let mut session = Session::new(torrent.clone(), link, control, uploads, token.clone());
    let reader = FramedRead::new(read, MessageCodec::default());
    let outcome = tokio::select! {
        _ = token.cancelled() => Ok(()),
        outcome = session.run(reader) => outcome,
        outcome = writer.run() => outcome,
    };
    session.close();
    release(&torrent, &link);
    outcome
}

/// Logs how a connection ended, at a level that matches how unusual it is.
pub fn log_end(error: &PeerError) {
    match error {
        PeerError::Protocol(_) | PeerError::Data(_) => {
            tracing::info!(%error, "peer connection closed");
        }
        _ => tracing::debug!(%error, "peer connection closed"),
    }
}

/// What a resync decided about the connection's future.
enum Flow {
    Continue,
    Close,
}

pub(super) struct Session {
    pub(super) torrent: Arc<Torrent>,
    pub(super) link: PeerLink,
    pub(super) control: mpsc::UnboundedSender<Message>,
    pub(super) uploads: Arc<UploadQueue>,
    pub(super) changed: watch::Receiver<u64>,
    pub(super) token: CancellationToken,
    pub(super) outstanding: Outstanding,
    /// Pieces we told the peer about.
    pub(super) announced: Bitfield,
    pub(super) peer_choking: bool,
    pub(super) am_choking: bool,
    pub(super) am_interested: bool,
    pub(super) seen_message: bool,
    pub(super) last_received: Instant,
    pub(super) resting_until: Option<Instant>,
}

impl Session {
    fn new(
        torrent: Arc<Torrent>,
        link: PeerLink,
        control: mpsc::UnboundedSender<Message>,
        uploads: Arc<UploadQueue>,
        token: CancellationToken,
    ) -> Self {
        Self {
            changed: torrent.subscribe(),
            announced: Bitfield::new(torrent.meta.piece_count()),
            torrent,
            link,
            control,
            uploads,
            token,
            outstanding: Outstanding::default(),
            peer_choking: true,
            am_choking: true,
            am_interested: false,
            seen_message: false,
            last_received: Instant::now(),
            resting_until: None,
        }
    }

    async fn run(
        &mut self,
        mut reader: FramedRead<OwnedReadHalf, MessageCodec>,
    ) -> Result<(), PeerError> {
        self.send_bitfield();
        let mut tick = tokio::time::interval(TICK);
        loop {
            tokio::select! {
                message = reader.next() => {
                    let message = message.ok_or(PeerError::Closed)??;
                    self.last_received = Instant::now();
                    self.handle(message).await?;
                    self.seen_message = true;
                }
                changed = self.changed.changed() => {
                    if changed.is_err() {
                        return Ok(());
                    }
                    if let Flow::Close = self.resync()? {
                        return Ok(());
                    }
                }
                _ = tick.tick() => self.on_tick()?,
            }
        }
    }

    pub(super) fn send(&self, message: Message) {
        tracing::trace!(?message, "sending");
        // The writer only goes away when the connection ends; nothing to do then.
        let _ = self.control.send(message);
    }

    fn send_bitfield(&mut self) {
        let (have, super_seeding) = {
            let state = self.torrent.lock();
            (state.have.clone(), state.is_super_seeding())
        };
        if super_seeding {
            // BEP 16: no bitfield; pieces are revealed one by one with `have`.
            self.reveal();
            return;
        }
        if !have.is_empty() {
            self.send(Message::Bitfield(have.to_bytes()));
        }
        self.announced = have;
    }

    /// Super-seeding: announces the pieces the torrent reveals to this peer now.
    fn reveal(&mut self) {
        let pieces = self.torrent.lock().reveal_to(self.link.conn);
        self.announce(pieces);
    }

    fn announce(&mut self, pieces: Vec<PieceIndex>) {
        for piece in pieces {
            self.announced.set(piece);
            self.send(Message::Have { index: piece.get() });
        }
    }

    async fn handle(&mut self, message: Message) -> Result<(), PeerError> {
        tracing::trace!(?message, "received");
        match message {
            Message::KeepAlive => {}
            Message::Choke => {
                self.peer_choking = true;
                self.torrent.lock().set_choking_us(self.link.conn, true);
                let dropped = self.outstanding.take_all();
                self.release_requests(&dropped);
            }
            Message::Unchoke => {
                self.peer_choking = false;
                self.torrent.lock().set_choking_us(self.link.conn, false);
                self.fill_pipeline();
            }
            Message::Interested => self.set_peer_interest(true),
            Message::NotInterested => self.set_peer_interest(false),
            Message::Have { index } => {
                let piece = self.piece_index(index)?;
                let wants = self.torrent.lock().add_have(self.link.conn, piece);
                self.update_interest(wants);
                self.reveal();
                self.fill_pipeline();
            }
            Message::Bitfield(bytes) => self.on_bitfield(&bytes)?,
            Message::Request(request) => self.on_request(request)?,
            Message::Piece(block) => self.on_block(block).await?,
            Message::Cancel(request) => self.uploads.cancel(&request),
        }
        Ok(())
    }

    pub(super) fn piece_index(&self, index: u32) -> Result<PieceIndex, PeerError> {
        self.torrent
            .meta
            .piece_index(index)
            .ok_or_else(|| PeerError::Protocol(format!("piece {index} does not exist")))
    }

    fn on_bitfield(&mut self, bytes: &[u8]) -> Result<(), PeerError> {
        if self.seen_message {
            return Err(PeerError::Protocol(
                "bitfield after the first message".into(),
            ));
        }
        let count = self.torrent.meta.piece_count();
        let bitfield = Bitfield::from_bytes(bytes, count).ok_or_else(|| {
            PeerError::Protocol(format!(
                "bitfield of {} bytes for {count} pieces",
                bytes.len()
            ))
        })?;
        let wants = self.torrent.lock().set_bitfield(self.link.conn, bitfield);
        self.update_interest(wants);
        self.reveal();
        Ok(())
    }

    fn set_peer_interest(&mut self, interested: bool) {
        let slots = self.torrent.ctx.settings.upload_slots;
        let (unchoked, others_changed) = {
            let mut state = self.torrent.lock();
            let was_unchoked = state.peers.get(&self.link.conn).is_some_and(|e| e.unchoked);
            let unchoked = state.set_interested(self.link.conn, interested, slots);
            (unchoked, was_unchoked && !unchoked)
        };
        self.sync_choke(unchoked);
        self.reveal();
        if others_changed {
            // A freed slot may have gone to another peer, whose session must tell it.
            self.torrent.notify_changed();
        }
    }

    /// Sends choke/unchoke if the torrent's decision differs from what the peer knows.
    fn sync_choke(&mut self, unchoked: bool) {
        if unchoked != self.am_choking {
            return;
        }
        self.am_choking = !unchoked;
        if self.am_choking {
            // BEP 3: choking discards the peer's pending requests.
            self.uploads.clear();
            self.send(Message::Choke);
        } else {
            self.send(Message::Unchoke);
        }
    }

    fn update_interest(&mut self, wants: bool) {
        if wants != self.am_interested {
            self.am_interested = wants;
            self.send(if wants {
                Message::Interested
            } else {
                Message::NotInterested
            });
        }
    }

    /// Catches up with the torrent after it changed.
    fn resync(&mut self) -> Result<Flow, PeerError> {
        let slots_unchoked;
        let new_pieces;
        let wants;
        let both_seeds;
        let unneeded;
        {
            let mut state = self.torrent.lock();
            if !state.status.is_active() {
                return Ok(Flow::Close);
            }
            new_pieces = if state.is_super_seeding() {
                state.reveal_to(self.link.conn)
            } else {
                newly_set(&state.have, &self.announced)
            };
            slots_unchoked = state.peers.get(&self.link.conn).is_some_and(|e| e.unchoked);
            wants = state.wants_from(self.link.conn);
            both_seeds = state.status != Status::Downloading && state.peer_is_seed(self.link.conn);
            let count = self.torrent.meta.piece_count();
            unneeded = self
                .outstanding
                .take_where(|request, _| !state.pieces.is_needed(request, count));
        }
        self.announce(new_pieces);
        for request in &unneeded {
            self.send(Message::Cancel(*request));
        }
        self.release_requests(&unneeded);
        self.sync_choke(slots_unchoked);
        self.update_interest(wants);
        if both_seeds {
            tracing::debug!("both sides are seeds; closing");
            return Ok(Flow::Close);
        }
        self.fill_pipeline();
        Ok(Flow::Continue)
    }

    fn on_tick(&mut self) -> Result<(), PeerError> {
        let now = Instant::now();
        if now.saturating_duration_since(self.last_received) > IDLE_LIMIT {
            return Err(PeerError::Idle(IDLE_LIMIT));
        }
        let timeout = self.torrent.ctx.settings.p2p.request_timeout;
        let expired = self.outstanding.take_expired(now, timeout);
        if !expired.is_empty() {
            tracing::debug!(
                blocks = expired.len(),
                "requests timed out; asking elsewhere"
            );
            for request in &expired {
                self.send(Message::Cancel(*request));
            }
            self.release_requests(&expired);
            self.resting_until = Some(now + timeout);
            self.torrent
                .lock()
                .set_snubbed(self.link.conn, self.resting_until);
        }
        self.fill_pipeline();
        Ok(())
    }

    /// Stops the writer's queue; the torrent forgets the connection in `release`.
    fn close(&mut self) {
        self.uploads.clear();
        self.token.cancel();
    }
}

/// Pieces set in `have` but not in `announced`, compared a byte at a time.
fn newly_set(have: &Bitfield, announced: &Bitfield) -> Vec<PieceIndex> {
    let count = have.piece_count();
    let mut pieces = Vec::new();
    for (i, (&ours, &told)) in have.as_bytes().iter().zip(announced.as_bytes()).enumerate() {
        let fresh = ours & !told;
        if fresh == 0 {
            continue;
        }
        for bit in 0..8u32 {
            if fresh & (0x80 >> bit) != 0 {
                pieces.extend(PieceIndex::new(i as u32 * 8 + bit, count));
            }
        }
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newly_set_lists_only_the_difference() {
        let idx = |i| PieceIndex::new(i, 12).unwrap();
        let mut have = Bitfield::new(12);
        let mut told = Bitfield::new(12);
        for i in [0, 3, 8, 11] {
            have.set(idx(i));
        }
        told.set(idx(3));
        let got: Vec<u32> = newly_set(&have, &told)
            .into_iter()
            .map(PieceIndex::get)
            .collect();
        assert_eq!(got, [0, 8, 11]);
        assert!(newly_set(&told, &have).is_empty());
    }
}
