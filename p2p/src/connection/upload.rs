//! The write half of a connection: control messages from the session, then block
//! uploads, then keep-alives when the line is otherwise quiet.
//!
//! Uploads queue in an [`UploadQueue`] the session fills from the peer's requests,
//! empties on choke and prunes on `cancel`. Serving a block reads it from the torrent's
//! verified data, waits on the host's egress cap, then writes it. Control messages
//! always go first, so a `have` or `request` never waits behind a queue of blocks.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use futures::SinkExt;
use starling_core::peer_wire::{Block, BlockRequest, Message, MessageCodec};
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{Notify, mpsc};
use tokio_util::codec::FramedWrite;

use super::PeerLink;
use crate::error::PeerError;
use crate::rate_limit::throttle;
use crate::torrent::Torrent;

/// Requests queued per peer; more are ignored (a well-behaved peer keeps a pipeline of
/// a few dozen; libtorrent's default cap is in the hundreds).
const MAX_QUEUED: usize = 512;
/// A keep-alive goes out after this long without any other message (BEP 3 suggests
/// peers drop a connection after two silent minutes).
pub const KEEPALIVE_EVERY: Duration = Duration::from_secs(60);

/// Block requests from the peer, waiting to be served.
#[derive(Debug, Default)]
pub struct UploadQueue {
    queue: Mutex<VecDeque<BlockRequest>>,
    ready: Notify,
}

impl UploadQueue {
    fn lock(&self) -> MutexGuard<'_, VecDeque<BlockRequest>> {
        // Queue operations cannot be left half done, so a poisoned lock is intact.
        self.queue.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues a request; false if the queue is full and it was ignored.
    pub fn push(&self, request: BlockRequest) -> bool {
        let mut queue = self.lock();
        if queue.len() >= MAX_QUEUED {
            return false;
        }
        queue.push_back(request);
        drop(queue);
        self.ready.notify_one();
        true
    }

    pub fn cancel(&self, request: &BlockRequest) {
        self.lock().retain(|r| r != request);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// The next request, waiting for one if the queue is empty.
    pub async fn next(&self) -> BlockRequest {
        loop {
            if let Some(request) = self.lock().pop_front() {
                return request;
            }
            // `notify_one` stores a permit when nobody waits, so a push between the
            // check above and this await is not lost.
            self.ready.notified().await;
        }
    }
}

/// The connection's writer.
pub struct Writer {
    pub sink: FramedWrite<OwnedWriteHalf, MessageCodec>,
    pub control: mpsc::UnboundedReceiver<Message>,
    pub uploads: Arc<UploadQueue>,
    pub torrent: Arc<Torrent>,
    pub link: PeerLink,
}

impl Writer {
    /// Writes until the session drops its sender or the peer goes away.
    pub async fn run(mut self) -> Result<(), PeerError> {
        let start = tokio::time::Instant::now() + KEEPALIVE_EVERY;
        let mut keepalive = tokio::time::interval_at(start, KEEPALIVE_EVERY);
        let uploads = self.uploads.clone();
        loop {
            tokio::select! {
                biased;
                message = self.control.recv() => {
                    let Some(message) = message else { return Ok(()) };
                    self.send_control(message).await?;
                }
                request = uploads.next() => self.serve(request).await?,
                _ = keepalive.tick() => {
                    self.sink.send(Message::KeepAlive).await?;
                    continue;
                }
            }
            keepalive.reset();
        }
    }

    /// Sends `first` and whatever else is queued with one flush.
    async fn send_control(&mut self, first: Message) -> Result<(), PeerError> {
        self.sink.feed(first).await?;
        while let Ok(next) = self.control.try_recv() {
            self.sink.feed(next).await?;
        }
        Ok(self.sink.flush().await?)
    }

    async fn serve(&mut self, request: BlockRequest) -> Result<(), PeerError> {
        let Some(data) = self.torrent.read_block(&request).await.map_err(Box::new)? else {
            return Ok(());
        };
        let len = data.len() as u64;
        throttle(self.torrent.ctx.egress.as_ref(), len).await;
        let block = Block {
            index: request.index,
            begin: request.begin,
            data,
        };
        self.sink.send(Message::Piece(block)).await?;
        self.torrent.ctx.metrics.uploaded(self.link.class, len);
        let mut state = self.torrent.lock();
        state.uploaded += len;
        state.last_upload = Instant::now();
        if let Some(entry) = state.peers.get_mut(&self.link.conn) {
            entry.round_sent += len;
        }
        Ok(())
    }
}
