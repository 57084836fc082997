//! Turning received bytes into verified data: each piece's SHA-1 against the trusted
//! metainfo before it is written, and after the last piece the whole blob's sha256
//! (inside `PartialBlob::commit`) before it enters the store; then the torrent seeds.
//! Written pieces are made durable (fdatasync, sidecar) in a task of their own every
//! `PERSIST_EVERY_BYTES`, so no piece and no stream waits for the disk.
//!
//! Blame: a piece that fails its check is fetched again from scratch. Who answers for
//! it is [`crate::blame`]'s decision: the sole source at once, several sources by strikes
//! or, when the retry verifies, by comparing their blocks with the verified bytes. A
//! blamed peer is banned by peer id and address and disconnected.

use std::ops::Range;
use std::sync::Arc;
use std::time::Instant;

use starling_core::PieceIndex;
use starling_store::PersistDue;

use super::Torrent;
use super::pieces::CompletePiece;
use super::source::Source;
use super::state::Status;
use crate::blame::BlockSource;
use crate::connection::ConnId;
use crate::error::{Error, Result};
use starling_runtime::blocking;

/// The outcome of checking one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    /// Failed its SHA-1; `banned` is a connection held responsible, if any.
    Rejected {
        banned: Option<ConnId>,
    },
    /// The torrent no longer downloads (stopped, failed or complete); nothing done.
    Dropped,
}

impl Torrent {
    /// Checks and writes a piece whose blocks are all in.
    pub async fn finish_piece(self: &Arc<Self>, piece: CompletePiece) -> Result<Verdict> {
        let index = piece.index;
        let Some(writer) = self.lock().source.writer() else {
            self.lock().pieces.reset(index);
            return Ok(Verdict::Dropped);
        };
        let meta = self.meta.clone();
        let data = piece.data;
        let written = blocking("verify and write a piece", move || {
            if !meta.verify_piece(index, &data) {
                return Ok((false, data, PersistDue::No));
            }
            let due = writer.write_piece_unpersisted(index, &data)?;
            Ok((true, data, due))
        })
        .await;
        match written {
            Ok((true, data, due)) => {
                self.settle_blame(index, &data, &piece.block_senders, true);
                let verdict = self.piece_verified(index);
                if due == PersistDue::Yes {
                    self.spawn_persist();
                }
                Ok(verdict)
            }
            Ok((false, data, _)) => {
                self.ctx.metrics.piece_rejected();
                self.lock().pieces.reset(index);
                let banned = self.settle_blame(index, &data, &piece.block_senders, false);
                Ok(Verdict::Rejected { banned })
            }
            Err(error) => {
                // A write that fails (disk full, i/o error) will fail for every peer:
                // stop the download rather than fetch forever. The store has dropped
                // the partial download (after trying to make room, for a full disk),
                // so nothing of it is resumed.
                self.lock().pieces.reset(index);
                self.fail(format!("writing piece {index}: {error}"));
                Err(error)
            }
        }
    }

    fn piece_verified(self: &Arc<Self>, index: PieceIndex) -> Verdict {
        let complete = {
            let mut state = self.lock();
            state.pieces.finish(index);
            state.have.set(index);
            state.downloaded += self.meta.piece_len(index);
            let complete = state.have.is_complete() && state.status == Status::Downloading;
            if complete {
                state.status = Status::Committing;
            }
            complete
        };
        self.ctx.metrics.piece_verified();
        self.notify_changed();
        if complete {
            self.spawn_commit();
        }
        Verdict::Verified
    }

    /// Hands a checked piece's block senders to the blame ledger, then bans and
    /// disconnects whoever it blames. Returns one of the banned connections, if any.
    fn settle_blame(
        &self,
        index: PieceIndex,
        data: &[u8],
        block_senders: &[(Range<usize>, ConnId)],
        verified: bool,
    ) -> Option<ConnId> {
        let mut state = self.lock();
        let blocks: Vec<BlockSource> = block_senders
            .iter()
            .filter_map(|(range, conn)| {
                let sender = state.link_of(*conn)?;
                Some(BlockSource {
                    range: range.clone(),
                    sender,
                })
            })
            .collect();
        let blamed = if verified {
            state.blame.piece_verified(index, data, &blocks)
        } else {
            state.blame.piece_failed(index, data, &blocks)
        };
        if !verified && blamed.is_empty() {
            tracing::warn!(piece = %index, sources = blocks.len(), "piece failed its SHA-1 check; every source has a strike");
        }
        let now = Instant::now();
        for link in &blamed {
            self.ctx.blacklist.ban(link.peer_id, link.addr, now);
            // The peer may have reconnected under the same id since it sent the block.
            for entry in state.peers.values() {
                if entry.link.peer_id == link.peer_id {
                    entry.close.cancel();
                }
            }
            tracing::warn!(
                piece = %index, peer = %link.peer_id, addr = %link.addr, proven = verified,
                "peer blamed for a piece that failed its SHA-1 check; banned"
            );
        }
        blamed.first().map(|link| link.conn)
    }

    /// Makes the pieces written so far durable in a task of its own, off the path of the
    /// piece that made it due and of the stream waiting for that piece. Nothing to do
    /// once the download is committing: the commit persists first.
    fn spawn_persist(self: &Arc<Self>) {
        let writer = {
            let state = self.lock();
            if state.status != Status::Downloading {
                return;
            }
            state.source.writer()
        };
        let Some(writer) = writer else {
            return;
        };
        let torrent = self.clone();
        self.ctx.spawn("persist", async move {
            let persisted = blocking("persist the partial download", move || {
                Ok::<_, Error>(writer.persist()?)
            })
            .await;
            if let Err(error) = &persisted {
                // The store dropped the download, as for a failed piece write.
                torrent.fail(format!("persisting the download: {error}"));
            }
            persisted
        });
    }

    /// Marks the torrent failed and wakes everyone; the driver then stops it.
    pub fn fail(&self, reason: String) {
        tracing::error!(%reason, "torrent failed");
        self.lock().status = Status::Failed(reason);
        self.notify_changed();
        self.wake_driver();
    }

    pub(super) fn spawn_commit(self: &Arc<Self>) {
        let torrent = self.clone();
        self.ctx
            .spawn("commit", async move { torrent.commit().await });
    }

    /// Verifies the whole blob and moves it into the store, then seeds from it.
    async fn commit(self: Arc<Self>) -> Result<()> {
        let Some(blob) = self.take_sole_writer().await else {
            return Ok(());
        };
        let outcome = match blocking("commit the blob", move || Ok(blob.commit()?)).await {
            Ok(_) => self.ctx.store.open(&self.digest).await.map_err(Error::from),
            Err(error) => Err(error),
        };
        match outcome {
            Ok(Some(reader)) => {
                let mut state = self.lock();
                state.source = Source::committed(reader);
                if state.status == Status::Committing {
                    state.status = Status::Seeding;
                }
                tracing::info!("download complete and committed");
            }
            Ok(None) => self.fail("the committed blob vanished from the store".into()),
            Err(error) => self.fail(format!("commit: {error}")),
        }
        self.notify_changed();
        self.wake_driver();
        Ok(())
    }

    /// Takes the partial download's writer once no piece write holds it any more. Piece
    /// writes hold a clone only while they run, and all have finished once every piece
    /// is verified, so this waits at most for the last one to drop its clone.
    async fn take_sole_writer(&self) -> Option<starling_store::PartialBlob> {
        loop {
            let shared = self.lock().source.take_writer()?;
            match Arc::try_unwrap(shared) {
                Ok(blob) => return Some(blob),
                Err(shared) => {
                    self.lock().source.restore_writer(shared);
                    tokio::task::yield_now().await;
                }
            }
        }
    }
}
