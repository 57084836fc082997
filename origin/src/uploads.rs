//! The upload service: chunked uploads (start, append chunks, commit) and monolithic
//! uploads, each verified against its digest before it becomes a blob.
//!
//! Invariants:
//! - Nothing a client sends becomes visible until the whole blob hashed to the digest
//!   in its URL (the store's commit checks it).
//! - Any rejected request (digest mismatch, chunk out of order, short or broken body)
//!   abandons its upload: the temp file is deleted at once and the upload id is
//!   forgotten, so a failed upload leaves nothing behind and the client starts over.
//! - A committed upload is handed to [`Distribution`] before the client hears success,
//!   so its write-back and copies are queued durably; if queueing fails the client gets
//!   a 5xx and retries (the retried commit finds the blob and queues again).

use std::sync::Arc;

use bytes::Bytes;
use futures::Stream;
use starling_core::{Digest, RepoName};
use starling_store::{BlobInfo, Store, Upload, UploadId};
use tracing::{debug, info};

use crate::error::{BoxError, Error, Result};
use crate::ingest::copy_into;
use crate::metrics::OriginMetrics;
use crate::sessions::{Checkout, Sessions};
use crate::tasks::{Distribution, UploadSource};
use starling_core::range::ByteRange;

/// The body of one upload request.
pub struct UploadBody<S> {
    pub stream: S,
    /// The chunk's declared position (`Content-Range`), when given.
    pub range: Option<ByteRange>,
    /// The declared `Content-Length`, when given.
    pub length: Option<u64>,
}

/// Uploads into the store.
pub struct UploadService {
    store: Store,
    sessions: Sessions,
    distribution: Arc<Distribution>,
    metrics: Arc<OriginMetrics>,
}

impl UploadService {
    pub fn new(
        store: Store,
        sessions: Sessions,
        distribution: Arc<Distribution>,
        metrics: Arc<OriginMetrics>,
    ) -> Self {
        Self {
            store,
            sessions,
            distribution,
            metrics,
        }
    }

    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// Starts a chunked upload of `digest` into `namespace`.
    pub async fn start(&self, namespace: &RepoName, digest: &Digest) -> Result<UploadId> {
        let upload = self
            .store
            .begin_upload()
            .await
            .map_err(Error::store("start an upload"))?;
        let id = self.sessions.insert(namespace.clone(), *digest, upload);
        debug!(upload = %id, %digest, "chunked upload started");
        Ok(id)
    }

    /// Appends one chunk; returns the upload's new length.
    pub async fn append<S, E>(
        &self,
        id: UploadId,
        namespace: &RepoName,
        digest: &Digest,
        body: UploadBody<S>,
    ) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut checkout = self.sessions.checkout(id, namespace, digest).await?;
        match self.write_chunk(&mut checkout, body).await {
            Ok(offset) => {
                checkout.touch();
                Ok(offset)
            }
            Err(e) => Err(self.abandon(checkout, e)),
        }
    }

    /// Appends an optional last chunk and commits the upload.
    pub async fn finish<S, E>(
        &self,
        id: UploadId,
        namespace: &RepoName,
        digest: &Digest,
        body: UploadBody<S>,
    ) -> Result<BlobInfo>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut checkout = self.sessions.checkout(id, namespace, digest).await?;
        if let Err(e) = self.write_chunk(&mut checkout, body).await {
            return Err(self.abandon(checkout, e));
        }
        let upload = self
            .sessions
            .remove(checkout)
            .ok_or_else(|| Error::UploadUnknown { id: id.to_string() })?;
        self.commit(namespace, digest, upload, UploadSource::Client)
            .await
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

    /// Abandons upload `id` because its request was malformed before it reached the
    /// service (a bad header); returns `error` to send back.
    pub async fn reject(
        &self,
        id: UploadId,
        namespace: &RepoName,
        digest: &Digest,
        error: Error,
    ) -> Error {
        match self.sessions.checkout(id, namespace, digest).await {
            Ok(checkout) => self.abandon(checkout, error),
            Err(unknown) => unknown,
        }
    }

    async fn write_chunk<S, E>(&self, checkout: &mut Checkout, body: UploadBody<S>) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let offset = checkout.upload().offset();
        if let Some(range) = body.range
            && range.first != offset
        {
            return Err(Error::ChunkOutOfOrder {
                id: checkout.id(),
                offset,
                start: range.first,
            });
        }
        write_body(checkout.upload(), body).await?;
        Ok(checkout.upload().offset())
    }

    /// Forgets the upload (deleting its temp file) and passes the error on.
    fn abandon(&self, checkout: Checkout, error: Error) -> Error {
        let id = checkout.id();
        drop(self.sessions.remove(checkout));
        self.metrics.uploads_rejected.increment(1);
        info!(upload = %id, error = %error, "upload rejected and abandoned");
        error
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

/// Copies a request body into `upload`, checking it against the declared length and
/// range.
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
    let expected = body
        .range
        .map(|r| r.byte_count())
        .or(body.length)
        .unwrap_or(received);
    if received != expected {
        return Err(Error::BodyLength {
            expected,
            actual: received,
        });
    }
    Ok(received)
}
