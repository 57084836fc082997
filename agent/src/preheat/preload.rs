//! One preload: an image's manifest and blobs into this node's cache through the
//! engine. Blobs already committed are skipped (no bytes move); the others are
//! downloaded `blob_concurrency` at a time and read to the end, which commits them
//! after their sha256 is checked, exactly as a pull would.

use futures::{StreamExt, TryStreamExt};
use serde::Serialize;
use starling_core::registry::{ManifestKind, Reference, manifest};
use starling_core::{Digest, RepoName};
use tracing::info;

use crate::error::Error;
use crate::manifests;
use crate::preheat::platform::{children_for, this_architecture};
use crate::state::AgentState;

/// What a preload put in the cache.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Preloaded {
    /// The digest the reference resolved to.
    pub digest: Digest,
    /// Manifests read (an index and its children for this platform count each).
    pub manifests: usize,
    /// Configs and layers now in the cache.
    pub blobs: usize,
    /// Bytes downloaded for them; 0 when all were cached already.
    pub downloaded_bytes: u64,
}

/// Why a preload stopped.
#[derive(Debug, thiserror::Error)]
pub enum PreloadError {
    #[error(transparent)]
    Agent(#[from] Error),
    #[error("{digest} of {name} is not a manifest: {reason}")]
    NotAManifest {
        name: RepoName,
        digest: Digest,
        reason: String,
    },
}

/// Preloads `name` at `reference`, counting it in the preheat metrics.
pub async fn preload(
    state: &AgentState,
    name: &RepoName,
    reference: &Reference,
) -> Result<Preloaded, PreloadError> {
    let metrics = &state.preheat.metrics;
    metrics.started.increment(1);
    match preload_uncounted(state, name, reference).await {
        Ok(done) => {
            metrics.completed.increment(1);
            metrics.bytes.increment(done.downloaded_bytes);
            info!(%name, %reference, digest = %done.digest, blobs = done.blobs, bytes = done.downloaded_bytes, "image preloaded");
            Ok(done)
        }
        Err(error) => {
            metrics.failed.increment(1);
            tracing::warn!(%name, %reference, %error, "preload failed");
            Err(error)
        }
    }
}

async fn preload_uncounted(
    state: &AgentState,
    name: &RepoName,
    reference: &Reference,
) -> Result<Preloaded, PreloadError> {
    let top = manifests::fetch(&state.tags, &state.blobs, name, reference).await?;
    let parsed = parse(name, &top)?;
    let mut blobs = Vec::new();
    let mut manifests_read = 1;
    if parsed.kind == ManifestKind::Index {
        for child in children_for(&top.body, "linux", this_architecture()) {
            let child = Reference::Digest(child);
            let fetched = manifests::fetch(&state.tags, &state.blobs, name, &child).await?;
            let child = parse(name, &fetched)?;
            manifests_read += 1;
            if child.kind != ManifestKind::Index {
                blobs.extend(child.references);
            }
        }
    } else {
        blobs = parsed.references;
    }
    blobs.sort();
    blobs.dedup();
    let concurrency = state.preheat.config.blob_concurrency.max(1);
    // Owned digests: a stream of futures borrowing each item is not provably `Send`
    // for every lifetime, which the axum handler needs.
    let downloaded: Vec<u64> = futures::stream::iter(blobs.clone())
        .map(|digest| async move { download(state, name, digest).await })
        .buffer_unordered(concurrency)
        .try_collect()
        .await?;
    Ok(Preloaded {
        digest: top.digest,
        manifests: manifests_read,
        blobs: blobs.len(),
        downloaded_bytes: downloaded.iter().sum(),
    })
}

fn parse(
    name: &RepoName,
    fetched: &manifests::Manifest,
) -> Result<manifest::Manifest, PreloadError> {
    manifest::parse(&fetched.body, Some(&fetched.media_type)).map_err(|e| {
        PreloadError::NotAManifest {
            name: name.clone(),
            digest: fetched.digest,
            reason: e.0,
        }
    })
}

/// Brings one blob into the cache; returns the bytes downloaded (0 if it was there).
async fn download(state: &AgentState, name: &RepoName, digest: Digest) -> Result<u64, Error> {
    if state.store.stat(&digest)?.is_some() {
        return Ok(0);
    }
    let read = state.blobs.read(name, &digest, None).await?;
    let mut body = read.body;
    let mut bytes = 0u64;
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|source| Error::SwarmStream { digest, source })?;
        bytes += chunk.len() as u64;
    }
    Ok(bytes)
}
