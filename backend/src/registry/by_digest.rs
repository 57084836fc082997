//! Objects by digest, which in a registry are either blobs or manifests.
//!
//! Origins ask their backend for everything by digest, manifests included, and cannot say
//! which kind they want: a manifest is a blob like any other to them. A registry keeps the
//! two apart. Layers and configs are served at `/v2/<name>/blobs/<digest>`; manifests only
//! at `/v2/<name>/manifests/<digest>` (distribution answers `BLOB_UNKNOWN` for a manifest
//! on the blobs endpoint).
//!
//! So the blobs endpoint is asked first, and on a 404 the manifests endpoint, with an
//! `Accept` that admits every manifest type so the registry sends what was pushed rather
//! than refusing (distribution answers 404 for an OCI manifest whose type is not accepted)
//! or converting it. Layers are the bulk of reads and cost one request; a manifest costs
//! two. The other order would not only be slower: distribution answers a layer asked for
//! on the manifests endpoint with a 500, not a 404, so no fallback could follow it.
//!
//! A manifest is small, so it is read whole, with a limit, and checked against its digest
//! here: the origin stores it byte for byte and the proxy derives its media type from those
//! bytes, so any conversion on the way must fail loudly.

use reqwest::header::CONTENT_TYPE;
use reqwest::{Method, Response, StatusCode};
use starling_core::{Digest, RepoName};
use tracing::debug;

use super::client::{Request, checked, shown_url};
use super::{MANIFEST_ACCEPT, MAX_MANIFEST_SIZE, RegistryBackend};
use super::{body_stream, content_length, pull_scope};
use crate::error::{Error, Result};
use crate::stream::{self, ByteStream};

/// Where a registry serves an object by digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endpoint {
    Blobs,
    Manifests,
}

impl Endpoint {
    /// In the order they are asked.
    const ALL: [Self; 2] = [Self::Blobs, Self::Manifests];

    fn path(self, namespace: &RepoName, digest: &Digest) -> String {
        let kind = match self {
            Self::Blobs => "blobs",
            Self::Manifests => "manifests",
        };
        format!("v2/{namespace}/{kind}/{digest}")
    }

    fn accept(self) -> Option<&'static str> {
        match self {
            Self::Blobs => None,
            Self::Manifests => Some(MANIFEST_ACCEPT),
        }
    }
}

impl RegistryBackend {
    /// The size of the blob or manifest `digest`, or `None` when neither endpoint has it.
    pub(super) async fn stat_by_digest(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> Result<Option<u64>> {
        match self.find(Method::HEAD, namespace, digest).await? {
            Some((_, response)) => content_length(&response).map(Some),
            None => Ok(None),
        }
    }

    /// The content of the blob or manifest `digest`, or `None` when neither endpoint has it.
    pub(super) async fn download_by_digest(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> Result<Option<ByteStream>> {
        match self.find(Method::GET, namespace, digest).await? {
            Some((Endpoint::Blobs, response)) => Ok(Some(body_stream(response))),
            Some((Endpoint::Manifests, response)) => {
                let manifest = read_manifest(response, digest).await?;
                Ok(Some(stream::once(manifest)))
            }
            None => Ok(None),
        }
    }

    /// The successful answer of the first endpoint that knows `digest`.
    async fn find(
        &self,
        method: Method,
        namespace: &RepoName,
        digest: &Digest,
    ) -> Result<Option<(Endpoint, Response)>> {
        let scope = pull_scope(namespace);
        for endpoint in Endpoint::ALL {
            let request = Request {
                method: method.clone(),
                url: self.client.url(&endpoint.path(namespace, digest))?,
                scope: &scope,
                accept: endpoint.accept(),
            };
            let response = self.client.send(&request).await?;
            if response.status() != StatusCode::NOT_FOUND {
                return Ok(Some((endpoint, checked(response)?)));
            }
        }
        debug!(%namespace, %digest, method = %method, "neither blobs nor manifests has the digest");
        Ok(None)
    }
}

/// The whole body of a manifest answer, which must hash to `digest`.
async fn read_manifest(response: Response, digest: &Digest) -> Result<bytes::Bytes> {
    let url = shown_url(response.url());
    let media_type = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let invalid = |reason: String| Error::InvalidResponse {
        url: url.clone(),
        reason,
    };
    let manifest = stream::collect(body_stream(response), MAX_MANIFEST_SIZE)
        .await
        .map_err(|e| invalid(format!("cannot read the manifest: {e}")))?;
    let actual = Digest::of(&manifest);
    if actual != *digest {
        return Err(invalid(format!(
            "the manifest asked for as {digest} hashes to {actual}"
        )));
    }
    debug!(%url, %media_type, size = manifest.len(), "manifest read by digest");
    Ok(manifest)
}
