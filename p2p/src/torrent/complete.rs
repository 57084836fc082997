//! Turning received bytes into verified data: each piece's SHA-1 against the trusted
//! metainfo before it is written, and after the last piece the whole blob's sha256
//! (inside `PartialBlob::commit`) before it enters the store; then the torrent seeds.
//!
//! Blame: a piece that fails its check is fetched again from scratch. If one connection
//! sent all of it (the usual case, since a piece stays with the connection that started
//! it), that peer is banned by peer id and address and disconnected. A piece assembled
//! from several peers (endgame, timeouts) bans nobody: the retry most likely comes from
//! one peer and then settles it.

use std::sync::Arc;
use std::time::Instant;

use super::Torrent;
use super::pieces::CompletePiece;
use super::source::Source;
use super::state::Status;
use crate::connection::ConnId;
use crate::error::{Error, Result};
use starling_runtime::blocking;

/// The outcome of checking one piece.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Verified,
    /// Failed its SHA-1; `banned` is the connection held responsible, if any.
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
                return Ok(false);
            }
            writer.write_piece(index, &data)?;
            Ok(true)
        })
        .await;
        match written {
            Ok(true) => Ok(self.piece_verified(piece.index)),
            Ok(false) => Ok(self.piece_rejected(piece.index, &piece.contributors)),
            Err(error) => {
                // A write that fails (disk full, i/o error) will fail for every peer:
                // stop the download rather than fetch forever.
                self.lock().pieces.reset(index);
                self.fail(format!("writing piece {index}: {error}"));
                Err(error)
            }
        }
    }

    fn piece_verified(self: &Arc<Self>, index: starling_core::PieceIndex) -> Verdict {
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

    fn piece_rejected(&self, index: starling_core::PieceIndex, contributors: &[ConnId]) -> Verdict {
        self.ctx.metrics.piece_rejected();
        let mut state = self.lock();
        state.pieces.reset(index);
        let [culprit] = contributors else {
            tracing::warn!(piece = %index, sources = contributors.len(), "piece failed its SHA-1 check");
            return Verdict::Rejected { banned: None };
        };
        if let Some(entry) = state.peers.get(culprit) {
            let link = entry.link;
            self.ctx
                .blacklist
                .ban(link.peer_id, link.addr, Instant::now());
            entry.close.cancel();
            tracing::warn!(
                piece = %index, peer = %link.peer_id, addr = %link.addr,
                "piece failed its SHA-1 check; peer banned"
            );
        }
        Verdict::Rejected {
            banned: Some(*culprit),
        }
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
