//! Pluggable storage backends for blobs and tags.
//!
//! Origins read blobs through from a backend and write them back to it; build-index keeps
//! tags in one. A backend is a small [`Backend`] trait held as `Arc<dyn Backend>`;
//! [`build_backend`] is the only place that turns a `BackendConfig` into an implementation
//! and [`Backends`] picks one per namespace by regex.
//!
//! Implementations:
//! - [`ObjectStoreBackend`]: the `object_store` crate (local filesystem, S3 and
//!   S3-compatible, GCS, Azure, plain HTTP), with a content-addressed layout.
//! - [`RegistryBackend`]: a read-only view of any Docker Registry v2 / OCI registry.

pub mod error;
pub mod key;
pub mod objects;
pub mod registry;
pub mod router;
pub mod stream;
pub mod tags;

use std::fmt::Debug;

use async_trait::async_trait;

pub use error::{Error, Result};
pub use key::{Key, ListScope};
pub use objects::ObjectStoreBackend;
pub use registry::RegistryBackend;
pub use router::{Backends, build_backend};
pub use stream::ByteStream;
pub use tags::{read_tag, write_tag};

/// A place that stores blobs and tags.
///
/// Reads of a missing object fail with [`Error::NotFound`]; `stat` reports absence as
/// `None` instead because existence checks are its purpose.
#[async_trait]
pub trait Backend: Send + Sync + Debug {
    /// The size in bytes of the object, or `None` when it does not exist.
    async fn stat(&self, key: &Key) -> Result<Option<u64>>;

    /// Streams the object's content.
    async fn download(&self, key: &Key) -> Result<ByteStream>;

    /// Stores `body`, which must be exactly `size` bytes, under `key`. The object becomes
    /// visible only once the whole body has been written; a failed upload leaves no object.
    async fn upload(&self, key: &Key, size: u64, body: ByteStream) -> Result<()>;

    /// The names in `scope`, in ascending order.
    async fn list(&self, scope: &ListScope) -> Result<Vec<String>>;
}
