//! The upload service: a whole blob in one request (`PUT /namespace/{ns}/blobs/{digest}`,
//! from the proxy or from another origin copying it), verified against its digest before
//! it becomes a blob. Chunked registry uploads end at the proxy, which sends the origin
//! the whole blob; the origin has no upload sessions.
//!
//! Invariants:
//! - Nothing a client sends becomes visible until the whole blob hashed to the digest
//!   in its URL (the store's commit checks it).
//! - Any rejected request (digest mismatch, short or broken body) abandons its upload:
//!   the temp file is deleted at once, so a failed upload leaves nothing behind and the
//!   client starts over.
//! - A committed upload is handed to [`Distribution`] before the client hears success,
//!   so its write-back and copies are queued durably; if queueing fails the client gets
//!   a 5xx and retries (the retried commit finds the blob and queues again).

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use starling_core::{Digest, RepoName};
use starling_store::{BlobInfo, Store, Upload};
use tracing::info;

use crate::error::{BoxError, Error, Result};
use crate::ingest::copy_into;
use crate::metrics::OriginMetrics;
use crate::tasks::{Distribution, UploadSource};

/// The body of one upload request.
pub struct UploadBody<S> {
    pub stream: S,
    /// The declared `Content-Length`, when given.
    pub length: Option<u64>,
}

/// Uploads into the store.
pub struct UploadService {
    store: Store,
    distribution: Arc<Distribution>,
    metrics: Arc<OriginMetrics>,
}

impl UploadService {
    pub fn new(store: Store, distribution: Arc<Distribution>, metrics: Arc<OriginMetrics>) -> Self {
        Self {
            store,
            distribution,
            metrics,
        }
    }

    /// Stores a whole blob sent in one request.
    pub async fn put<S, E>(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        body: UploadBody<S>,
        source: UploadSource,
    ) -> Result<BlobInfo>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut upload = self
            .store
            .begin_upload()
            .await
            .map_err(Error::store("start an upload"))?;
        if let Err(e) = write_body(&mut upload, body).await {
            self.metrics.uploads_rejected.increment(1);
            return Err(e);
        }
        self.commit(namespace, digest, upload, source).await
    }

    async fn commit(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        upload: Upload,
        source: UploadSource,
    ) -> Result<BlobInfo> {
        let info = match upload.commit(digest).await {
            Ok(info) => info,
            Err(e) => {
                self.metrics.uploads_rejected.increment(1);
                return Err(Error::store("commit an upload")(e));
            }
        };
        self.metrics.uploads_committed.increment(1);
        info!(%digest, %namespace, size = info.size, ?source, "upload committed");
        self.distribution
            .committed(namespace, &info, source)
            .await?;
        Ok(info)
    }
}

/// Copies a request body into `upload`, checking it against the declared length.
async fn write_body<S, E>(upload: &mut Upload, body: UploadBody<S>) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
    E: Into<BoxError>,
{
    let stream_error = |e: E, received| Error::BodyRead {
        received,
        source: e.into(),
    };
    let received = copy_into(upload, body.stream, stream_error, |_| {}).await?;
    let expected = body.length.unwrap_or(received);
    if received != expected {
        return Err(Error::BodyLength {
            expected,
            actual: received,
        });
    }
    Ok(received)
}
