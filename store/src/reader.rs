//! [`BlobReader`]: reads a committed blob, sequentially (async read + seek, for HTTP
//! bodies and Range requests) or at any offset (for serving peer-wire block requests).
//!
//! A reader holds a lease on its blob for as long as it lives, so eviction and delete
//! skip the blob; dropping the reader releases the lease. Committed blobs are immutable,
//! so a reader never sees a change under it.

use std::fs;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use tokio::io::{AsyncRead, AsyncSeek, ReadBuf};

use crate::error::{Error, IoContext, Result};
use crate::index::Lease;
use crate::store::BlobInfo;
use starling_runtime::blocking;

/// An open committed blob. Implements `AsyncRead + AsyncSeek`; [`BlobReader::read_at`]
/// reads at an offset without moving the cursor.
#[derive(Debug)]
pub struct BlobReader {
    info: BlobInfo,
    path: PathBuf,
    cursor: tokio::fs::File,
    // A second descriptor for positional reads: `pread` ignores the shared file offset,
    // so it neither disturbs nor depends on the cursor above.
    positional: Arc<fs::File>,
    _lease: Lease,
}

impl BlobReader {
    pub(crate) fn new(info: BlobInfo, path: PathBuf, file: fs::File, lease: Lease) -> Result<Self> {
        let positional = Arc::new(file.try_clone().ctx("duplicate blob descriptor", &path)?);
        Ok(Self {
            info,
            path,
            cursor: tokio::fs::File::from_std(file),
            positional,
            _lease: lease,
        })
    }

    pub fn info(&self) -> BlobInfo {
        self.info
    }

    pub fn size(&self) -> u64 {
        self.info.size
    }

    /// Reads exactly `len` bytes at `offset`; the range must lie inside the blob.
    pub async fn read_at(&self, offset: u64, len: usize) -> Result<Bytes> {
        self.check_range(offset, len)?;
        let (file, path) = (self.positional.clone(), self.path.clone());
        blocking("read a blob range", move || {
            let mut buf = vec![0; len];
            file.read_exact_at(&mut buf, offset)
                .ctx("read blob", &path)?;
            Ok(Bytes::from(buf))
        })
        .await
    }

    /// Fills `buf` from `offset`, on the calling thread (for callers that batch several
    /// reads into one blocking task); the range must lie inside the blob.
    pub fn read_into_blocking(&self, offset: u64, buf: &mut [u8]) -> Result<()> {
        self.check_range(offset, buf.len())?;
        self.positional
            .read_exact_at(buf, offset)
            .ctx("read blob", &self.path)
    }

    fn check_range(&self, offset: u64, len: usize) -> Result<()> {
        let end = offset.checked_add(len as u64);
        if end.is_none_or(|end| end > self.info.size) {
            return Err(Error::OutOfRange {
                digest: self.info.digest,
                offset,
                len: len as u64,
                size: self.info.size,
            });
        }
        Ok(())
    }
}

impl AsyncRead for BlobReader {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.cursor).poll_read(cx, buf)
    }
}

impl AsyncSeek for BlobReader {
    fn start_seek(mut self: Pin<&mut Self>, position: io::SeekFrom) -> io::Result<()> {
        Pin::new(&mut self.cursor).start_seek(position)
    }

    fn poll_complete(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<u64>> {
        Pin::new(&mut self.cursor).poll_complete(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::io::SeekFrom;
    use std::time::{Duration, SystemTime};

    use starling_core::Digest;
    use tokio::io::{AsyncReadExt, AsyncSeekExt};

    use super::*;
    use crate::store::Store;
    use crate::store::test_support::*;

    #[tokio::test]
    async fn seek_and_positional_reads_return_the_right_bytes() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(options(root.path())).await.unwrap();
        let data = content(10_000, 4);
        let info = put(&store, &data).await;
        let mut reader = store.open(&info.digest).await.unwrap().unwrap();
        assert_eq!(reader.info(), info);

        reader.seek(SeekFrom::Start(9_000)).await.unwrap();
        let mut range = vec![0; 500];
        reader.read_exact(&mut range).await.unwrap();
        assert_eq!(range, &data[9_000..9_500]);
        assert_eq!(reader.read_at(100, 50).await.unwrap(), &data[100..150]);
        assert_eq!(reader.read_at(9_990, 10).await.unwrap(), &data[9_990..]);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).await.unwrap();
        assert_eq!(
            rest,
            &data[9_500..],
            "positional reads must not move the cursor"
        );
        assert!(matches!(
            reader.read_at(9_995, 10).await,
            Err(Error::OutOfRange { .. })
        ));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_readers_while_another_blob_is_written() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(options(root.path())).await.unwrap();
        let data = Arc::new(content(1 << 20, 5));
        let info = put(&store, &data).await;
        let other = content(1 << 20, 6);

        let readers: Vec<_> = (0..8)
            .map(|_| {
                let (store, data) = (store.clone(), data.clone());
                tokio::spawn(async move {
                    for _ in 0..4 {
                        assert_eq!(read_all(&store, &info.digest).await, *data);
                    }
                })
            })
            .collect();
        let writer = {
            let (store, other) = (store.clone(), other.clone());
            tokio::spawn(async move { put(&store, &other).await })
        };
        for reader in readers {
            reader.await.unwrap();
        }
        let written = writer.await.unwrap();
        assert_eq!(read_all(&store, &written.digest).await, other);
        assert_eq!(store.usage().blobs, 2);
    }

    #[tokio::test]
    async fn opening_records_the_access_as_the_file_mtime() {
        let root = tempfile::tempdir().unwrap();
        let store = Store::open_root(options(root.path())).await.unwrap();
        let info = put(&store, b"accessed").await;
        set_mtime(&store, &info.digest, 1_000);
        let before_open = SystemTime::now() - Duration::from_secs(1);

        drop(store.open(&info.digest).await.unwrap().unwrap());
        let path = store.layout().blob_path(&info.digest);
        let mtime = fs::metadata(path).unwrap().modified().unwrap();
        assert!(mtime >= before_open, "mtime {mtime:?} not updated");
        let entry_access = store.index().lock().get(&info.digest).unwrap().last_access;
        assert!(entry_access >= before_open);
        assert!(store.open(&Digest::of(b"absent")).await.unwrap().is_none());
    }
}
