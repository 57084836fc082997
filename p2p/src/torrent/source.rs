//! Where a torrent's verified bytes live: the partial download being assembled, or the
//! committed blob once the whole-blob digest matched.
//!
//! Readers (block uploads, blob streams) take a [`SourceReader`] out of the torrent's lock
//! and read without holding it. A partial reader keeps working after the commit (its open
//! file follows the rename), so a switch of source never breaks a read in progress.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use starling_store::{BlobReader, PartialBlob, PartialReader};

use crate::error::Result;
use starling_runtime::blocking;

/// The torrent's data.
#[derive(Debug)]
pub enum Source {
    Partial {
        /// The writer; taken out for the commit.
        blob: Option<Arc<PartialBlob>>,
        reader: PartialReader,
    },
    Committed(Arc<BlobReader>),
}

impl Source {
    pub fn partial(blob: PartialBlob) -> Self {
        Self::Partial {
            reader: blob.reader(),
            blob: Some(Arc::new(blob)),
        }
    }

    pub fn committed(reader: BlobReader) -> Self {
        Self::Committed(Arc::new(reader))
    }

    pub fn is_committed(&self) -> bool {
        matches!(self, Self::Committed(_))
    }

    /// The writer of a partial download, if it has not been taken for the commit.
    pub fn writer(&self) -> Option<Arc<PartialBlob>> {
        match self {
            Self::Partial { blob, .. } => blob.clone(),
            Self::Committed(_) => None,
        }
    }

    /// Takes the writer out for the commit.
    pub fn take_writer(&mut self) -> Option<Arc<PartialBlob>> {
        match self {
            Self::Partial { blob, .. } => blob.take(),
            Self::Committed(_) => None,
        }
    }

    /// Puts back a writer that could not be committed yet.
    pub fn restore_writer(&mut self, writer: Arc<PartialBlob>) {
        if let Self::Partial { blob, .. } = self {
            *blob = Some(writer);
        }
    }

    pub fn reader(&self) -> SourceReader {
        match self {
            Self::Partial { reader, .. } => SourceReader::Partial(reader.clone()),
            Self::Committed(reader) => SourceReader::Committed(reader.clone()),
        }
    }
}

/// A read handle usable outside the torrent's lock.
#[derive(Debug, Clone)]
pub enum SourceReader {
    Partial(PartialReader),
    Committed(Arc<BlobReader>),
}

impl SourceReader {
    /// Reads `len` bytes at `offset`; every piece they touch must be verified.
    pub async fn read(&self, offset: u64, len: usize) -> Result<Bytes> {
        match self {
            Self::Partial(reader) => {
                let reader = reader.clone();
                blocking("read verified pieces", move || {
                    let mut buf = vec![0; len];
                    reader.read_at(offset, &mut buf)?;
                    Ok(Bytes::from(buf))
                })
                .await
            }
            Self::Committed(reader) => Ok(reader.read_at(offset, len).await?),
        }
    }

    /// Reads several `(offset, len)` ranges in one blocking task: one thread hand-off
    /// for a run of queued block requests instead of one per 16 KiB block.
    pub async fn read_ranges(&self, ranges: Vec<(u64, usize)>) -> Result<Vec<Bytes>> {
        let reader = self.clone();
        blocking("read verified pieces", move || {
            let total = ranges.iter().map(|&(_, len)| len).sum();
            let mut buf = BytesMut::zeroed(total);
            let mut filled = 0;
            for &(offset, len) in &ranges {
                let slice = &mut buf[filled..filled + len];
                match &reader {
                    Self::Partial(partial) => partial.read_at(offset, slice)?,
                    Self::Committed(committed) => committed.read_into_blocking(offset, slice)?,
                }
                filled += len;
            }
            let mut whole = buf.freeze();
            Ok(ranges.iter().map(|&(_, len)| whole.split_to(len)).collect())
        })
        .await
    }
}
