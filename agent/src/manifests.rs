//! Manifests for pullers: a tag resolved at the build-index, the bytes fetched by
//! digest through the swarm like any blob, the media type read from the bytes.
//!
//! A manifest is small, so it is read whole before answering: the response carries
//! its exact `Content-Length`, `Content-Type` and `Docker-Content-Digest`. A digest that
//! names something larger than [`MAX_MANIFEST_SIZE`], or bytes that are no manifest of
//! a supported media type (a layer asked for as a manifest), is `MANIFEST_UNKNOWN`.

use starling_core::RepoName;
use starling_core::registry::{Reference, manifest};

use crate::blobs::BlobService;
use crate::error::{Error, Result};
use crate::tags::TagResolver;

/// The largest manifest served; the proxy accepts no larger one by default.
pub const MAX_MANIFEST_SIZE: u64 = 4 * 1024 * 1024;

/// A manifest ready to be served (the type the proxy serves too, so both answer alike).
pub type Manifest = starling_registry::StoredManifest;

/// Resolves `reference` and fetches the manifest it names.
pub async fn fetch(
    tags: &TagResolver,
    blobs: &BlobService,
    name: &RepoName,
    reference: &Reference,
) -> Result<Manifest> {
    let unknown = || Error::ManifestUnknown {
        name: name.clone(),
        reference: reference.clone(),
    };
    let digest = match reference {
        Reference::Digest(digest) => *digest,
        Reference::Tag(tag) => tags.resolve(name, tag).await?.ok_or_else(unknown)?,
    };
    let body = match blobs.read_small(name, &digest, MAX_MANIFEST_SIZE).await {
        Ok(Some(body)) => body,
        Ok(None) | Err(Error::BlobUnknown { .. }) => return Err(unknown()),
        Err(other) => return Err(other),
    };
    let media_type = manifest::served_type(&body).ok_or_else(unknown)?;
    Ok(Manifest {
        digest,
        media_type,
        body,
    })
}
