//! The CNCF distribution registry's notification envelope
//! (`application/vnd.docker.distribution.events.v1+json`): what the proxy sends after a
//! manifest push, and what an origin's receiver reads from the proxy, from distribution's
//! own `notifications.endpoints` and from Harbor's webhooks of that format.
//!
//! The wire types keep strings and optional fields, as senders fill them differently
//! (distribution sends pull and delete events and blob pushes too; Harbor leaves out
//! `request` and `source`). [`Envelope::pushed_manifests`] is the one place that decides
//! which events name a pushed manifest, parsing repository and digest into their types.

use serde::{Deserialize, Serialize};

use crate::registry::ManifestKind;
use crate::{Digest, RepoName, Tag};

/// The envelope's `Content-Type`.
pub const EVENTS_MEDIA_TYPE: &str = "application/vnd.docker.distribution.events.v1+json";

/// The `action` of a push.
pub const PUSH: &str = "push";

/// One POST body: a batch of events.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    #[serde(default)]
    pub events: Vec<Event>,
}

/// One event as distribution writes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Event {
    pub id: String,
    /// RFC 3339.
    pub timestamp: String,
    pub action: String,
    pub target: Target,
    pub request: EventRequest,
    pub actor: Actor,
    pub source: EventSource,
}

/// What the event is about: for a manifest push, the manifest and its tag.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct Target {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    pub repository: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub url: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tag: Option<String>,
}

/// The request that caused the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventRequest {
    pub id: String,
    pub addr: String,
    pub host: String,
    pub method: String,
    pub useragent: String,
}

/// Who pushed (distribution fills `name` when the request was authenticated).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Actor {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// The registry instance that sent the event.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase")]
pub struct EventSource {
    pub addr: String,
    #[serde(rename = "instanceID")]
    pub instance_id: String,
}

/// A pushed manifest an event names, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushedManifest {
    pub repository: RepoName,
    pub digest: Digest,
    /// The manifest's media type, without parameters.
    pub media_type: String,
    pub tag: Option<Tag>,
}

impl Envelope {
    /// The push events whose target is a manifest (by media type), in order; events of
    /// other actions, blob pushes and targets that do not parse are skipped.
    pub fn pushed_manifests(&self) -> Vec<PushedManifest> {
        self.events
            .iter()
            .filter(|event| event.action == PUSH)
            .filter_map(|event| event.target.pushed_manifest())
            .collect()
    }
}

impl Target {
    fn pushed_manifest(&self) -> Option<PushedManifest> {
        let media_type = self.media_type.split(';').next().unwrap_or_default().trim();
        ManifestKind::of(media_type)?;
        Some(PushedManifest {
            repository: RepoName::parse(&self.repository).ok()?,
            media_type: media_type.to_owned(),
            digest: Digest::parse(&self.digest).ok()?,
            tag: match &self.tag {
                Some(tag) if !tag.is_empty() => Some(Tag::parse(tag).ok()?),
                _ => None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::registry::media_type::OCI_MANIFEST;

    const OCI_LAYER: &str = "application/vnd.oci.image.layer.v1.tar";

    /// An event as distribution 2.8 sends it for `docker push 127.0.0.1:5000/team/app:1`.
    const DISTRIBUTION: &str = r#"{"events":[{
        "id":"3f0c1c5a-6c1c-4c5e-8d5e-7c8f0f2b1a11",
        "timestamp":"2026-12-03T14:00:00.123456789Z",
        "action":"push",
        "target":{
            "mediaType":"application/vnd.oci.image.manifest.v1+json",
            "size":428,
            "digest":"sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
            "length":428,
            "repository":"team/app",
            "url":"http://127.0.0.1:5000/v2/team/app/manifests/sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b",
            "tag":"1"},
        "request":{"id":"r1","addr":"127.0.0.1:40000","host":"127.0.0.1:5000","method":"PUT","useragent":"skopeo"},
        "actor":{},
        "source":{"addr":"host:5000","instanceID":"i-1"}
    },{
        "id":"e2","timestamp":"2026-12-03T14:00:00Z","action":"push",
        "target":{"mediaType":"application/octet-stream","size":3,"repository":"team/app",
            "digest":"sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"}
    },{
        "id":"e3","timestamp":"2026-12-03T14:00:00Z","action":"pull",
        "target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"team/app",
            "digest":"sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"}
    }]}"#;

    #[test]
    fn reads_a_distribution_envelope_and_keeps_only_manifest_pushes() {
        let envelope: Envelope = serde_json::from_str(DISTRIBUTION).unwrap();
        assert_eq!(envelope.events.len(), 3);
        assert_eq!(envelope.events[0].source.instance_id, "i-1");
        let pushed = envelope.pushed_manifests();
        assert_eq!(
            pushed,
            vec![PushedManifest {
                repository: RepoName::parse("team/app").unwrap(),
                media_type: OCI_MANIFEST.into(),
                digest: Digest::parse(
                    "sha256:6c3c624b58dbbcd3c0dd82b4c53f04194d1247c6eebdaab7c610cf7d66709b3b"
                )
                .unwrap(),
                tag: Some(Tag::parse("1").unwrap()),
            }]
        );
    }

    #[test]
    fn round_trips_with_distribution_field_names() {
        let event = Event {
            id: "1".into(),
            action: PUSH.into(),
            target: Target {
                media_type: OCI_MANIFEST.into(),
                digest: Digest::of(b"m").to_string(),
                size: 1,
                repository: "team/app".into(),
                tag: Some("v1".into()),
                ..Target::default()
            },
            source: EventSource {
                addr: "proxy:15000".into(),
                instance_id: "p".into(),
            },
            ..Event::default()
        };
        let envelope = Envelope {
            events: vec![event],
        };
        let json: serde_json::Value = serde_json::to_value(&envelope).unwrap();
        assert_eq!(json["events"][0]["target"]["mediaType"], OCI_MANIFEST);
        assert_eq!(json["events"][0]["source"]["instanceID"], "p");
        let back: Envelope = serde_json::from_value(json).unwrap();
        assert_eq!(back, envelope);
        assert_eq!(back.pushed_manifests().len(), 1);
    }

    #[test]
    fn skips_targets_that_do_not_parse() {
        let bad = |media_type: &str, repository: &str, digest: &str| Envelope {
            events: vec![Event {
                action: PUSH.into(),
                target: Target {
                    media_type: media_type.into(),
                    repository: repository.into(),
                    digest: digest.into(),
                    ..Target::default()
                },
                ..Event::default()
            }],
        };
        let digest = Digest::of(b"m").to_string();
        assert!(
            bad(OCI_LAYER, "team/app", &digest)
                .pushed_manifests()
                .is_empty()
        );
        assert!(
            bad(OCI_MANIFEST, "Team/App", &digest)
                .pushed_manifests()
                .is_empty()
        );
        assert!(
            bad(OCI_MANIFEST, "team/app", "sha256:zz")
                .pushed_manifests()
                .is_empty()
        );
        assert_eq!(
            bad(OCI_MANIFEST, "team/app", &digest)
                .pushed_manifests()
                .len(),
            1
        );
        // A media type with parameters still names a manifest.
        let with_params = format!("{OCI_MANIFEST}; charset=utf-8");
        assert_eq!(
            bad(&with_params, "team/app", &digest)
                .pushed_manifests()
                .len(),
            1
        );
    }
}
