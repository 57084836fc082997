//! Content-addressed local blob store used by origins and agents.
//!
//! On disk, under the root (see `layout.rs`): committed blobs at
//! `data/<hex[0:2]>/<hex[2:4]>/<hex>`, and a `tmp/` area for uploads, partial swarm
//! downloads (with their piece-bitfield sidecars) and blobs being deleted.
//!
//! Invariants:
//! - A file appears in `data/` only by an atomic rename from `tmp/` (same filesystem),
//!   after its sha256 matched its name and the file was fsynced; the directory is
//!   fsynced after. Readers never see partial data, and a crash leaves at most stale
//!   files in `tmp/`, which [`Store::open_root`] removes (except partial downloads with a
//!   sidecar, which resume).
//! - The in-memory index (sizes, last access, read leases) mirrors `data/`: every rename
//!   into or out of `data/` happens under the index lock, so a commit never interleaves
//!   with an eviction or delete of the same digest. It is rebuilt from `data/` on open;
//!   last access is persisted as each blob's mtime, so LRU order survives restarts.
//! - A blob with a live [`BlobReader`] is never evicted or deleted.
//!
//! Lock order (outermost first):
//! 1. a [`PartialBlob`]'s persist lock, then its piece-state lock;
//! 2. the store's index lock, a leaf: nothing else is locked while it is held, and it
//!    is held only for map updates and renames, never for fsync, hashing or unlink.
//!
//! Blocking: [`Store`] and [`Upload`] methods are async and do their filesystem work in
//! `spawn_blocking`; [`PartialBlob`] and [`PartialReader`] methods are synchronous
//! (positional i/o from `&self`) and async callers run them in `spawn_blocking`.

mod error;
mod evict;
mod index;
mod layout;
mod metrics;
mod partial;
mod reader;
mod recover;
mod sidecar;
mod space;
mod store;
mod upload;

pub use error::{CommitKind, Error, Result};
pub use evict::{EvictReason, EvictedBlob, EvictionReport, run_evictor};
pub use index::Usage;
pub use metrics::{EvictionCount, StoreMetrics};
pub use partial::{PERSIST_EVERY_BYTES, PartialBlob, PartialReader, PersistDue};
pub use reader::BlobReader;
pub use space::Capacity;
pub use store::{BlobInfo, Store, StoreOptions};
pub use upload::{Upload, UploadId};

#[cfg(test)]
mod disk_full_tests;
