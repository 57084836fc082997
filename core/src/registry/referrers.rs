//! The referrers API of the OCI distribution spec 1.1 as data: the descriptor of one
//! referrer (a manifest whose `subject` names another manifest: a signature, an SBOM,
//! an attestation), the image index that `GET /v2/<name>/referrers/<digest>` answers,
//! and the `artifactType` filter.
//!
//! A referrer's descriptor is fixed when it is pushed ([`Referrer::of`]): its media
//! type, digest and size, its `artifactType` (the manifest's own, or for an image
//! manifest without one its config's media type) and its annotations. The proxy records
//! it at the build-index; both registries list it from there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Digest;
use crate::registry::Manifest;
use crate::registry::media_type::OCI_INDEX;

/// One entry of a referrers list: the descriptor of a manifest with a `subject`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Referrer {
    pub media_type: String,
    pub digest: Digest,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
}

impl Referrer {
    /// The descriptor of `manifest`, pushed as `size` bytes hashing to `digest`.
    pub fn of(manifest: &Manifest, digest: Digest, size: u64) -> Self {
        Self {
            media_type: manifest.media_type.clone(),
            digest,
            size,
            artifact_type: manifest.artifact_type.clone(),
            annotations: manifest.annotations.clone(),
        }
    }
}

/// The answer of the referrers API: an OCI image index of the referrers, possibly
/// filtered by artifact type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReferrersIndex {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Referrer>,
}

impl ReferrersIndex {
    /// The index of `referrers`, keeping only those of `artifact_type` when given.
    pub fn new(referrers: Vec<Referrer>, artifact_type: Option<&str>) -> Self {
        let manifests = referrers
            .into_iter()
            .filter(|r| artifact_type.is_none_or(|t| r.artifact_type.as_deref() == Some(t)))
            .collect();
        Self {
            schema_version: 2,
            media_type: OCI_INDEX.to_owned(),
            manifests,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::registry::manifest;
    use crate::registry::media_type::{OCI_EMPTY, OCI_MANIFEST};

    fn artifact(artifact_type: Option<&str>, config_type: &str) -> Manifest {
        let empty = Digest::of(b"{}");
        let mut body = json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": config_type, "digest": empty.to_string(), "size": 2},
            "layers": [],
            "subject": {"mediaType": OCI_MANIFEST, "digest": Digest::of(b"image").to_string(), "size": 5},
            "annotations": {"org.example.signed-by": "ci", "not.a.string": 3},
        });
        if let Some(t) = artifact_type {
            body["artifactType"] = json!(t);
        }
        manifest::parse(&serde_json::to_vec(&body).unwrap(), None).unwrap()
    }

    #[test]
    fn the_artifact_type_falls_back_to_the_config_media_type() {
        let declared = artifact(Some("application/vnd.example.sig"), OCI_EMPTY);
        assert_eq!(declared.subject, Some(Digest::of(b"image")));
        let referrer = Referrer::of(&declared, Digest::of(b"sig"), 10);
        assert_eq!(
            referrer.artifact_type.as_deref(),
            Some("application/vnd.example.sig")
        );
        assert_eq!(
            referrer.annotations,
            BTreeMap::from([("org.example.signed-by".into(), "ci".into())])
        );
        let from_config = artifact(None, "application/vnd.example.sbom+json");
        assert_eq!(
            Referrer::of(&from_config, Digest::of(b"sbom"), 10)
                .artifact_type
                .as_deref(),
            Some("application/vnd.example.sbom+json")
        );
    }

    #[test]
    fn the_filter_keeps_one_artifact_type() {
        let sig = Referrer::of(
            &artifact(Some("application/vnd.example.sig"), OCI_EMPTY),
            Digest::of(b"sig"),
            10,
        );
        let sbom = Referrer::of(
            &artifact(Some("application/vnd.example.sbom"), OCI_EMPTY),
            Digest::of(b"sbom"),
            10,
        );
        let all = vec![sig.clone(), sbom];
        assert_eq!(ReferrersIndex::new(all.clone(), None).manifests.len(), 2);
        let only = ReferrersIndex::new(all, Some("application/vnd.example.sig"));
        assert_eq!(only.manifests, vec![sig]);
        let json = serde_json::to_value(&only).unwrap();
        assert_eq!(json["schemaVersion"], 2);
        assert_eq!(json["mediaType"], OCI_INDEX);
        assert_eq!(
            json["manifests"][0]["artifactType"],
            "application/vnd.example.sig"
        );
        let none = ReferrersIndex::new(Vec::new(), None);
        assert_eq!(serde_json::to_value(&none).unwrap()["manifests"], json!([]));
    }

    #[test]
    fn bad_subjects_and_artifact_types_are_refused() {
        let bad = |extra: serde_json::Value| {
            let mut body = json!({
                "schemaVersion": 2, "mediaType": OCI_MANIFEST,
                "config": {"mediaType": OCI_EMPTY, "digest": Digest::of(b"{}").to_string(), "size": 2},
                "layers": [],
            });
            for (k, v) in extra.as_object().unwrap() {
                body[k] = v.clone();
            }
            manifest::parse(&serde_json::to_vec(&body).unwrap(), None).unwrap_err()
        };
        assert!(
            bad(json!({"subject": {"digest": "sha256:00"}}))
                .0
                .contains("subject")
        );
        assert!(bad(json!({"artifactType": 7})).0.contains("artifactType"));
        assert!(bad(json!({"annotations": []})).0.contains("annotations"));
    }
}
