//! Manifest and config media types of Docker schema2 and the OCI image spec, and the one
//! rule that tells an image manifest from an index (a manifest list).
//!
//! Media types are compared without parameters (`; charset=utf-8`) and case-insensitively,
//! as RFC 9110 says for the type and subtype.

/// Docker image manifest, schema 2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker manifest list (multi-platform), schema 2.
pub const DOCKER_MANIFEST_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image config.
pub const DOCKER_CONFIG: &str = "application/vnd.docker.container.image.v1+json";
/// OCI image manifest; also the manifest of an OCI artifact (with `artifactType`).
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index (multi-platform, or a list of artifacts).
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image config.
pub const OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
/// The OCI empty descriptor (`{}`), the config of artifacts that have none.
pub const OCI_EMPTY: &str = "application/vnd.oci.empty.v1+json";

/// Every manifest media type a registry serves, for an `Accept` header.
pub const MANIFEST_MEDIA_TYPES: [&str; 4] = [
    OCI_INDEX,
    OCI_MANIFEST,
    DOCKER_MANIFEST_LIST,
    DOCKER_MANIFEST,
];

/// What a manifest media type describes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestKind {
    /// One image or artifact: a config and layers (blobs).
    Image,
    /// A list of manifests, one per platform (or artifact).
    Index,
}

impl ManifestKind {
    /// The kind of a manifest media type; `None` for anything that is not a manifest.
    pub fn of(media_type: &str) -> Option<Self> {
        let essence = essence(media_type);
        let is = |known: &str| essence.eq_ignore_ascii_case(known);
        if is(DOCKER_MANIFEST) || is(OCI_MANIFEST) {
            Some(Self::Image)
        } else if is(DOCKER_MANIFEST_LIST) || is(OCI_INDEX) {
            Some(Self::Index)
        } else {
            None
        }
    }
}

/// The media type without parameters and surrounding whitespace.
fn essence(media_type: &str) -> &str {
    media_type.split(';').next().unwrap_or_default().trim()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_and_indexes_are_told_apart() {
        let cases = [
            (DOCKER_MANIFEST, Some(ManifestKind::Image)),
            (OCI_MANIFEST, Some(ManifestKind::Image)),
            (DOCKER_MANIFEST_LIST, Some(ManifestKind::Index)),
            (OCI_INDEX, Some(ManifestKind::Index)),
            (
                "application/vnd.OCI.image.index.v1+json; charset=utf-8",
                Some(ManifestKind::Index),
            ),
            (
                " application/vnd.oci.image.manifest.v1+json ",
                Some(ManifestKind::Image),
            ),
            (OCI_CONFIG, None),
            (OCI_EMPTY, None),
            (DOCKER_CONFIG, None),
            ("application/json", None),
            ("", None),
        ];
        for (media_type, want) in cases {
            assert_eq!(ManifestKind::of(media_type), want, "{media_type:?}");
        }
        assert!(
            MANIFEST_MEDIA_TYPES
                .iter()
                .all(|t| ManifestKind::of(t).is_some())
        );
    }
}
