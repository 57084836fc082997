//! One upload's temp file: bytes arrive in order, are hashed as they are written, and
//! leave for the origins once the client names the digest.
//!
//! Invariants:
//! - a chunk is all or nothing: when a chunk fails (a read error, a length that does not
//!   match its `Content-Range`), the file is truncated back and the hash restored to what
//!   they were before it, so a rejected request changes nothing and the client can retry
//!   the chunk;
//! - no file descriptor is held between requests: each append opens the file and closes
//!   it when done, so idle uploads cost no descriptor;
//! - the temp file is removed when the `UploadFile` is dropped, whatever happened; the
//!   proxy never keeps a blob after handing it to the origins.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures::{Stream, StreamExt, TryStreamExt};
use starling_core::registry::UploadRef;
use starling_core::{Digest, DigestHasher};
use tokio::io::{AsyncSeekExt, AsyncWriteExt, BufWriter};
use tokio_util::io::ReaderStream;
use tracing::{debug, warn};

use crate::error::{BoxError, Error, Result};

/// Temp files are named `upload-<id>`, so startup can clear exactly these.
pub const FILE_PREFIX: &str = "upload-";
/// Writes are batched up to this many bytes, so a body of small frames does not cost a
/// blocking file write per frame.
const WRITE_BUFFER: usize = 1 << 20;
/// Read size when streaming the finished file to an origin.
const READ_CHUNK: usize = 256 << 10;

/// An upload in progress.
pub struct UploadFile {
    path: PathBuf,
    hasher: DigestHasher,
    offset: u64,
}

impl UploadFile {
    /// Creates `<dir>/upload-<id>`; fails if it exists.
    pub async fn create(dir: &Path, id: &UploadRef) -> Result<Self> {
        let path = dir.join(format!("{FILE_PREFIX}{id}"));
        tokio::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .await
            .map_err(Error::io("create the upload file", path.clone()))?;
        Ok(Self {
            path,
            hasher: DigestHasher::new(),
            offset: 0,
        })
    }

    /// Bytes received so far; the next chunk must start here.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// The digest of the bytes received so far.
    pub fn digest(&self) -> Digest {
        self.hasher.clone().finish()
    }

    /// Appends `body`, which must be exactly `expected` bytes when that is given; on
    /// any failure the upload is left as it was.
    pub async fn append<S, E>(&mut self, body: S, expected: Option<u64>) -> Result<u64>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let (start, saved) = (self.offset, self.hasher.clone());
        let mut file = self.open_at(start).await?;
        match self.copy(&mut file, body, expected).await {
            Ok(()) => Ok(self.offset),
            Err(error) => {
                self.hasher = saved;
                self.offset = start;
                file.set_len(start)
                    .await
                    .map_err(Error::io("truncate the upload file", self.path.clone()))?;
                Err(error)
            }
        }
    }

    /// The file opened for writing at `offset` (the end of what was received).
    async fn open_at(&self, offset: u64) -> Result<tokio::fs::File> {
        let io = || Error::io("open the upload file", self.path.clone());
        let mut file = tokio::fs::OpenOptions::new()
            .write(true)
            .open(&self.path)
            .await
            .map_err(io())?;
        file.seek(SeekFrom::Start(offset)).await.map_err(io())?;
        Ok(file)
    }

    /// Writes the body, hashing it; `expected` is the exact length it must have.
    async fn copy<S, E>(
        &mut self,
        file: &mut tokio::fs::File,
        mut body: S,
        expected: Option<u64>,
    ) -> Result<()>
    where
        S: Stream<Item = std::result::Result<Bytes, E>> + Unpin,
        E: Into<BoxError>,
    {
        let mut received = 0u64;
        let mut writer = BufWriter::with_capacity(WRITE_BUFFER, file);
        while let Some(frame) = body.next().await {
            let data = frame.map_err(|e| Error::BodyRead {
                received,
                source: e.into(),
            })?;
            received += data.len() as u64;
            if let Some(expected) = expected.filter(|&e| received > e) {
                return Err(Error::BodyLength {
                    expected,
                    actual: received,
                });
            }
            writer
                .write_all(&data)
                .await
                .map_err(Error::io("write the upload file", self.path.clone()))?;
            self.hasher.update(&data);
            self.offset += data.len() as u64;
        }
        writer
            .flush()
            .await
            .map_err(Error::io("write the upload file", self.path.clone()))?;
        match expected {
            Some(expected) if expected != received => Err(Error::BodyLength {
                expected,
                actual: received,
            }),
            _ => Ok(()),
        }
    }

    /// A fresh stream of the file's bytes, opened lazily (the origin cluster asks for
    /// one per attempt). Valid while `self` lives.
    pub fn reader(&self) -> futures::stream::BoxStream<'static, std::io::Result<Bytes>> {
        let path = self.path.clone();
        futures::stream::once(async move {
            let file = tokio::fs::File::open(&path).await?;
            Ok::<_, std::io::Error>(ReaderStream::with_capacity(file, READ_CHUNK))
        })
        .try_flatten()
        .boxed()
    }
}

impl Drop for UploadFile {
    fn drop(&mut self) {
        // A small unlink; Drop cannot await a blocking task anyway.
        match std::fs::remove_file(&self.path) {
            Ok(()) => debug!(path = %self.path.display(), "upload file removed"),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => warn!(path = %self.path.display(), error = %e, "cannot remove upload file"),
        }
    }
}

#[cfg(test)]
mod tests {
    use futures::stream;

    use super::*;

    fn body(parts: &[&'static [u8]]) -> impl Stream<Item = std::io::Result<Bytes>> + Unpin {
        stream::iter(
            parts
                .iter()
                .map(|p| Ok(Bytes::from_static(p)))
                .collect::<Vec<_>>(),
        )
    }

    async fn contents(file: &UploadFile) -> Vec<u8> {
        let chunks: Vec<Bytes> = file.reader().try_collect().await.unwrap();
        chunks.concat()
    }

    #[tokio::test]
    async fn chunks_append_and_hash() {
        let dir = tempfile::tempdir().unwrap();
        let id = UploadRef::parse("a1").unwrap();
        let mut file = UploadFile::create(dir.path(), &id).await.unwrap();
        assert_eq!(
            file.append(body(&[b"hel", b"lo"]), Some(5)).await.unwrap(),
            5
        );
        assert_eq!(file.append(body(&[b" world"]), None).await.unwrap(), 11);
        assert_eq!(file.digest(), Digest::of(b"hello world"));
        assert_eq!(contents(&file).await, b"hello world");
        assert!(
            UploadFile::create(dir.path(), &id).await.is_err(),
            "ids are unique"
        );
    }

    #[tokio::test]
    async fn a_failed_chunk_changes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let id = UploadRef::parse("a2").unwrap();
        let mut file = UploadFile::create(dir.path(), &id).await.unwrap();
        file.append(body(&[b"keep"]), None).await.unwrap();

        let long = file.append(body(&[b"too", b" long"]), Some(4)).await;
        assert!(
            matches!(
                long,
                Err(Error::BodyLength {
                    expected: 4,
                    actual: 8
                })
            ),
            "{long:?}"
        );
        let short = file.append(body(&[b"ab"]), Some(4)).await;
        assert!(
            matches!(
                short,
                Err(Error::BodyLength {
                    expected: 4,
                    actual: 2
                })
            ),
            "{short:?}"
        );
        let broken = stream::iter(vec![
            Ok(Bytes::from_static(b"partial")),
            Err(std::io::Error::other("client went away")),
        ]);
        let read = file.append(broken, None).await;
        assert!(
            matches!(read, Err(Error::BodyRead { received: 7, .. })),
            "{read:?}"
        );

        assert_eq!(file.offset(), 4);
        assert_eq!(file.digest(), Digest::of(b"keep"));
        assert_eq!(contents(&file).await, b"keep");
        file.append(body(&[b"!"]), Some(1)).await.unwrap();
        assert_eq!(contents(&file).await, b"keep!");
    }

    #[tokio::test]
    async fn dropping_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = UploadFile::create(dir.path(), &UploadRef::parse("a3").unwrap())
            .await
            .unwrap();
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        drop(file);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }
}
