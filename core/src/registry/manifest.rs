//! Manifests as registries read them (the proxy checks pushes, the agent serves pulls,
//! the build-index follows references when replicating): which media type a pushed manifest has, whether
//! its JSON is an image manifest or an index of the kind it claims, and which blobs and
//! manifests it references. Pure; no I/O.
//!
//! Every descriptor needs a non-negative `size` (the registry compares it with the stored
//! blob), and the children of an index need a manifest `mediaType`: an index whose child
//! is a layer is refused here, before any blob is looked at.
//!
//! Accepted: Docker schema2 manifest and manifest list, OCI image manifest and index,
//! and OCI artifacts (an OCI manifest with any config media type and an optional
//! `artifactType`). Schema 1 and anything else is `MANIFEST_INVALID`.
//!
//! A manifest may name a `subject` (OCI 1.1: it is a signature, SBOM or other artifact
//! about that manifest). The subject is not required to exist: a signature may be pushed
//! before the image it signs, as the distribution spec allows. Its digest, the manifest's
//! `artifactType` and its annotations are kept for the referrers API
//! ([`crate::registry::referrers`]).
//!
//! The media type comes from the request's `Content-Type`; without one, from the body's
//! `mediaType`. When both are given they must name the same kind. When serving, the
//! stored bytes decide: their `mediaType`, else their structure (see [`served_type`]).

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::Digest;
use crate::registry::ManifestKind;
use crate::registry::media_type::{OCI_INDEX, OCI_MANIFEST};

/// Why a manifest was refused; served as `MANIFEST_INVALID`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ManifestError(pub String);

impl ManifestError {
    fn new(reason: impl Into<String>) -> Self {
        Self(reason.into())
    }
}

type Result<T> = std::result::Result<T, ManifestError>;

/// A pushed manifest that parsed and is consistent with its media type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub kind: ManifestKind,
    /// The media type it was pushed with, without parameters.
    pub media_type: String,
    /// Everything that must be in the registry before it: config and layers of an
    /// image, the child manifests of an index. Layers with `urls` (Docker's
    /// non-distributable "foreign" layers) live elsewhere and are not listed.
    pub references: Vec<Digest>,
    /// The descriptors behind [`Self::references`], in the same order, with the size and
    /// media type they declare, for checking them against what the registry stores.
    pub descriptors: Vec<Referenced>,
    /// The digest of the `subject` descriptor: the manifest this one refers to.
    pub subject: Option<Digest>,
    /// The artifact type a referrers listing shows: the manifest's `artifactType`, or
    /// for an image manifest without one its config's media type (as the spec says).
    pub artifact_type: Option<String>,
    /// The manifest's string-valued annotations (a non-string value is not listed).
    pub annotations: BTreeMap<String, String>,
}

/// One descriptor a manifest references and the registry must hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referenced {
    /// Where it is in the manifest: `config`, `layers[2]`, `manifests[0]`.
    pub field: String,
    pub digest: Digest,
    /// The declared size in bytes (checked to be non-negative).
    pub size: u64,
    pub media_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Raw {
    schema_version: Option<u64>,
    media_type: Option<String>,
    config: Option<Descriptor>,
    layers: Option<Vec<Descriptor>>,
    manifests: Option<Vec<Descriptor>>,
    // Kept as raw JSON so that `served_type` reads any stored manifest; `parse` checks
    // them on push.
    subject: Option<serde_json::Value>,
    artifact_type: Option<serde_json::Value>,
    annotations: Option<serde_json::Value>,
}

/// The `subject` descriptor; only its digest matters to the registry.
#[derive(Deserialize)]
struct Subject {
    digest: Digest,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    digest: Digest,
    /// Signed, so that a negative size is refused with a reason, not a parse error.
    size: Option<i64>,
    media_type: Option<String>,
    #[serde(default)]
    urls: Vec<String>,
}

impl Descriptor {
    /// The descriptor at `field`, with its size checked.
    fn checked(self, field: String) -> Result<Referenced> {
        let invalid = |what: &str| ManifestError::new(format!("{field} ({}): {what}", self.digest));
        let size = match self.size {
            None => return Err(invalid("size is missing")),
            Some(size) => {
                u64::try_from(size).map_err(|_| invalid(&format!("size {size} is negative")))?
            }
        };
        Ok(Referenced {
            field,
            digest: self.digest,
            size,
            media_type: self.media_type,
        })
    }
}

/// Parses and checks a pushed manifest.
pub fn parse(body: &[u8], content_type: Option<&str>) -> Result<Manifest> {
    let mut raw: Raw = serde_json::from_slice(body)
        .map_err(|e| ManifestError::new(format!("not a manifest: {e}")))?;
    if raw.schema_version != Some(2) {
        return Err(ManifestError::new("schemaVersion must be 2"));
    }
    let media_type = pushed_type(content_type, raw.media_type.as_deref())?;
    let kind = ManifestKind::of(&media_type).expect("pushed_type returns manifest types");
    let subject = match raw.subject.take() {
        None => None,
        Some(value) => Some(
            serde_json::from_value::<Subject>(value)
                .map_err(|e| ManifestError::new(format!("subject: {e}")))?
                .digest,
        ),
    };
    let declared_type = match raw.artifact_type.take() {
        None => None,
        Some(serde_json::Value::String(t)) => Some(t).filter(|t| !t.is_empty()),
        Some(_) => return Err(ManifestError::new("artifactType must be a string")),
    };
    let annotations = match raw.annotations.take() {
        None => BTreeMap::new(),
        Some(serde_json::Value::Object(map)) => string_annotations(&map),
        Some(_) => return Err(ManifestError::new("annotations must be an object")),
    };
    let config_type = raw.config.as_ref().and_then(|c| c.media_type.clone());
    let artifact_type = match (kind, declared_type) {
        (_, Some(declared)) => Some(declared),
        (ManifestKind::Image, None) => config_type,
        (ManifestKind::Index, None) => None,
    };
    let descriptors = match kind {
        ManifestKind::Image => image_references(raw)?,
        ManifestKind::Index => index_references(raw)?,
    };
    Ok(Manifest {
        kind,
        media_type,
        references: descriptors.iter().map(|d| d.digest).collect(),
        descriptors,
        subject,
        artifact_type,
        annotations,
    })
}

/// The annotations whose values are strings, as the image spec requires them to be.
fn string_annotations(
    annotations: &serde_json::Map<String, serde_json::Value>,
) -> BTreeMap<String, String> {
    annotations
        .iter()
        .filter_map(|(key, value)| Some((key.clone(), value.as_str()?.to_owned())))
        .collect()
}

/// The media type the manifest is pushed as.
fn pushed_type(content_type: Option<&str>, body_type: Option<&str>) -> Result<String> {
    let header = content_type.map(essence).filter(|t| !t.is_empty());
    let Some(chosen) = header.or(body_type.map(essence)) else {
        return Err(ManifestError::new(
            "no media type: send Content-Type or a mediaType field",
        ));
    };
    let Some(kind) = ManifestKind::of(chosen) else {
        return Err(ManifestError::new(format!(
            "unsupported manifest media type {chosen:?}"
        )));
    };
    if let Some(body_type) = body_type
        && ManifestKind::of(body_type) != Some(kind)
    {
        return Err(ManifestError::new(format!(
            "mediaType {body_type:?} does not match Content-Type {chosen:?}"
        )));
    }
    Ok(chosen.to_ascii_lowercase())
}

fn image_references(raw: Raw) -> Result<Vec<Referenced>> {
    if raw.manifests.is_some() {
        return Err(ManifestError::new(
            "an image manifest has no manifests list",
        ));
    }
    let config = raw
        .config
        .ok_or_else(|| ManifestError::new("an image manifest needs a config"))?;
    let mut references = vec![config.checked("config".to_owned())?];
    for (i, layer) in raw.layers.unwrap_or_default().into_iter().enumerate() {
        let foreign = !layer.urls.is_empty();
        let layer = layer.checked(format!("layers[{i}]"))?;
        if !foreign {
            references.push(layer);
        }
    }
    Ok(references)
}

fn index_references(raw: Raw) -> Result<Vec<Referenced>> {
    if raw.config.is_some() || raw.layers.is_some() {
        return Err(ManifestError::new("an index has no config or layers"));
    }
    let manifests = raw
        .manifests
        .ok_or_else(|| ManifestError::new("an index needs a manifests list"))?;
    let mut children = Vec::with_capacity(manifests.len());
    for (i, child) in manifests.into_iter().enumerate() {
        let child = child.checked(format!("manifests[{i}]"))?;
        let media_type = child.media_type.as_deref().unwrap_or_default();
        if ManifestKind::of(media_type).is_none() {
            return Err(ManifestError::new(format!(
                "{} ({}): mediaType {media_type:?} is not a manifest type",
                child.field, child.digest
            )));
        }
        children.push(child);
    }
    Ok(children)
}

/// The `Content-Type` of stored manifest bytes: their own `mediaType`; without one
/// (optional in OCI, required in Docker schema2) the OCI type their structure shows.
/// `None` when the bytes are no manifest at all (a layer fetched as a manifest).
pub fn served_type(body: &[u8]) -> Option<String> {
    let raw: Raw = serde_json::from_slice(body).ok()?;
    if raw.schema_version != Some(2) {
        return None;
    }
    match raw.media_type {
        Some(media_type) => ManifestKind::of(&media_type).map(|_| media_type),
        None if raw.manifests.is_some() => Some(OCI_INDEX.to_owned()),
        None if raw.config.is_some() => Some(OCI_MANIFEST.to_owned()),
        None => None,
    }
}

/// The media type without parameters.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or_default().trim()
}

#[cfg(test)]
#[path = "manifest_tests.rs"]
mod tests;
