//! Blob reads for pullers and for the `HEAD` that clients send before pushing: sizes and
//! bytes come from the origin cluster, with failover over the digest's owners.
//!
//! A `Range: bytes=…` request is answered 206 with the origin's ranged download; the
//! range is resolved against the blob's size first, so an unsatisfiable range is a 416
//! from the proxy itself.

use starling_clients::OriginCluster;
use starling_clients::origin::client::{BlobDownload, ClientError};
use starling_core::range::{ByteRange, parse_range};
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};

/// A blob on its way to the client.
pub struct BlobRead {
    pub digest: Digest,
    /// The whole blob's size.
    pub size: u64,
    /// The part being sent, when the client asked for one.
    pub range: Option<ByteRange>,
    pub download: BlobDownload,
}

pub struct BlobService {
    origins: OriginCluster,
}

impl BlobService {
    pub fn new(origins: OriginCluster) -> Self {
        Self { origins }
    }

    /// The blob's size; [`Error::BlobUnknown`] when no owner has it.
    pub async fn stat(&self, name: &RepoName, digest: &Digest) -> Result<u64> {
        self.origins
            .stat(name, digest)
            .await
            .map_err(Error::origin("stat a blob"))?
            .ok_or_else(|| unknown(name, digest))
    }

    /// Streams the blob, or the part `range_header` asks for.
    pub async fn read(
        &self,
        name: &RepoName,
        digest: &Digest,
        range_header: Option<&str>,
    ) -> Result<BlobRead> {
        let Some(header) = range_header else {
            let download = self.origins.download(name, digest).await;
            let download = download.map_err(|e| read_error(e, name, digest))?;
            return Ok(BlobRead {
                digest: *digest,
                size: download.size,
                range: None,
                download,
            });
        };
        let size = self.stat(name, digest).await?;
        let range = parse_range(header, size).map_err(|_| Error::RangeNotSatisfiable { size })?;
        let download = match range {
            Some(range) => self.read_range(name, digest, range).await?,
            None => self
                .origins
                .download(name, digest)
                .await
                .map_err(|e| read_error(e, name, digest))?,
        };
        Ok(BlobRead {
            digest: *digest,
            size,
            range,
            download,
        })
    }

    /// A ranged download from the first owner that serves it.
    async fn read_range(
        &self,
        name: &RepoName,
        digest: &Digest,
        range: ByteRange,
    ) -> Result<BlobDownload> {
        let mut last = None;
        for client in self.origins.candidates(digest) {
            match client.download_range(name, digest, range).await {
                Ok(download) => return Ok(download),
                Err(e) if e.is_not_found() || e.is_retryable() => {
                    tracing::debug!(host = client.host(), error = %e, "ranged read failed; trying the next owner");
                    last = Some(e);
                }
                Err(e) => return Err(read_error(e, name, digest)),
            }
        }
        Err(match last {
            Some(e) => read_error(e, name, digest),
            None => unknown(name, digest),
        })
    }
}

fn unknown(name: &RepoName, digest: &Digest) -> Error {
    Error::BlobUnknown {
        name: name.clone(),
        digest: *digest,
    }
}

fn read_error(error: ClientError, name: &RepoName, digest: &Digest) -> Error {
    if error.is_not_found() {
        unknown(name, digest)
    } else {
        Error::origin("read a blob")(error)
    }
}
