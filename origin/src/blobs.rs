//! The blob service: stat, open for reading, and read-through from the namespace's
//! backend on a local miss.
//!
//! Invariants:
//! - A blob is served only from the store, i.e. after its sha256 was verified on commit;
//!   bytes from a backend are never passed to a client unverified.
//! - Concurrent misses for one digest cause exactly one backend download (single-flight
//!   keyed by digest; see [`crate::flights`]). The download runs in its own task,
//!   so it completes (and warms the cache) even if every requester disconnects.

use std::convert::Infallible;
use std::io::SeekFrom;
use std::sync::Arc;

use futures::{StreamExt, TryStreamExt};
use starling_backend::{Backend, ByteStream, Key};
use starling_core::{Digest, RepoName};
use starling_runtime::spawn_named;
use starling_store::{BlobInfo, BlobReader, Store};
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use tokio_util::io::ReaderStream;
use tracing::{debug, info, warn};

use crate::backends::BackendLookup;
use crate::error::{Error, Result};
use crate::flights::{self, Flights, Joined};
use crate::ingest::copy_into;
use crate::metrics::OriginMetrics;
use starling_core::range::{ByteRange, parse_range};

/// Read size when streaming a blob out of the store.
pub const STREAM_CHUNK: usize = 256 * 1024;

/// A blob (or a range of it) on its way to a client.
pub struct BlobStream {
    pub info: BlobInfo,
    /// The range sent, or `None` for the whole blob.
    pub range: Option<ByteRange>,
    pub body: ByteStream,
}

/// Blobs in the local store, backed by the namespaces' backends.
pub struct BlobService {
    store: Store,
    backends: Arc<dyn BackendLookup>,
    flights: Flights<BlobInfo>,
    metrics: Arc<OriginMetrics>,
}

impl BlobService {
    pub fn new(
        store: Store,
        backends: Arc<dyn BackendLookup>,
        metrics: Arc<OriginMetrics>,
    ) -> Self {
        Self {
            store,
            backends,
            flights: Flights::new(),
            metrics,
        }
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn backend_for(&self, namespace: &RepoName) -> Option<Arc<dyn Backend>> {
        self.backends.backend_for(namespace)
    }

    /// The blob's size, from the store or else from the backend (without reading it
    /// through: a HEAD should stay cheap).
    pub async fn stat(&self, namespace: &RepoName, digest: &Digest) -> Result<u64> {
        if let Some(info) = self.local(digest)? {
            return Ok(info.size);
        }
        let unknown = || Error::BlobUnknown {
            namespace: namespace.clone(),
            digest: *digest,
        };
        let backend = self.backend_for(namespace).ok_or_else(unknown)?;
        let key = Key::blob(namespace.clone(), *digest);
        backend
            .stat(&key)
            .await
            .map_err(Error::backend(namespace, "stat a blob"))?
            .ok_or_else(unknown)
    }

    /// Makes sure the blob is committed locally, reading it through from the backend
    /// once on a miss.
    pub async fn ensure_local(&self, namespace: &RepoName, digest: &Digest) -> Result<BlobInfo> {
        if let Some(info) = self.local(digest)? {
            self.metrics.cache_hits.increment(1);
            return Ok(info);
        }
        self.metrics.cache_misses.increment(1);
        flights::wait(self.read_through(namespace, digest)?).await
    }

    /// Opens the blob for reading (the reader's lease keeps it from eviction), reading
    /// it through first on a miss.
    pub async fn open(&self, namespace: &RepoName, digest: &Digest) -> Result<BlobReader> {
        // Eviction may remove the blob between commit and open; one more read-through
        // then brings it back.
        for _ in 0..2 {
            self.ensure_local(namespace, digest).await?;
            let opened = self.store.open(digest).await;
            if let Some(reader) = opened.map_err(Error::store("open a blob"))? {
                return Ok(reader);
            }
            debug!(%digest, "blob evicted before it could be opened; reading it again");
        }
        Err(Error::BlobUnknown {
            namespace: namespace.clone(),
            digest: *digest,
        })
    }

    /// Streams the blob, or the range a `Range` header asks for, with bounded memory.
    pub async fn read(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        range_header: Option<&str>,
    ) -> Result<BlobStream> {
        let mut reader = self.open(namespace, digest).await?;
        let info = reader.info();
        let range = match range_header {
            Some(header) => parse_range(header, info.size).map_err(Error::from_range)?,
            None => None,
        };
        let served = self.metrics.served_bytes.clone();
        let body = match range {
            None => counted(reader, served),
            Some(range) => {
                reader
                    .seek(SeekFrom::Start(range.first))
                    .await
                    .map_err(Error::io("seek in a blob", digest.shard_path()))?;
                let limited = reader.take(range.byte_count());
                ReaderStream::with_capacity(limited, STREAM_CHUNK)
                    .inspect_ok(move |chunk| served.increment(chunk.len() as u64))
                    .boxed()
            }
        };
        Ok(BlobStream { info, range, body })
    }

    /// Starts warming the cache in the background; a failure is logged. Fails at once
    /// only when the namespace has no backend and the blob is not local.
    pub fn prefetch(&self, namespace: &RepoName, digest: &Digest) -> Result<()> {
        if self.local(digest)?.is_some() {
            return Ok(());
        }
        self.metrics.cache_misses.increment(1);
        let joined = self.read_through(namespace, digest)?;
        let (namespace, digest) = (namespace.clone(), *digest);
        spawn_named("prefetch", async move {
            match flights::wait(joined).await {
                Ok(info) => debug!(%digest, size = info.size, "prefetched"),
                Err(e) => warn!(%digest, %namespace, error = %e, "prefetch failed"),
            }
            Ok::<(), Infallible>(())
        });
        Ok(())
    }

    fn local(&self, digest: &Digest) -> Result<Option<BlobInfo>> {
        self.store.stat(digest).map_err(Error::store("stat a blob"))
    }

    /// Joins or starts the one download of `digest` into the store.
    fn read_through(&self, namespace: &RepoName, digest: &Digest) -> Result<Joined<BlobInfo>> {
        let Some(backend) = self.backend_for(namespace) else {
            // No backend: the store was the only hope, unless a commit just landed.
            return match self.local(digest)? {
                Some(info) => Ok(Joined::Settled(Ok(info))),
                None => Err(Error::BlobUnknown {
                    namespace: namespace.clone(),
                    digest: *digest,
                }),
            };
        };
        let fetch = Fetch {
            store: self.store.clone(),
            backend,
            namespace: namespace.clone(),
            digest: *digest,
            metrics: self.metrics.clone(),
        };
        let store = self.store.clone();
        let settled = move || store.stat(digest).ok().flatten();
        Ok(flights::start(
            &self.flights,
            "read-through",
            *digest,
            settled,
            fetch.run(),
        ))
    }
}

/// One read-through download.
struct Fetch {
    store: Store,
    backend: Arc<dyn Backend>,
    namespace: RepoName,
    digest: Digest,
    metrics: Arc<OriginMetrics>,
}

impl Fetch {
    async fn run(self) -> Result<BlobInfo> {
        let (namespace, digest) = (&self.namespace, self.digest);
        self.metrics.backend_reads.increment(1);
        let key = Key::blob(namespace.clone(), digest);
        let body = self.backend.download(&key).await.map_err(|e| {
            if e.is_not_found() {
                Error::BlobUnknown {
                    namespace: namespace.clone(),
                    digest,
                }
            } else {
                Error::backend(namespace, "download a blob")(e)
            }
        })?;
        let mut upload = self
            .store
            .begin_upload()
            .await
            .map_err(Error::store("start a read-through"))?;
        let read_bytes = &self.metrics.backend_read_bytes;
        let stream_error =
            |e: std::io::Error, _| Error::backend(namespace, "download a blob")(e.into());
        let size = copy_into(&mut upload, body, stream_error, |n| {
            read_bytes.increment(n as u64)
        })
        .await?;
        let info = upload.commit(&digest).await.map_err(|e| match e {
            starling_store::Error::DigestMismatch { actual, .. } => Error::BackendCorrupt {
                namespace: namespace.clone(),
                digest,
                actual,
            },
            other => Error::store("commit a read-through")(other),
        })?;
        info!(%digest, %namespace, size, "blob read through from the backend");
        Ok(info)
    }
}

/// A blob reader as a byte stream, counting the bytes that pass.
pub fn counted(reader: BlobReader, counter: metrics::Counter) -> ByteStream {
    ReaderStream::with_capacity(reader, STREAM_CHUNK)
        .inspect_ok(move |chunk| counter.increment(chunk.len() as u64))
        .boxed()
}
