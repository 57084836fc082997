//! The manifest service: push (checked, stored as a blob in the origins, tagged in the
//! build-index) and pull (tag resolved by the build-index, bytes from the origins).
//!
//! A push is checked completely before anything is written: the digest named in the URL
//! must be the body's sha256, the JSON must be a manifest of its media type
//! (`starling_core::registry::manifest`), and every blob or child manifest it references
//! must already be in the origin cluster with the size its descriptor declares. The
//! children of an index must be manifests: origins store manifests as blobs, so a child
//! is read back (it is no larger than the manifest limit) and must parse as one; a layer
//! named as a child is refused. Only then are the bytes stored (namespace = the
//! repository), for a tag the tag pointed at the digest, and for a manifest with a
//! `subject` its referrer descriptor recorded at the build-index (which owns referrer
//! records, as it owns tags). A push that fails before the bytes are stored changes
//! nothing; one that fails after (the build-index is down) leaves only
//! content-addressed bytes behind, and the client's retry completes it. A stored push
//! is then announced to the notification endpoints ([`crate::notify`]), which never
//! delays or fails the push.

use std::sync::Arc;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use starling_clients::BuildIndexCluster;
use starling_clients::OriginCluster;
use starling_core::registry::{ManifestKind, Reference, Referenced, Referrer, manifest};
use starling_core::{Digest, RepoName};
use starling_registry::StoredManifest;
use tracing::info;

use crate::error::{Error, Result};
use crate::metrics::ProxyMetrics;
use crate::notify::{Notifier, PushedManifest};

/// How many referenced blobs are checked at once.
const STAT_CONCURRENCY: usize = 8;

/// A stored manifest: its digest and the subject it refers to, if any.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pushed {
    pub digest: Digest,
    pub subject: Option<Digest>,
}

pub struct ManifestService {
    origins: OriginCluster,
    tags: BuildIndexCluster,
    max_size: u64,
    metrics: Arc<ProxyMetrics>,
    notifier: Notifier,
}

/// What a [`ManifestService`] is built from.
pub struct ManifestServiceParts {
    pub origins: OriginCluster,
    pub tags: BuildIndexCluster,
    pub max_size: u64,
    pub metrics: Arc<ProxyMetrics>,
    pub notifier: Notifier,
}

impl ManifestService {
    pub fn new(parts: ManifestServiceParts) -> Self {
        Self {
            origins: parts.origins,
            tags: parts.tags,
            max_size: parts.max_size,
            metrics: parts.metrics,
            notifier: parts.notifier,
        }
    }

    /// The largest manifest accepted or served.
    pub fn max_size(&self) -> u64 {
        self.max_size
    }

    /// Stores a pushed manifest under `reference` (and records it as a referrer of its
    /// subject); returns its digest and subject.
    pub async fn put(
        &self,
        name: &RepoName,
        reference: &Reference,
        content_type: Option<&str>,
        body: Bytes,
    ) -> Result<Pushed> {
        let digest = Digest::of(&body);
        if let Reference::Digest(expected) = reference
            && *expected != digest
        {
            return Err(Error::DigestMismatch {
                expected: *expected,
                actual: digest,
            });
        }
        let parsed = manifest::parse(&body, content_type).map_err(|e| Error::manifest(e.0))?;
        self.check_references(name, &parsed.descriptors).await?;
        if parsed.kind == ManifestKind::Index {
            for child in &parsed.descriptors {
                self.check_child_is_manifest(name, child).await?;
            }
        }
        let size = body.len() as u64;
        let open = || futures::stream::once(futures::future::ready(Ok(body.clone()))).boxed();
        self.origins
            .upload(name, &digest, size, open)
            .await
            .map_err(Error::origin("store a manifest"))?;
        if let Reference::Tag(tag) = reference {
            self.tags
                .put_tag(name, tag, &digest)
                .await
                .map_err(Error::build_index("put a tag"))?;
        }
        if let Some(subject) = &parsed.subject {
            let referrer = Referrer::of(&parsed, digest, size);
            self.tags
                .put_referrer(name, subject, &referrer)
                .await
                .map_err(Error::build_index("record a referrer"))?;
        }
        self.metrics.manifests_pushed.increment(1);
        info!(%name, %reference, %digest, media_type = %parsed.media_type, subject = ?parsed.subject, "manifest pushed");
        self.notifier.pushed(&PushedManifest {
            name: name.clone(),
            digest,
            media_type: parsed.media_type.clone(),
            size,
            tag: match reference {
                Reference::Tag(tag) => Some(tag.to_string()),
                Reference::Digest(_) => None,
            },
        });
        Ok(Pushed {
            digest,
            subject: parsed.subject,
        })
    }

    /// The manifest `reference` names; [`Error::ManifestUnknown`] when the tag is
    /// unknown or the digest names no manifest in the origins.
    pub async fn get(&self, name: &RepoName, reference: &Reference) -> Result<StoredManifest> {
        let unknown = || Error::ManifestUnknown {
            name: name.clone(),
            reference: reference.clone(),
        };
        let digest = match reference {
            Reference::Digest(digest) => *digest,
            Reference::Tag(tag) => self
                .tags
                .get_tag(name, tag)
                .await
                .map_err(Error::build_index("look up a tag"))?
                .ok_or_else(unknown)?,
        };
        let download = match self.origins.download(name, &digest).await {
            Ok(download) => download,
            Err(e) if e.is_not_found() => return Err(unknown()),
            Err(e) => return Err(Error::origin("read a manifest")(e)),
        };
        // Anything larger was never accepted as a manifest (a layer asked for by digest).
        if download.size > self.max_size {
            return Err(unknown());
        }
        let chunks: Vec<Bytes> =
            download
                .body
                .try_collect()
                .await
                .map_err(|source| Error::OriginStream {
                    action: "reading a manifest",
                    source,
                })?;
        let body = Bytes::from(chunks.concat());
        let media_type = manifest::served_type(&body).ok_or_else(unknown)?;
        Ok(StoredManifest {
            digest,
            media_type,
            body,
        })
    }

    /// Fails with the first reference (in manifest order) that no origin has or whose
    /// stored size differs from the declared one.
    async fn check_references(&self, name: &RepoName, references: &[Referenced]) -> Result<()> {
        // Owned clones per check: a stream of futures borrowing `self` is not provably
        // `Send` for every lifetime, which axum handlers need.
        let mut stats = futures::stream::iter(references.iter().cloned())
            .map(|reference| {
                let (origins, name) = (self.origins.clone(), name.clone());
                async move {
                    let stat = origins.stat(&name, &reference.digest).await;
                    (reference, stat)
                }
            })
            .buffered(STAT_CONCURRENCY);
        while let Some((reference, stat)) = stats.next().await {
            let Some(stored) = stat.map_err(Error::origin("stat a referenced blob"))? else {
                return Err(Error::ManifestBlobUnknown {
                    digest: reference.digest,
                });
            };
            if stored != reference.size {
                return Err(descriptor_invalid(
                    &reference,
                    "size",
                    format!("size differs from the stored blob's {stored} bytes"),
                ));
            }
        }
        Ok(())
    }

    /// Fails unless the stored child of an index is a manifest (its size was checked by
    /// [`Self::check_references`], so a child larger than the limit is a blob).
    async fn check_child_is_manifest(&self, name: &RepoName, child: &Referenced) -> Result<()> {
        let not_a_manifest = || {
            descriptor_invalid(
                child,
                "mediaType",
                "the stored blob is not a manifest".to_owned(),
            )
        };
        if child.size > self.max_size {
            return Err(not_a_manifest());
        }
        let download = match self.origins.download(name, &child.digest).await {
            Ok(download) => download,
            Err(e) if e.is_not_found() => {
                return Err(Error::ManifestBlobUnknown {
                    digest: child.digest,
                });
            }
            Err(e) => return Err(Error::origin("read a child manifest")(e)),
        };
        if download.size > self.max_size {
            return Err(not_a_manifest());
        }
        let chunks: Vec<Bytes> =
            download
                .body
                .try_collect()
                .await
                .map_err(|source| Error::OriginStream {
                    action: "reading a child manifest",
                    source,
                })?;
        match manifest::served_type(&chunks.concat()) {
            Some(_) => Ok(()),
            None => Err(not_a_manifest()),
        }
    }
}

/// `MANIFEST_INVALID` naming the descriptor at fault and its `field` in question.
fn descriptor_invalid(reference: &Referenced, field: &str, reason: String) -> Error {
    Error::DescriptorInvalid {
        field: format!("{}.{field}", reference.field),
        digest: reference.digest,
        reason,
    }
}
