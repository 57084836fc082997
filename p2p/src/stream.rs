//! [`BlobStream`]: a blob's bytes in order, from any offset, as soon as they are verified.
//!
//! A blob already committed in the store streams straight from it. Otherwise the stream
//! follows its torrent: it yields each piece once the piece's SHA-1 has been checked and
//! it is on disk, and while it waits for the next one it registers its position with the
//! torrent, whose connections then fetch the pieces just after it first. The stream ends
//! only after the whole blob's sha256 has been verified and committed; if that fails, or
//! the torrent stops first, the stream ends with an error instead. So a consumer that
//! reads to the end has verified content, while one that streams it (an HTTP response)
//! gets the first bytes long before the blob is complete.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context as TaskContext, Poll};

use bytes::Bytes;
use futures::Stream;
use futures::stream::{self, BoxStream, StreamExt};
use starling_store::BlobReader;
use tokio::io::{AsyncRead, AsyncSeekExt};
use tokio::sync::watch;
use tokio_util::io::{ReaderStream, StreamReader};

use crate::torrent::Torrent;
use crate::torrent::state::Status;

/// Largest chunk a stream yields at once.
const CHUNK_LEN: u64 = 256 * 1024;

/// A blob's bytes from an offset to the end, in order.
pub struct BlobStream {
    inner: BoxStream<'static, io::Result<Bytes>>,
    blob_len: u64,
    start: u64,
}

impl BlobStream {
    /// Streams a committed blob from the store.
    pub(crate) async fn from_store(mut reader: BlobReader, start: u64) -> io::Result<Self> {
        let blob_len = reader.size();
        reader.seek(io::SeekFrom::Start(start)).await?;
        Ok(Self {
            inner: ReaderStream::with_capacity(reader, CHUNK_LEN as usize).boxed(),
            blob_len,
            start,
        })
    }

    /// Streams from a torrent, piece by piece as they are verified.
    pub(crate) fn from_torrent(torrent: Arc<Torrent>, start: u64) -> Self {
        let blob_len = torrent.meta.info().length();
        let follower = Follower {
            changed: torrent.subscribe(),
            torrent,
            pos: start,
            cursor: None,
        };
        let inner = stream::unfold(follower, |mut follower| async move {
            follower.next_chunk().await.map(|chunk| (chunk, follower))
        });
        Self {
            inner: inner.boxed(),
            blob_len,
            start,
        }
    }

    /// Length of the whole blob.
    pub fn blob_len(&self) -> u64 {
        self.blob_len
    }

    /// The offset the stream started at.
    pub fn start(&self) -> u64 {
        self.start
    }

    /// Bytes the stream yields in total.
    pub fn len(&self) -> u64 {
        self.blob_len - self.start
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The stream as an `AsyncRead`.
    pub fn into_async_read(self) -> impl AsyncRead + Send + Unpin {
        StreamReader::new(self)
    }
}

impl Stream for BlobStream {
    type Item = io::Result<Bytes>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<Option<Self::Item>> {
        self.inner.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for BlobStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobStream")
            .field("blob_len", &self.blob_len)
            .field("start", &self.start)
            .finish_non_exhaustive()
    }
}

/// Follows a torrent from `pos` to the end.
struct Follower {
    torrent: Arc<Torrent>,
    changed: watch::Receiver<u64>,
    pos: u64,
    cursor: Option<Cursor>,
}

/// What the torrent can give the follower right now.
enum Next {
    Read(crate::torrent::source::SourceReader, u64),
    Wait,
    End,
    Fail(String),
}

impl Follower {
    async fn next_chunk(&mut self) -> Option<io::Result<Bytes>> {
        loop {
            // Mark the current value seen before looking, so a change made after the
            // look wakes the wait below.
            self.changed.borrow_and_update();
            match self.look() {
                Next::Read(reader, len) => {
                    let chunk = reader.read(self.pos, len as usize).await;
                    self.pos += len;
                    return Some(chunk.map_err(io::Error::other));
                }
                Next::End => {
                    self.cursor = None;
                    return None;
                }
                Next::Fail(reason) => {
                    self.cursor = None;
                    return Some(Err(io::Error::other(reason)));
                }
                Next::Wait => {
                    if self.changed.changed().await.is_err() {
                        return Some(Err(io::Error::other("the torrent went away")));
                    }
                }
            }
        }
    }

    fn look(&mut self) -> Next {
        let meta = &self.torrent.meta;
        let length = meta.info().length();
        let mut state = self.torrent.lock();
        if self.pos >= length {
            return match &state.status {
                _ if state.source.is_committed() => Next::End,
                Status::Failed(reason) => Next::Fail(format!("download failed: {reason}")),
                Status::Stopped => Next::Fail("the download stopped before it was verified".into()),
                _ => Next::Wait,
            };
        }
        let piece_length = meta.info().piece_length();
        let piece = meta
            .piece_index((self.pos / piece_length) as u32)
            .expect("pos is inside the blob");
        if state.have.has(piece) {
            let piece_end = meta.piece_offset(piece) + meta.piece_len(piece);
            let len = (piece_end - self.pos).min(CHUNK_LEN);
            if let Some(cursor) = &self.cursor {
                state.move_cursor(cursor.id, piece);
            }
            return Next::Read(state.source.reader(), len);
        }
        match &state.status {
            Status::Failed(reason) => Next::Fail(format!("download failed: {reason}")),
            Status::Stopped => Next::Fail("the download stopped".into()),
            _ => {
                match &self.cursor {
                    Some(cursor) => state.move_cursor(cursor.id, piece),
                    None => {
                        let id = state.add_cursor(piece);
                        self.cursor = Some(Cursor {
                            torrent: self.torrent.clone(),
                            id,
                        });
                    }
                }
                Next::Wait
            }
        }
    }
}

/// A reader position registered with the torrent; removed on drop.
struct Cursor {
    torrent: Arc<Torrent>,
    id: u64,
}

impl Drop for Cursor {
    fn drop(&mut self) {
        self.torrent.lock().remove_cursor(self.id);
    }
}
