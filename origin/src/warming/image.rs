//! Warming one pushed image: read its manifest through the cluster, parse it, and ask
//! the owners of each referenced blob to prefetch it; for an index, the same for each
//! child manifest (children of an index are manifests, never indexes of their own here:
//! the proxy refuses them, and a nested index from elsewhere is warmed one level deep).

use bytes::Bytes;
use futures::TryStreamExt;
use starling_clients::OriginCluster;
use starling_core::registry::notification::PushedManifest;
use starling_core::registry::{ManifestKind, manifest};
use starling_core::{Digest, RepoName};

use crate::metrics::OriginMetrics;

/// The largest manifest read, as the proxy's default `max_manifest_size`.
const MAX_MANIFEST: u64 = 4 * 1024 * 1024;

/// Why warming an image stopped.
#[derive(Debug, thiserror::Error)]
pub enum WarmError {
    #[error("cannot read manifest {digest}: {reason}")]
    Read { digest: Digest, reason: String },
    #[error("manifest {digest} is not a manifest: {reason}")]
    Parse { digest: Digest, reason: String },
    #[error("cannot prefetch blob {digest}: {reason}")]
    Prefetch { digest: Digest, reason: String },
}

/// Warms `pushed` and returns how many blobs were prefetched.
pub async fn warm(
    origins: &OriginCluster,
    pushed: &PushedManifest,
    metrics: &OriginMetrics,
) -> Result<usize, WarmError> {
    let name = &pushed.repository;
    let top = read_manifest(origins, name, &pushed.digest, Some(&pushed.media_type)).await?;
    let mut manifests = vec![top];
    if manifests[0].kind == ManifestKind::Index {
        let children: Vec<Digest> = manifests[0].references.clone();
        for child in children {
            manifests.push(read_manifest(origins, name, &child, None).await?);
        }
    }
    let mut prefetched = 0;
    for parsed in manifests.iter().filter(|m| m.kind != ManifestKind::Index) {
        for digest in &parsed.references {
            origins
                .prefetch(name, digest)
                .await
                .map_err(|e| WarmError::Prefetch {
                    digest: *digest,
                    reason: e.to_string(),
                })?;
            metrics.warm_blobs.increment(1);
            prefetched += 1;
        }
    }
    Ok(prefetched)
}

async fn read_manifest(
    origins: &OriginCluster,
    name: &RepoName,
    digest: &Digest,
    media_type: Option<&str>,
) -> Result<manifest::Manifest, WarmError> {
    let read = |reason: String| WarmError::Read {
        digest: *digest,
        reason,
    };
    let download = origins
        .download(name, digest)
        .await
        .map_err(|e| read(e.to_string()))?;
    if download.size > MAX_MANIFEST {
        return Err(read(format!(
            "{} bytes is larger than a manifest",
            download.size
        )));
    }
    let chunks: Vec<Bytes> = download
        .body
        .try_collect()
        .await
        .map_err(|e| read(e.to_string()))?;
    let body = chunks.concat();
    let media_type = media_type
        .map(str::to_owned)
        .or_else(|| manifest::served_type(&body));
    manifest::parse(&body, media_type.as_deref()).map_err(|e| WarmError::Parse {
        digest: *digest,
        reason: e.0,
    })
}
