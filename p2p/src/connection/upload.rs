//! The write half of a connection: control messages from the session, then block
//! uploads, then keep-alives when the line is otherwise quiet.
//!
//! Uploads queue in an [`UploadQueue`] the session fills from the peer's requests,
//! empties on choke and prunes on `cancel`. Serving reads queued blocks from the torrent's
//! verified data (a run of them in one blocking task when egress is unpaced), waits on
//! the host's egress cap, then writes them. Control messages
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
/// Bytes of queued block requests served per wake-up when egress is unpaced: 16 blocks
/// of 16 KiB, a peer's default pipeline.
const UNPACED_RUN_BYTES: u32 = 256 * 1024;
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

    /// The next requests in order: always one, more while the run's blocks total at most
    /// `max_bytes`. Waits for one if the queue is empty.
    pub async fn next_run(&self, max_bytes: u32) -> Vec<BlockRequest> {
        loop {
            {
                let mut queue = self.lock();
                if let Some(first) = queue.pop_front() {
                    let mut run = vec![first];
                    let mut bytes = first.length;
                    while let Some(next) = queue.front() {
                        bytes = bytes.saturating_add(next.length);
                        if bytes > max_bytes {
                            break;
                        }
                        run.extend(queue.pop_front());
                    }
                    return run;
                }
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
        let run_bytes = self.run_bytes();
        loop {
            tokio::select! {
                biased;
                message = self.control.recv() => {
                    let Some(message) = message else { return Ok(()) };
                    self.send_control(message).await?;
                }
                run = uploads.next_run(run_bytes) => self.serve(run).await?,
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

    /// How many bytes of queued requests one wake-up serves. Unpaced, a run of blocks
    /// is read in one blocking task and written with one flush: per-block hand-offs
    /// were most of a loopback pull's cost (docs/benchmarks.md). Paced by an egress
    /// cap, one block at a time, so a choke or cancel takes effect at the next block
    /// and blocks leave as the cap allows rather than in bursts.
    fn run_bytes(&self) -> u32 {
        if self.torrent.ctx.egress.is_some() {
            0
        } else {
            UNPACED_RUN_BYTES
        }
    }

    async fn serve(&mut self, run: Vec<BlockRequest>) -> Result<(), PeerError> {
        let blocks = self.torrent.read_blocks(&run).await.map_err(Box::new)?;
        let mut sent = 0;
        for (request, data) in run.iter().zip(blocks) {
            let Some(data) = data else { continue };
            let len = data.len() as u64;
            throttle(self.torrent.ctx.egress.as_ref(), len).await;
            let block = Block {
                index: request.index,
                begin: request.begin,
                data,
            };
            if run.len() == 1 {
                self.sink.send(Message::Piece(block)).await?;
            } else {
                self.sink.feed(Message::Piece(block)).await?;
            }
            sent += len;
        }
        if run.len() > 1 {
            self.sink.flush().await?;
        }
        if sent == 0 {
            return Ok(());
        }
        self.torrent.ctx.metrics.uploaded(self.link.class, sent);
        let mut state = self.torrent.lock();
        state.uploaded += sent;
        let now = Instant::now();
        state.last_upload = now;
        state.record_traffic(self.link.conn, now);
        if let Some(entry) = state.peers.get_mut(&self.link.conn) {
            entry.round_sent += sent;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(begin: u32) -> BlockRequest {
        BlockRequest {
            index: 0,
            begin,
            length: 16384,
        }
    }

    #[tokio::test]
    async fn a_run_takes_queued_requests_in_order_up_to_its_byte_budget() {
        let queue = UploadQueue::default();
        for i in 0..5 {
            assert!(queue.push(request(i * 16384)));
        }
        let run = queue.next_run(2 * 16384).await;
        assert_eq!(
            run,
            [request(0), request(16384)],
            "two blocks fit in 32 KiB"
        );
        assert_eq!(queue.next_run(0).await, [request(2 * 16384)], "always one");
        let rest = queue.next_run(u32::MAX).await;
        assert_eq!(rest, [request(3 * 16384), request(4 * 16384)]);
    }
}
