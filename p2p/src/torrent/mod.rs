//! One swarm: the shared handle that connections, the driver and blob streams hold.
//!
//! A [`Torrent`] pairs the swarm's [`TorrentState`] (behind a std mutex, never held
//! across an await) with the signals around it:
//! - `changed`, a watch counter bumped whenever something a connection or reader may act
//!   on happened (a piece verified, choke decisions, an endgame block arrived, the status
//!   changed). Every session and stream resynchronises from the state when it moves, so a
//!   missed intermediate value loses nothing;
//! - `driver_wake`, which makes the driver re-check the status at once (completion);
//! - `token`, cancelled when the torrent stops, and the parent of every connection's
//!   token; `conns` tracks the connection tasks so the driver can wait for them.
//!
//! Submodules: [`state`] (the data and per-connection decisions), [`admission`]
//! (eviction, the idle sweep), [`choking`] (upload slots), [`super_seed`] (origins reveal pieces one peer at a time), [`pieces`] (blocks
//! in flight), [`candidates`] (addresses to dial), [`source`] (where verified bytes
//! live), [`complete`] (piece verification and the final commit), [`seed`] (a torrent
//! over a committed blob), [`stall`] (when a download without progress fails over or
//! fails), [`driver`] (announces, dialling, choke rounds, stalls, idle expiry, shutdown).

pub mod admission;
pub mod candidates;
pub mod choking;
pub mod complete;
pub mod driver;
pub mod pieces;
pub mod seed;
pub mod source;
pub mod stall;
pub mod state;
pub mod super_seed;

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use bytes::Bytes;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::BlockRequest;
use starling_core::{Bitfield, Digest, InfoHash};
use tokio::sync::{Notify, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tracing::Instrument;

use crate::blame::Blame;
use crate::context::Context;
use crate::error::Result;
use crate::peer_class::PeerClass;
use crate::progress::Progress;
use source::Source;
use state::{Status, TorrentState};

/// The shared handle of one swarm.
#[derive(Debug)]
pub struct Torrent {
    pub meta: Arc<MetaInfo>,
    pub info_hash: InfoHash,
    pub digest: Digest,
    pub ctx: Arc<Context>,
    state: Mutex<TorrentState>,
    changed: watch::Sender<u64>,
    driver_wake: Notify,
    pub token: CancellationToken,
    pub conns: TaskTracker,
}

impl Torrent {
    /// Creates the torrent and starts its driver (and the commit, if a resumed download
    /// turns out to be complete already).
    pub fn start(
        ctx: Arc<Context>,
        meta: Arc<MetaInfo>,
        digest: Digest,
        have: Bitfield,
        source: Source,
    ) -> Arc<Self> {
        let mut state = TorrentState::new(meta.clone(), have, source, ctx.settings.block_len());
        state.blame = Blame::new(ctx.settings.p2p.bad_piece_strikes);
        if ctx.settings.class == PeerClass::Origin {
            let first = ctx
                .settings
                .reveal_order
                .first_piece(&digest, meta.piece_count());
            state.enable_super_seed_from(first);
        }
        let committing = state.status == Status::Committing;
        let torrent = Arc::new(Self {
            info_hash: meta.info_hash(),
            digest,
            meta,
            token: ctx.shutdown.child_token(),
            ctx,
            state: Mutex::new(state),
            changed: watch::channel(0).0,
            driver_wake: Notify::new(),
            conns: TaskTracker::new(),
        });
        let span = tracing::info_span!(
            "torrent",
            local = %torrent.ctx.peer_id,
            digest = %digest,
            info_hash = %torrent.info_hash
        );
        let driver = driver::run(torrent.clone()).instrument(span);
        torrent.ctx.spawn("torrent", driver);
        if committing {
            torrent.spawn_commit();
        }
        torrent
    }

    pub fn lock(&self) -> MutexGuard<'_, TorrentState> {
        // Every critical section leaves the state consistent before it can panic
        // (bookkeeping only), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Wakes every session and reader to resynchronise from the state.
    pub fn notify_changed(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }

    pub fn wake_driver(&self) {
        self.driver_wake.notify_one();
    }

    pub fn status(&self) -> Status {
        self.lock().status.clone()
    }

    pub fn is_active(&self) -> bool {
        self.lock().status.is_active()
    }

    pub fn progress(&self) -> Progress {
        let state = self.lock();
        Progress::new(&state)
    }

    /// Reads the blocks of several requests in one blocking task. `None` for a request
    /// this torrent cannot serve (unknown or missing piece).
    pub async fn read_blocks(&self, requests: &[BlockRequest]) -> Result<Vec<Option<Bytes>>> {
        let mut ranges = Vec::with_capacity(requests.len());
        let mut served = Vec::with_capacity(requests.len());
        let reader = {
            let state = self.lock();
            for request in requests {
                let piece = self.meta.piece_index(request.index);
                let held = piece.filter(|&piece| state.have.has(piece));
                served.push(held.is_some());
                if let Some(piece) = held {
                    let offset = self.meta.piece_offset(piece) + u64::from(request.begin);
                    ranges.push((offset, request.length as usize));
                }
            }
            state.source.reader()
        };
        let mut blocks = reader.read_ranges(ranges).await?.into_iter();
        Ok(served
            .into_iter()
            .map(|held| if held { blocks.next() } else { None })
            .collect())
    }
}
