//! Puts one blob on a remote cluster's origins, streamed from this cluster's origins.
//!
//! The remote ring is asked first (`HEAD`, which also counts a blob in the remote
//! origins' backend), so a blob already there costs one request. Otherwise the blob is
//! uploaded to its first reachable owner on the remote ring, which verifies the digest
//! and copies it to the other owners; the body is downloaded from this cluster's
//! origins while it is uploaded, never held in memory or on disk here. Each upload
//! attempt (one per remote owner tried) opens its own download, since a failed attempt
//! consumed the previous stream.

use futures::{StreamExt, TryStreamExt};
use starling_backend::ByteStream;
use starling_clients::OriginCluster;
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};

/// What [`copy_blob`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copied {
    /// The remote origins had the blob already.
    Present,
    /// Streamed over; its size in bytes.
    Streamed(u64),
}

/// Makes sure `digest` of `repo` is on the `remote` origins, copying it from `local`.
pub async fn copy_blob(
    local: &OriginCluster,
    remote: &OriginCluster,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Copied> {
    let origin_error = |action| {
        move |source| Error::Origin {
            action,
            digest: *digest,
            source: Box::new(source),
        }
    };
    let on_remote = remote
        .stat(repo, digest)
        .await
        .map_err(origin_error("stat on the remote origins"))?;
    if on_remote.is_some() {
        return Ok(Copied::Present);
    }
    let size = local
        .stat(repo, digest)
        .await
        .map_err(origin_error("stat on this cluster's origins"))?
        .ok_or(Error::BlobMissing { digest: *digest })?;
    let host = remote
        .upload(repo, digest, size, || {
            download_body(local.clone(), repo.clone(), *digest)
        })
        .await
        .map_err(origin_error("upload to the remote origins"))?;
    tracing::debug!(%repo, %digest, size, host, "blob copied to the remote cluster");
    Ok(Copied::Streamed(size))
}

/// The blob's body from `local`, downloaded once the stream is first polled.
fn download_body(local: OriginCluster, repo: RepoName, digest: Digest) -> ByteStream {
    futures::stream::once(async move {
        local
            .download(&repo, &digest)
            .await
            .map(|download| download.body)
            .map_err(std::io::Error::other)
    })
    .try_flatten()
    .boxed()
}
