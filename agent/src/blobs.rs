//! Blobs for pullers: sizes and bytes by digest, from the node's cache or the swarm.
//!
//! A committed blob is answered from the local store. Anything else goes through the
//! engine: its metainfo (from the tracker) gives the size for `HEAD`, and a `GET`
//! starts (or joins) the swarm download and streams pieces as they are verified.
//! A `Range` request is resolved against the size first, so an unsatisfiable range is a
//! 416 without touching the swarm, and a satisfiable one streams from its first byte
//! with the pieces around it fetched first.
//!
//! A download reserves its blob's disk space when it starts (see `starling_store`), so a
//! node without room answers [`Error::OutOfSpace`] before any byte is sent, and counts
//! it (`starling_agent_out_of_space_total`).

use std::io;
use std::sync::Arc;

use bytes::Bytes;
use futures::stream::{BoxStream, StreamExt};
use metrics::Counter;
use starling_core::range::{ByteRange, parse_range};
use starling_core::{Digest, RepoName};
use starling_p2p::{Engine, MetaInfoSource};
use starling_store::Store;

use crate::error::{Error, Result};

/// A blob on its way to the client.
pub struct BlobRead {
    pub digest: Digest,
    /// The whole blob's size.
    pub size: u64,
    /// The part being sent, when the client asked for one.
    pub range: Option<ByteRange>,
    pub body: BoxStream<'static, io::Result<Bytes>>,
}

pub struct BlobService {
    engine: Engine,
    metainfo: Arc<dyn MetaInfoSource>,
    store: Store,
    /// Pulls refused because the node has no disk space for the blob.
    out_of_space: Counter,
}

impl BlobService {
    pub fn new(
        engine: Engine,
        metainfo: Arc<dyn MetaInfoSource>,
        store: Store,
        out_of_space: Counter,
    ) -> Self {
        Self {
            engine,
            metainfo,
            store,
            out_of_space,
        }
    }

    /// The blob's size; [`Error::BlobUnknown`] when no origin has it.
    pub async fn stat(&self, name: &RepoName, digest: &Digest) -> Result<u64> {
        if let Some(info) = self.store.stat(digest)? {
            return Ok(info.size);
        }
        match self.metainfo.metainfo(name, digest).await {
            Ok(meta) => Ok(meta.info().length()),
            Err(e) => Err(swarm_error(e, name, digest, "look up a blob's metainfo")),
        }
    }

    /// Streams the whole blob, or the part `range_header` asks for.
    pub async fn read(
        &self,
        name: &RepoName,
        digest: &Digest,
        range_header: Option<&str>,
    ) -> Result<BlobRead> {
        let range = match range_header {
            Some(header) => {
                let size = self.stat(name, digest).await?;
                parse_range(header, size).map_err(|_| Error::RangeNotSatisfiable { size })?
            }
            None => None,
        };
        let offset = range.map_or(0, |r| r.first);
        let stream = self
            .engine
            .download_from(name, digest, offset)
            .await
            .map_err(|e| self.swarm_error(e, name, digest, "download a blob"))?;
        let size = stream.blob_len();
        let body = match range {
            Some(range) => take_bytes(stream.boxed(), range.byte_count()),
            None => stream.boxed(),
        };
        Ok(BlobRead {
            digest: *digest,
            size,
            range,
            body,
        })
    }

    /// Reads a whole blob into memory, refusing one larger than `limit` before
    /// downloading it. `None` when it is larger.
    pub async fn read_small(
        &self,
        name: &RepoName,
        digest: &Digest,
        limit: u64,
    ) -> Result<Option<Bytes>> {
        let stream = self
            .engine
            .download(name, digest)
            .await
            .map_err(|e| self.swarm_error(e, name, digest, "download a manifest"))?;
        if stream.blob_len() > limit {
            return Ok(None);
        }
        let mut body = Vec::with_capacity(stream.blob_len() as usize);
        let mut stream = stream.boxed();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|source| Error::SwarmStream {
                digest: *digest,
                source,
            })?;
            body.extend_from_slice(&chunk);
        }
        Ok(Some(body.into()))
    }

    /// [`swarm_error`], counting a download the node has no room for.
    fn swarm_error(
        &self,
        error: starling_p2p::Error,
        name: &RepoName,
        digest: &Digest,
        action: &'static str,
    ) -> Error {
        if error.is_no_space() {
            self.out_of_space.increment(1);
            return Error::OutOfSpace {
                digest: *digest,
                source: error,
            };
        }
        swarm_error(error, name, digest, action)
    }
}

/// An unknown blob is the client's 404; anything else is the swarm failing.
fn swarm_error(
    error: starling_p2p::Error,
    name: &RepoName,
    digest: &Digest,
    action: &'static str,
) -> Error {
    if error.is_not_found() {
        Error::BlobUnknown {
            name: name.clone(),
            digest: *digest,
        }
    } else {
        Error::swarm(action)(error)
    }
}

/// The first `count` bytes of `stream`.
fn take_bytes(
    stream: BoxStream<'static, io::Result<Bytes>>,
    count: u64,
) -> BoxStream<'static, io::Result<Bytes>> {
    futures::stream::unfold((stream, count), |(mut stream, left)| async move {
        if left == 0 {
            return None;
        }
        let item = match stream.next().await? {
            Ok(mut chunk) => {
                if chunk.len() as u64 > left {
                    chunk.truncate(left as usize);
                }
                let remaining = left - chunk.len() as u64;
                return Some((Ok(chunk), (stream, remaining)));
            }
            Err(e) => Err(e),
        };
        Some((item, (stream, 0)))
    })
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn chunks(sizes: &[usize]) -> BoxStream<'static, io::Result<Bytes>> {
        let mut next = 0u8;
        let items: Vec<io::Result<Bytes>> = sizes
            .iter()
            .map(|&n| {
                let chunk: Vec<u8> = (0..n)
                    .map(|_| {
                        next = next.wrapping_add(1);
                        next
                    })
                    .collect();
                Ok(Bytes::from(chunk))
            })
            .collect();
        futures::stream::iter(items).boxed()
    }

    async fn collect(stream: BoxStream<'static, io::Result<Bytes>>) -> Vec<u8> {
        let parts: Vec<Bytes> = stream.map(|c| c.unwrap()).collect().await;
        parts.concat()
    }

    #[tokio::test]
    async fn take_bytes_stops_inside_a_chunk() {
        let all = collect(chunks(&[3, 4, 5])).await;
        for count in [0, 1, 3, 5, 7, 12] {
            let taken = collect(take_bytes(chunks(&[3, 4, 5]), count)).await;
            assert_eq!(taken, all[..count as usize], "count {count}");
        }
    }

    #[tokio::test]
    async fn take_bytes_passes_errors_and_ends() {
        let failing = futures::stream::iter(vec![
            Ok(Bytes::from_static(b"ab")),
            Err(io::Error::other("piece failed")),
            Ok(Bytes::from_static(b"cd")),
        ])
        .boxed();
        let items: Vec<_> = take_bytes(failing, 10).collect().await;
        assert_eq!(items.len(), 2);
        assert!(items[1].is_err());
    }
}
