//! Which blobs a tag needs in a cluster before the tag may point there: its manifest
//! and everything the manifest references, read from this cluster's origins.
//!
//! An image manifest (Docker schema2, OCI, OCI artifact) references its config and
//! layers (foreign layers with `urls` excluded, as `starling_core::registry::manifest`
//! decides); an index (Docker manifest list, OCI index) references child manifests,
//! which are read and followed in turn, up to [`MAX_INDEX_DEPTH`] levels of indexes.
//! The list comes in dependency order — a blob before any manifest that references it,
//! the tag's own manifest last — so a remote cluster never holds a manifest whose
//! blobs it lacks, even part-way through a copy.

use std::collections::HashSet;

use bytes::Bytes;
use starling_backend::stream::collect;
use starling_clients::{ClientError, OriginCluster};
use starling_core::registry::{ManifestKind, manifest};
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};

/// Largest manifest followed: what registries accept (the distribution registry and
/// the OCI spec's recommended minimum are both 4 MiB).
pub const MAX_MANIFEST_LEN: u64 = 4 << 20;

/// Indexes nested deeper than this are refused (OCI allows an index of indexes; real
/// images use one level).
pub const MAX_INDEX_DEPTH: usize = 4;

/// A manifest still to read, or one whose references are all listed already.
enum Step {
    Read { digest: Digest, depth: usize },
    Emit(Digest),
}

/// The blobs `root` (a manifest digest of `repo`) needs, in dependency order, each once.
pub async fn needed_blobs(
    origins: &OriginCluster,
    repo: &RepoName,
    root: &Digest,
) -> Result<Vec<Digest>> {
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    let mut steps = vec![Step::Read {
        digest: *root,
        depth: 0,
    }];
    while let Some(step) = steps.pop() {
        let (digest, depth) = match step {
            Step::Emit(digest) => {
                order.push(digest);
                continue;
            }
            Step::Read { digest, depth } => (digest, depth),
        };
        if !seen.insert(digest) {
            continue;
        }
        let manifest = read_manifest(origins, repo, &digest).await?;
        steps.push(Step::Emit(digest));
        match manifest.kind {
            ManifestKind::Image => {
                let fresh = manifest.references.into_iter().filter(|d| seen.insert(*d));
                order.extend(fresh);
            }
            ManifestKind::Index if depth >= MAX_INDEX_DEPTH => {
                return Err(Error::Manifest {
                    digest,
                    reason: format!("indexes nested more than {MAX_INDEX_DEPTH} deep"),
                });
            }
            ManifestKind::Index => {
                // Reversed so that children are followed in the index's own order.
                let children = manifest.references.into_iter().rev();
                steps.extend(children.map(|digest| Step::Read {
                    digest,
                    depth: depth + 1,
                }));
            }
        }
    }
    Ok(order)
}

/// Reads and parses the manifest `digest` from the origins.
async fn read_manifest(
    origins: &OriginCluster,
    repo: &RepoName,
    digest: &Digest,
) -> Result<manifest::Manifest> {
    let body = read_small_blob(origins, repo, digest).await?;
    let not_followable = |reason: String| Error::Manifest {
        digest: *digest,
        reason,
    };
    let Some(media_type) = manifest::served_type(&body) else {
        return Err(not_followable(
            "not an image manifest or index (schema 2)".to_owned(),
        ));
    };
    manifest::parse(&body, Some(&media_type)).map_err(|e| not_followable(e.to_string()))
}

/// The whole blob, refused when larger than [`MAX_MANIFEST_LEN`].
async fn read_small_blob(
    origins: &OriginCluster,
    repo: &RepoName,
    digest: &Digest,
) -> Result<Bytes> {
    let origin_error = |source: ClientError| match source {
        ClientError::NotFound { .. } => Error::BlobMissing { digest: *digest },
        source => Error::Origin {
            action: "read manifest",
            digest: *digest,
            source: Box::new(source),
        },
    };
    let download = origins.download(repo, digest).await.map_err(origin_error)?;
    if download.size > MAX_MANIFEST_LEN {
        return Err(Error::Manifest {
            digest: *digest,
            reason: format!(
                "{} bytes; a manifest is at most {MAX_MANIFEST_LEN}",
                download.size
            ),
        });
    }
    let limit = usize::try_from(MAX_MANIFEST_LEN).unwrap_or(usize::MAX);
    let body = collect(download.body, limit)
        .await
        .map_err(|source| Error::ReadBlob {
            digest: *digest,
            source,
        })?;
    Ok(body)
}
