//! The block traffic of a session: the peer's requests (validated, then queued for the
//! writer), our request pipeline (kept as deep as `pipeline` allows with blocks the
//! torrent picks), and blocks coming in (only answers to our own requests are taken; a complete
//! piece is checked in a task of its own).

use std::time::Instant;

use starling_core::peer_wire::{Block, BlockRequest, MAX_BLOCK_LEN, Message};

use super::pipeline::request_room;
use super::session::Session;
use crate::error::PeerError;
use crate::rate_limit::throttle;
use crate::torrent::pieces::Received;

impl Session {
    pub(super) fn on_request(&mut self, request: BlockRequest) -> Result<(), PeerError> {
        if request.length == 0 || request.length > MAX_BLOCK_LEN {
            return Err(PeerError::Protocol(format!(
                "request of {} bytes (allowed 1 to {MAX_BLOCK_LEN})",
                request.length
            )));
        }
        let piece = self.piece_index(request.index)?;
        let end = u64::from(request.begin) + u64::from(request.length);
        if end > self.torrent.meta.piece_len(piece) {
            return Err(PeerError::Protocol(format!(
                "request past the end of piece {piece}"
            )));
        }
        // Requests that cross a choke are dropped, as BEP 3 allows; a request for a
        // piece we do not have is a peer's race with our `have`s, not worth a
        // disconnect.
        let servable = {
            let mut state = self.torrent.lock();
            state.record_traffic(self.link.conn, Instant::now());
            !self.am_choking && state.have.has(piece)
        };
        if servable && !self.uploads.push(request) {
            tracing::debug!("upload queue full; request ignored");
        }
        Ok(())
    }

    pub(super) async fn on_block(&mut self, block: Block) -> Result<(), PeerError> {
        let len = block.data.len() as u64;
        throttle(self.torrent.ctx.ingress.as_ref(), len).await;
        self.torrent.ctx.metrics.downloaded(self.link.class, len);
        if !self.outstanding.answer(&block) {
            // Unrequested (or cancelled, or timed out and asked elsewhere): dropped, so
            // a peer cannot slip bytes into pieces others are fetching and escape the
            // blame when the piece fails.
            tracing::trace!(?block, "unrequested block dropped");
            return Ok(());
        }
        if self.resting_until.take().is_some() {
            self.torrent.lock().set_snubbed(self.link.conn, None);
        }
        let received = {
            let mut state = self.torrent.lock();
            state.record_traffic(self.link.conn, Instant::now());
            state.received += len;
            if let Some(entry) = state.peers.get_mut(&self.link.conn) {
                entry.round_received += len;
            }
            state
                .pieces
                .receive(self.link.conn, &block, self.torrent.meta.piece_count())
        };
        match received {
            Received::Unwanted => {}
            Received::Stored { others_asked } => {
                if others_asked {
                    self.torrent.notify_changed();
                }
            }
            Received::Complete(piece, others_asked) => {
                if others_asked {
                    self.torrent.notify_changed();
                }
                // Checked in a task of its own: the session may be cancelled at any
                // await, and a piece dropped half-way through its check would stay
                // marked as verifying and never be fetched again. A peer blamed for a
                // bad piece has its connection token cancelled by the check.
                let torrent = self.torrent.clone();
                let check = torrent
                    .clone()
                    .conns
                    .track_future(async move { torrent.finish_piece(piece).await.map(|_| ()) });
                self.torrent.ctx.spawn("verify-piece", check);
            }
        }
        self.fill_pipeline();
        Ok(())
    }

    /// Tops the request pipeline up (see `pipeline` for how deep).
    pub(super) fn fill_pipeline(&mut self) {
        let resting = self.resting_until.is_some_and(|t| Instant::now() < t);
        if self.peer_choking || !self.am_interested || resting {
            return;
        }
        let starling_peer = self.link.peer_id.is_starling();
        let room = request_room(&self.torrent.ctx.settings, starling_peer, &self.outstanding);
        if room.requests == 0 {
            return;
        }
        let requests = self.torrent.lock().request_blocks(self.link.conn, room);
        let now = Instant::now();
        for request in requests {
            self.outstanding.push(request, now);
            self.send(Message::Request(request));
        }
    }

    pub(super) fn release_requests(&self, requests: &[BlockRequest]) {
        if requests.is_empty() {
            return;
        }
        let count = self.torrent.meta.piece_count();
        {
            let mut state = self.torrent.lock();
            for request in requests {
                state.pieces.release(self.link.conn, request, count);
            }
        }
        // Other connections may pick the released blocks up.
        self.torrent.notify_changed();
    }
}
