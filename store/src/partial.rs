//! Partial swarm downloads: a blob assembled piece by piece at `tmp/<hex>.part`, with
//! the set of durable pieces in a sidecar, resumable across restarts.
//!
//! Invariants:
//! - a piece is written at its offset and marked in memory only after the write
//!   returned; [`PartialBlob::read_at`] serves only marked pieces;
//! - the sidecar marks a piece only after an fdatasync that covers it (see
//!   [`PartialBlob::persist`]); persisting happens every [`PERSIST_EVERY_BYTES`] of new
//!   pieces, when the last piece arrives, and on request (with
//!   [`PartialBlob::write_piece_unpersisted`], the caller persists when told it is due);
//! - the blob reaches `data/` only after the whole file's sha256 equals the digest; a
//!   mismatch discards the download;
//! - at most one `PartialBlob` per digest is open in a process;
//! - the whole file is allocated on disk when the download opens (see `crate::space`),
//!   so a full disk fails the open, before any byte reaches a client;
//! - a download whose write fails (a piece, the fdatasync, the sidecar) is dropped at
//!   once: its files are removed, later writes and persists fail with
//!   [`Error::PartialBroken`], and nothing of it is resumed. A write that fails for
//!   lack of space first makes room by evicting least recently used blobs and is tried
//!   once more; if it still fails, the store records the shortage (readiness).
//!
//! Lock order: `persist_lock`, then `state`. `state` is held only for bitfield updates,
//! never across i/o. The store's index lock is never taken while either is held.
//!
//! The piece methods are synchronous: positional reads and writes on one `std::fs::File`
//! need no cursor, so writers and readers proceed concurrently through `&self`, and the
//! caller picks the thread. Pieces are up to 64 MiB, so async callers run these methods
//! in `spawn_blocking`.

use std::fs;
use std::io::ErrorKind;
use std::os::unix::fs::FileExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use starling_core::{Bitfield, Digest, DigestHasher, PieceIndex};
use tracing::{debug, info, warn};

use crate::error::{CommitKind, Error, IoContext, Result};
use crate::index::PartialClaim;
use crate::layout::fsync_dir;
use crate::sidecar::{self, Geometry};
use crate::space;
use crate::store::{BlobInfo, Store};
use starling_runtime::blocking;

/// New piece bytes after which the download is persisted automatically: bounds what a
/// crash makes the agent download again, while keeping fdatasyncs rare.
pub const PERSIST_EVERY_BYTES: u64 = 32 * 1024 * 1024;

const HASH_CHUNK: usize = 1024 * 1024;

/// Whether a write left enough unsynced bytes (or the last piece) that the download
/// should be persisted now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub enum PersistDue {
    Yes,
    No,
}

/// The writer of a partial download. Dropping it keeps the files for a later resume
/// (pieces not yet persisted are downloaded again); see [`PartialBlob::discard`].
#[derive(Debug)]
pub struct PartialBlob {
    shared: Arc<Shared>,
    store: Store,
    persist_lock: Mutex<()>,
    _claim: PartialClaim,
}

/// A read handle on a partial download that can be cloned and handed to a consumer
/// streaming the blob while it downloads. It keeps working after the writer commits
/// (the open file follows the rename).
#[derive(Clone, Debug)]
pub struct PartialReader {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    digest: Digest,
    geometry: Geometry,
    path: PathBuf,
    file: fs::File,
    state: Mutex<PieceState>,
    /// Set once a write failed and the files were removed; set under `persist_lock`.
    broken: AtomicBool,
}

#[derive(Debug)]
struct PieceState {
    written: Bitfield,
    persisted: Bitfield,
    unsynced_bytes: u64,
}

impl Store {
    /// Creates the partial download of `digest`, or resumes it with its persisted
    /// pieces if one with the same length and piece length exists (otherwise it starts
    /// over). Fails with [`Error::PartialBusy`] if it is already open.
    pub async fn open_partial(
        &self,
        digest: &Digest,
        length: u64,
        piece_length: u64,
    ) -> Result<PartialBlob> {
        let digest = *digest;
        let geometry = Geometry::new(digest, length, piece_length)?;
        let claim = self
            .index()
            .claim_partial(digest)
            .ok_or(Error::PartialBusy { digest })?;
        let store = self.clone();
        blocking("open a partial download", move || {
            PartialBlob::open(store, digest, geometry, claim)
        })
        .await
    }
}

impl PartialBlob {
    fn open(store: Store, digest: Digest, geometry: Geometry, claim: PartialClaim) -> Result<Self> {
        let (file, bitfield) = match open_files(&store, &digest, geometry) {
            Ok(opened) => opened,
            Err(error) => {
                if error.is_no_space() {
                    remove_files(&store, &digest);
                    store.note_out_of_space(geometry.length);
                }
                return Err(error);
            }
        };
        let state = PieceState {
            persisted: bitfield.clone(),
            written: bitfield,
            unsynced_bytes: 0,
        };
        let shared = Shared {
            digest,
            geometry,
            path: store.layout().partial_path(&digest),
            file,
            state: Mutex::new(state),
            broken: AtomicBool::new(false),
        };
        Ok(Self {
            shared: Arc::new(shared),
            store,
            persist_lock: Mutex::new(()),
            _claim: claim,
        })
    }

    pub fn digest(&self) -> Digest {
        self.shared.digest
    }

    pub fn length(&self) -> u64 {
        self.shared.geometry.length
    }

    /// A cloneable read handle for streaming the blob while it downloads.
    pub fn reader(&self) -> PartialReader {
        PartialReader {
            shared: self.shared.clone(),
        }
    }

    /// Writes a piece whose SHA-1 the caller has verified. Blocking. Rewriting a piece
    /// is harmless. May persist (see [`PERSIST_EVERY_BYTES`]).
    pub fn write_piece(&self, index: PieceIndex, data: &[u8]) -> Result<()> {
        if self.write_piece_unpersisted(index, data)? == PersistDue::Yes {
            self.persist()?;
        }
        Ok(())
    }

    /// Writes a piece like [`PartialBlob::write_piece`] but leaves the fdatasync to the
    /// caller: the answer says whether a [`PartialBlob::persist`] is due (enough new
    /// bytes, or the last piece). A swarm download persists in a task of its own, so
    /// the piece that crosses the threshold, and the in-order stream behind it, never
    /// wait for the disk. Blocking.
    pub fn write_piece_unpersisted(&self, index: PieceIndex, data: &[u8]) -> Result<PersistDue> {
        let shared = &self.shared;
        let piece = shared.check_index(index)?;
        let expected = shared.geometry.piece_size(piece);
        if data.len() as u64 != expected {
            return Err(Error::PieceSize {
                digest: shared.digest,
                piece,
                expected,
                actual: data.len() as u64,
            });
        }
        if shared.is_broken() {
            return Err(Error::PartialBroken {
                digest: shared.digest,
            });
        }
        let offset = shared.geometry.piece_offset(piece);
        let written = self
            .store
            .with_room(
                || shared.missing_bytes(),
                || shared.file.write_all_at(data, offset),
            )
            .ctx("write piece of", &shared.path);
        if let Err(error) = written {
            self.abandon(&error);
            return Err(error);
        }
        let due = {
            let mut state = shared.lock_state();
            let new = state.written.set(index);
            state.unsynced_bytes += if new { expected } else { 0 };
            new && (state.written.is_complete() || state.unsynced_bytes >= PERSIST_EVERY_BYTES)
        };
        Ok(if due { PersistDue::Yes } else { PersistDue::No })
    }

    pub fn has_piece(&self, index: PieceIndex) -> bool {
        self.shared.has_piece(index)
    }

    /// The pieces written so far (readable, not necessarily persisted yet).
    pub fn bitfield(&self) -> Bitfield {
        self.shared.lock_state().written.clone()
    }

    /// Fills `buf` from `offset`; every piece it touches must be written. Blocking.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.shared.read_at(offset, buf)
    }

    /// Makes the written pieces durable: fdatasyncs the data, then records exactly the
    /// pieces that were written before the sync in the sidecar. Blocking.
    pub fn persist(&self) -> Result<()> {
        let _persisting = self
            .persist_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        let shared = &self.shared;
        if shared.is_broken() {
            return Err(Error::PartialBroken {
                digest: shared.digest,
            });
        }
        let (snapshot, pending) = {
            let state = shared.lock_state();
            if state.written == state.persisted {
                return Ok(());
            }
            (state.written.clone(), state.unsynced_bytes)
        };
        let saved = shared
            .file
            .sync_data()
            .ctx("fdatasync partial download", &shared.path)
            .and_then(|()| {
                sidecar::save(
                    self.store.layout(),
                    &shared.digest,
                    shared.geometry,
                    &snapshot,
                )
            });
        if let Err(error) = saved {
            self.abandon_locked(&error);
            return Err(error);
        }
        let mut state = shared.lock_state();
        state.unsynced_bytes = state.unsynced_bytes.saturating_sub(pending);
        debug!(digest = %shared.digest, pieces = snapshot.count(), "partial download persisted");
        state.persisted = snapshot;
        Ok(())
    }

    /// Verifies the whole file's sha256 against the digest and moves it into the store.
    /// Blocking (it hashes the whole blob). On a mismatch the download is discarded.
    pub fn commit(self) -> Result<BlobInfo> {
        let shared = &self.shared;
        let bitfield = self.bitfield();
        if !bitfield.is_complete() {
            return Err(Error::Incomplete {
                digest: shared.digest,
                have: bitfield.count(),
                total: bitfield.piece_count(),
            });
        }
        // Persisting also makes every piece durable, so the rename below never exposes
        // data that is not on disk.
        self.persist()?;
        let actual = shared.hash_file()?;
        if actual != shared.digest {
            self.remove_files();
            return Err(Error::DigestMismatch {
                kind: CommitKind::Partial,
                expected: shared.digest,
                actual,
            });
        }
        let committed = self
            .store
            .commit_file(&shared.path, shared.digest, shared.geometry.length);
        let info = match committed {
            Ok(info) => info,
            Err(error) => {
                if error.is_no_space() {
                    self.abandon(&error);
                }
                return Err(error);
            }
        };
        // The download fitted: whatever failed for space before has room now.
        self.store.shortage().clear();
        remove_if_present(&self.store.layout().sidecar_path(&shared.digest))?;
        Ok(info)
    }

    /// Abandons the download and removes its files. Blocking.
    pub fn discard(self) {
        self.remove_files();
    }

    /// Whether a write failed and the download was dropped (see the module docs).
    pub fn is_broken(&self) -> bool {
        self.shared.is_broken()
    }

    fn remove_files(&self) {
        remove_files(&self.store, &self.shared.digest);
    }

    /// Drops the download after `error`, a failed write. Blocking.
    fn abandon(&self, error: &Error) {
        let _persisting = self
            .persist_lock
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        self.abandon_locked(error);
    }

    /// [`Self::abandon`] with the persist lock held, so no persist writes a sidecar
    /// after the files are gone.
    fn abandon_locked(&self, error: &Error) {
        if self.shared.broken.swap(true, Ordering::SeqCst) {
            return;
        }
        warn!(digest = %self.shared.digest, error = %error, "write to a partial download failed; dropping it");
        self.remove_files();
        if error.is_no_space() {
            self.store.note_out_of_space(self.shared.geometry.length);
        }
    }
}

impl PartialReader {
    pub fn digest(&self) -> Digest {
        self.shared.digest
    }

    pub fn length(&self) -> u64 {
        self.shared.geometry.length
    }

    pub fn has_piece(&self, index: PieceIndex) -> bool {
        self.shared.has_piece(index)
    }

    /// See [`PartialBlob::read_at`].
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.shared.read_at(offset, buf)
    }
}

impl Shared {
    fn is_broken(&self) -> bool {
        self.broken.load(Ordering::SeqCst)
    }

    /// An upper bound of the bytes the download still has to write.
    fn missing_bytes(&self) -> u64 {
        let have = self.lock_state().written.count();
        let missing = u64::from(self.geometry.piece_count.saturating_sub(have));
        missing
            .saturating_mul(self.geometry.piece_length)
            .min(self.geometry.length)
    }

    fn lock_state(&self) -> MutexGuard<'_, PieceState> {
        // Bitfield updates complete without calling out, so a poisoned lock is intact.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn check_index(&self, index: PieceIndex) -> Result<u32> {
        let piece_count = self.geometry.piece_count;
        PieceIndex::new(index.get(), piece_count)
            .map(PieceIndex::get)
            .ok_or(Error::PieceOutOfRange {
                digest: self.digest,
                piece: index.get(),
                piece_count,
            })
    }

    fn has_piece(&self, index: PieceIndex) -> bool {
        self.check_index(index).is_ok() && self.lock_state().written.has(index)
    }

    fn read_at(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        let len = buf.len() as u64;
        let end = offset
            .checked_add(len)
            .filter(|&end| end <= self.geometry.length)
            .ok_or(Error::OutOfRange {
                digest: self.digest,
                offset,
                len,
                size: self.geometry.length,
            })?;
        if len == 0 {
            return Ok(());
        }
        let pieces = offset / self.geometry.piece_length..=(end - 1) / self.geometry.piece_length;
        {
            let state = self.lock_state();
            let count = self.geometry.piece_count;
            let missing = pieces
                .map(|p| p as u32)
                .find(|&p| PieceIndex::new(p, count).is_none_or(|index| !state.written.has(index)));
            if let Some(piece) = missing {
                return Err(Error::PieceMissing {
                    digest: self.digest,
                    piece,
                });
            }
        }
        self.file
            .read_exact_at(buf, offset)
            .ctx("read partial download", &self.path)
    }

    fn hash_file(&self) -> Result<Digest> {
        let mut hasher = DigestHasher::new();
        let mut buf = vec![0; HASH_CHUNK];
        let mut offset = 0;
        while offset < self.geometry.length {
            let len = (self.geometry.length - offset).min(HASH_CHUNK as u64) as usize;
            self.file
                .read_exact_at(&mut buf[..len], offset)
                .ctx("hash partial download", &self.path)?;
            hasher.update(&buf[..len]);
            offset += len as u64;
        }
        Ok(hasher.finish())
    }
}

/// Opens the `.part` file of `digest`: resumed with its persisted pieces if its sidecar
/// matches, else started over; either way its bytes are reserved on disk.
fn open_files(store: &Store, digest: &Digest, geometry: Geometry) -> Result<(fs::File, Bitfield)> {
    let layout = store.layout();
    let path = layout.partial_path(digest);
    let part_len_ok = fs::metadata(&path).is_ok_and(|m| m.len() == geometry.length);
    let resumed = sidecar::load(&layout.sidecar_path(digest), geometry).filter(|_| part_len_ok);
    let file = fs::File::options()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .ctx("open partial download", &path)?;
    let bitfield = match resumed {
        Some(bitfield) => {
            reserve(store, &file, &path, geometry.length)?;
            info!(digest = %digest, pieces = bitfield.count(), "partial download resumed");
            bitfield
        }
        None => start_over(store, digest, geometry, &file)?,
    };
    Ok((file, bitfield))
}

/// Allocates the download's `length` bytes on disk, making room first if the disk is
/// full (see `crate::space`).
fn reserve(store: &Store, file: &fs::File, path: &Path, length: u64) -> Result<()> {
    let reserved = store
        .with_room(
            || {
                let allocated = file.metadata().map_or(0, |m| m.blocks() * 512);
                length.saturating_sub(allocated)
            },
            || space::preallocate(file, length),
        )
        .ctx("reserve disk space for partial download", path)?;
    if !reserved {
        debug!(path = %path.display(), "the filesystem cannot preallocate; the partial download is sparse");
    }
    Ok(())
}

/// Resets the `.part` file to `geometry.length` zero bytes with an empty sidecar.
fn start_over(
    store: &Store,
    digest: &Digest,
    geometry: Geometry,
    file: &fs::File,
) -> Result<Bitfield> {
    let layout = store.layout();
    let path = layout.partial_path(digest);
    // Drop the old sidecar durably before touching the data, so a crash in between
    // leaves a `.part` without sidecar (removed on restart) rather than a sidecar
    // vouching for zeroed pieces.
    remove_if_present(&layout.sidecar_path(digest))?;
    fsync_dir(layout.tmp_dir())?;
    file.set_len(0).ctx("truncate partial download", &path)?;
    file.set_len(geometry.length)
        .ctx("size partial download", &path)?;
    reserve(store, file, &path, geometry.length)?;
    file.sync_all().ctx("fsync partial download", &path)?;
    let empty = Bitfield::new(geometry.piece_count);
    sidecar::save(layout, digest, geometry, &empty)?;
    debug!(digest = %digest, length = geometry.length, "partial download started");
    Ok(empty)
}

/// Removes the `.part` file of `digest`, its sidecar and a sidecar being replaced.
fn remove_files(store: &Store, digest: &Digest) {
    let layout = store.layout();
    let paths = [
        layout.partial_path(digest),
        layout.sidecar_path(digest),
        layout.sidecar_temp_path(digest),
    ];
    for path in &paths {
        if let Err(e) = remove_if_present(path) {
            warn!(error = %e, "cannot remove discarded partial download");
        }
    }
    info!(digest = %digest, "partial download discarded");
}

fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => Err(e).ctx("remove", path),
        _ => Ok(()),
    }
}

#[cfg(test)]
#[path = "partial_tests.rs"]
mod tests;
