//! Streaming uploads into an object store with bounded memory.
//!
//! Bodies up to [`PART_SIZE`] are buffered and written with one atomic `put`. Larger
//! bodies go through a multipart upload in `PART_SIZE` parts with at most
//! [`PARTS_IN_FLIGHT`] parts uploading at once, so memory stays near
//! `PART_SIZE * (PARTS_IN_FLIGHT + 1)` however large the blob.
//!
//! Invariant: an object appears only after its whole body was received and checked: the
//! length must equal the declared size and a blob's content must hash to its digest.
//! Otherwise the multipart upload is aborted before it is completed, so nothing is visible.

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt, PutPayload, WriteMultipart};
use starling_core::DigestHasher;
use tracing::{debug, warn};

use crate::error::{Error, Result};
use crate::key::Key;
use crate::stream::ByteStream;

/// Size of one multipart part; above S3's 5 MiB minimum for every part but the last.
pub const PART_SIZE: usize = 8 * 1024 * 1024;
/// Parts uploading concurrently; bounds memory and gives the network some overlap.
pub const PARTS_IN_FLIGHT: usize = 2;

/// Writes `body` to `path`, checking it against `key` and `size` before it becomes visible.
pub async fn upload(
    store: &dyn ObjectStore,
    path: &Path,
    key: &Key,
    size: u64,
    mut body: ByteStream,
) -> Result<()> {
    let mut check = BodyCheck::new(key, size);
    if size <= PART_SIZE as u64 {
        let mut chunks = Vec::new();
        while let Some(chunk) = body.next().await {
            let chunk = chunk?;
            check.update(&chunk)?;
            chunks.push(chunk);
        }
        check.finish()?;
        store.put(path, PutPayload::from_iter(chunks)).await?;
        return Ok(());
    }
    let multipart = store.put_multipart(path).await?;
    let mut writer = WriteMultipart::new_with_chunk_size(multipart, PART_SIZE);
    let streamed = write_parts(&mut writer, &mut check, body).await;
    match streamed.and_then(|()| check.finish()) {
        Ok(()) => {
            writer.finish().await?;
            debug!(%key, size, "multipart upload completed");
            Ok(())
        }
        Err(e) => {
            if let Err(abort) = writer.abort().await {
                warn!(%key, error = %abort, "could not abort a failed multipart upload");
            }
            Err(e)
        }
    }
}

async fn write_parts(
    writer: &mut WriteMultipart,
    check: &mut BodyCheck,
    mut body: ByteStream,
) -> Result<()> {
    while let Some(chunk) = body.next().await {
        let chunk: Bytes = chunk?;
        check.update(&chunk)?;
        writer.wait_for_capacity(PARTS_IN_FLIGHT).await?;
        writer.put(chunk);
    }
    Ok(())
}

/// Counts and hashes a body on its way through.
struct BodyCheck {
    key: Key,
    expected: u64,
    received: u64,
    hasher: Option<DigestHasher>,
}

impl BodyCheck {
    fn new(key: &Key, expected: u64) -> Self {
        let hasher = matches!(key, Key::Blob { .. }).then(DigestHasher::new);
        Self {
            key: key.clone(),
            expected,
            received: 0,
            hasher,
        }
    }

    fn update(&mut self, chunk: &[u8]) -> Result<()> {
        self.received += chunk.len() as u64;
        if self.received > self.expected {
            return Err(self.length_mismatch());
        }
        if let Some(hasher) = &mut self.hasher {
            hasher.update(chunk);
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<()> {
        if self.received != self.expected {
            return Err(self.length_mismatch());
        }
        let (Some(hasher), Key::Blob { digest, .. }) = (self.hasher.take(), &self.key) else {
            return Ok(());
        };
        let actual = hasher.finish();
        if actual != *digest {
            return Err(Error::BodyMismatch {
                key: self.key.clone(),
                source: Box::new(starling_core::Error::DigestMismatch {
                    expected: *digest,
                    actual,
                }),
            });
        }
        Ok(())
    }

    fn length_mismatch(&self) -> Error {
        Error::BodyMismatch {
            key: self.key.clone(),
            source: Box::new(starling_core::Error::LengthMismatch {
                expected: self.expected,
                actual: self.received,
            }),
        }
    }
}
