//! Copies a byte stream (an HTTP request body, a backend download) into a store upload
//! with bounded memory.
//!
//! Network chunks are small (often 8-64 KiB) and every `Upload::write` is a trip to the
//! blocking pool, so chunks are gathered into batches of up to [`WRITE_BATCH`] bytes
//! first: memory per copy stays under two batches, however large the blob.

use bytes::{Bytes, BytesMut};
use futures::{Stream, StreamExt};
use starling_store::Upload;

use crate::error::{Error, Result};

/// Bytes gathered before one write to the upload file.
pub const WRITE_BATCH: usize = 1 << 20;

/// Copies `body` to the end of `upload` and returns the bytes copied. A stream error
/// becomes `stream_error(error, bytes_received_so_far)`; `observe` sees each chunk's
/// length as it arrives (for metrics). On error the upload holds an unknown prefix of
/// the body, so callers abandon it.
pub async fn copy_into<S, E>(
    upload: &mut Upload,
    mut body: S,
    stream_error: impl Fn(E, u64) -> Error,
    mut observe: impl FnMut(usize),
) -> Result<u64>
where
    S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
{
    let mut batch = BytesMut::new();
    let mut received = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| stream_error(e, received))?;
        received += chunk.len() as u64;
        observe(chunk.len());
        if batch.is_empty() && chunk.len() >= WRITE_BATCH {
            write(upload, &chunk).await?;
            continue;
        }
        batch.extend_from_slice(&chunk);
        if batch.len() >= WRITE_BATCH {
            write(upload, &batch).await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        write(upload, &batch).await?;
    }
    Ok(received)
}

async fn write(upload: &mut Upload, data: &[u8]) -> Result<()> {
    upload
        .write(data)
        .await
        .map_err(Error::store("write an upload"))
}

#[cfg(test)]
mod tests {
    use futures::stream;
    use starling_core::Digest;
    use starling_store::{Store, StoreOptions};

    use super::*;

    async fn store(root: &std::path::Path) -> Store {
        Store::open_root(StoreOptions {
            root: root.to_path_buf(),
            idle_ttl: std::time::Duration::from_secs(3600),
            high_watermark: u64::MAX,
            low_watermark: u64::MAX,
        })
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn small_and_large_chunks_arrive_in_order() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let data: Vec<u8> = (0..3 * WRITE_BATCH + 17).map(|i| (i % 251) as u8).collect();
        let cuts = [
            0,
            10,
            5000,
            5000 + WRITE_BATCH + 3,
            2 * WRITE_BATCH,
            data.len(),
        ];
        let chunks: Vec<std::result::Result<Bytes, std::io::Error>> = cuts
            .windows(2)
            .map(|w| Ok(Bytes::copy_from_slice(&data[w[0]..w[1]])))
            .collect();
        let mut upload = store.begin_upload().await.unwrap();
        let mut seen = 0;
        let copied = copy_into(
            &mut upload,
            stream::iter(chunks),
            |e, _| Error::Config(e.to_string()),
            |n| seen += n,
        )
        .await
        .unwrap();
        assert_eq!((copied, seen), (data.len() as u64, data.len()));
        let info = upload.commit(&Digest::of(&data)).await.unwrap();
        assert_eq!(info.size, data.len() as u64);
    }

    #[tokio::test]
    async fn a_stream_error_reports_how_far_it_got() {
        let root = tempfile::tempdir().unwrap();
        let store = store(root.path()).await;
        let chunks = vec![
            Ok(Bytes::from_static(b"abc")),
            Err(std::io::Error::other("reset")),
        ];
        let mut upload = store.begin_upload().await.unwrap();
        let err = copy_into(
            &mut upload,
            stream::iter(chunks),
            |e, received| Error::Config(format!("{e} after {received}")),
            |_| {},
        )
        .await
        .unwrap_err();
        assert_eq!(err.to_string(), "invalid configuration: reset after 3");
    }
}
