//! The blob upload service: chunked uploads (start, chunks, commit, status, cancel),
//! monolithic uploads and cross-repository mounts.
//!
//! A blob is received into a temp file under `upload_dir` ([`file`]), verified against
//! the digest the client names, and only then streamed to the origin cluster, which
//! stores it on the digest's owners on the ring. Nothing reaches an origin unverified.
//!
//! What a failed request leaves behind:
//! - a chunk out of order, of the wrong length, or cut off: the upload as it was before
//!   the chunk (the client may resend it);
//! - a digest mismatch at commit: nothing (the upload is forgotten, its file deleted);
//! - an origin failure at commit: nothing; the client starts the blob again.

pub mod file;
pub mod sessions;

use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use starling_clients::OriginCluster;
use starling_core::range::ByteRange;
use starling_core::registry::UploadRef;
use starling_core::{Digest, RepoName};
use tracing::info;

use crate::error::{BoxError, Error, Result};
use crate::metrics::ProxyMetrics;
use file::UploadFile;
use sessions::{Checkout, SessionLimits, Sessions};

/// How long a chunked upload may sit idle before it is dropped.
pub const UPLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(15 * 60);

/// One chunk of an upload: the body and, when the client sent `Content-Range`, the
/// range it must fill (it must start at the upload's current length).
pub struct Chunk<S> {
    pub body: S,
    pub range: Option<ByteRange>,
}

/// Where an upload stands, for the `Location`, `Range` and `Docker-Upload-UUID` headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UploadState {
    pub name: RepoName,
    pub id: UploadRef,
    pub offset: u64,
}

pub struct UploadService {
    dir: PathBuf,
    sessions: Sessions,
    origins: OriginCluster,
    metrics: Arc<ProxyMetrics>,
}

impl UploadService {
    pub fn new(
        dir: PathBuf,
        idle_timeout: Duration,
        limits: SessionLimits,
        origins: OriginCluster,
        metrics: Arc<ProxyMetrics>,
    ) -> Self {
        Self {
            dir,
            sessions: Sessions::new(idle_timeout, limits),
            origins,
            metrics,
        }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Opens a chunked upload for `name`, started by `client`; refused past the caps on
    /// open uploads.
    pub async fn start(&self, name: &RepoName, client: Option<IpAddr>) -> Result<UploadState> {
        self.sessions.reserve(client).inspect_err(|error| {
            tracing::debug!(%name, %error, "upload refused");
        })?;
        let id = new_upload_id();
        let file = match UploadFile::create(&self.dir, &id).await {
            Ok(file) => file,
            Err(error) => {
                self.sessions.release(client);
                return Err(error);
            }
        };
        self.sessions.insert(name.clone(), id.clone(), client, file);
        self.count_open();
        info!(%name, upload = %id, "upload started");
        Ok(UploadState {
            name: name.clone(),
            id,
            offset: 0,
        })
    }

    pub async fn status(&self, name: &RepoName, id: &UploadRef) -> Result<UploadState> {
        let checkout = self.sessions.checkout(name, id).await?;
        Ok(state(name, &checkout))
    }

    /// Appends one chunk.
    pub async fn append<S, E>(
        &self,
        name: &RepoName,
        id: &UploadRef,
        chunk: Chunk<S>,
    ) -> Result<UploadState>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut checkout = self.sessions.checkout(name, id).await?;
        let written = write_chunk(name, &mut checkout, chunk).await;
        checkout.touch();
        written?;
        Ok(state(name, &checkout))
    }

    /// Appends an optional last chunk, verifies the whole upload against `digest` and
    /// stores it in the origins.
    pub async fn commit<S, E>(
        &self,
        name: &RepoName,
        id: &UploadRef,
        digest: &Digest,
        chunk: Chunk<S>,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut checkout = self.sessions.checkout(name, id).await?;
        let written = write_chunk(name, &mut checkout, chunk).await;
        checkout.touch();
        written?;
        let file = self.sessions.remove(checkout);
        self.count_open();
        self.push(name, digest, file).await
    }

    /// A whole blob in one request body (`POST …/uploads/?digest=`).
    pub async fn monolithic<S, E>(&self, name: &RepoName, digest: &Digest, body: S) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut file = UploadFile::create(&self.dir, &new_upload_id()).await?;
        file.append(body, None).await?;
        self.push(name, digest, file).await
    }

    /// Forgets the upload and deletes what it received.
    pub async fn cancel(&self, name: &RepoName, id: &UploadRef) -> Result<()> {
        let checkout = self.sessions.checkout(name, id).await?;
        drop(self.sessions.remove(checkout));
        self.count_open();
        info!(%name, upload = %id, "upload cancelled");
        Ok(())
    }

    /// Makes blob `digest`, pushed to `from`, part of `name`. `false` when the origins
    /// have no such blob: the client then uploads it.
    pub async fn mount(&self, name: &RepoName, from: &RepoName, digest: &Digest) -> Result<bool> {
        let stat = Error::origin("stat a blob");
        if self
            .origins
            .stat(name, digest)
            .await
            .map_err(stat)?
            .is_some()
        {
            self.metrics.blobs_mounted.increment(1);
            return Ok(true);
        }
        let stat = Error::origin("stat a blob");
        let Some(size) = self.origins.stat(from, digest).await.map_err(stat)? else {
            return Ok(false);
        };
        // The origins choose a storage backend per repository, so the blob is copied
        // into `name` rather than assumed to be visible there.
        let (origins, source_repo, source) = (self.origins.clone(), from.clone(), *digest);
        let open = move || {
            let (origins, from) = (origins.clone(), source_repo.clone());
            futures::stream::once(async move {
                let download = origins.download(&from, &source).await;
                download.map(|d| d.body).map_err(std::io::Error::other)
            })
            .try_flatten()
            .boxed()
        };
        self.origins
            .upload(name, digest, size, open)
            .await
            .map_err(Error::origin("copy a mounted blob"))?;
        self.metrics.blobs_mounted.increment(1);
        info!(%name, %from, %digest, "blob mounted");
        Ok(true)
    }

    /// Drops idle uploads; see [`Sessions::reap`].
    pub fn reap(&self, now: Instant) -> usize {
        let dropped = self.sessions.reap(now);
        self.metrics.uploads_reaped.increment(dropped as u64);
        self.count_open();
        dropped
    }

    /// Verifies the received bytes against `digest`, then streams them to the origins.
    /// The temp file is deleted when `file` drops, whatever the outcome.
    async fn push(&self, name: &RepoName, digest: &Digest, file: UploadFile) -> Result<()> {
        let actual = file.digest();
        if actual != *digest {
            self.metrics.uploads_rejected.increment(1);
            return Err(Error::DigestMismatch {
                expected: *digest,
                actual,
            });
        }
        let size = file.offset();
        let host = self
            .origins
            .upload(name, digest, size, || file.reader())
            .await
            .map_err(Error::origin("store the blob"))?;
        self.metrics.blobs_pushed.increment(1);
        self.metrics.pushed_bytes.increment(size);
        info!(%name, %digest, size, origin = %host, "blob stored");
        Ok(())
    }

    fn count_open(&self) {
        self.metrics
            .uploads_in_progress
            .set(self.sessions.len() as f64);
    }
}

/// 128 random bits as 32 lowercase hex digits: unguessable, and a valid file name.
fn new_upload_id() -> UploadRef {
    let id = format!("{:032x}", rand::random::<u128>());
    UploadRef::parse(&id).expect("hex digits are a valid upload id")
}

fn state(name: &RepoName, checkout: &Checkout) -> UploadState {
    UploadState {
        name: name.clone(),
        id: checkout.id().clone(),
        offset: checkout.offset(),
    }
}

/// Appends `chunk` if it starts where the upload ends.
async fn write_chunk<S, E>(name: &RepoName, checkout: &mut Checkout, chunk: Chunk<S>) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: Into<BoxError>,
{
    let offset = checkout.offset();
    if let Some(range) = chunk.range
        && range.first != offset
    {
        return Err(Error::ChunkOutOfOrder {
            name: name.clone(),
            id: checkout.id().clone(),
            offset,
            start: range.first,
        });
    }
    let expected = chunk.range.map(|r| r.byte_count());
    checkout.file().append(chunk.body, expected).await
}
