//! Tests of [`super::parse`] and [`super::served_type`]: every media type a registry
//! accepts, and the malformed manifests it refuses.

use crate::registry::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, DOCKER_MANIFEST_LIST, OCI_CONFIG, OCI_EMPTY,
};
use serde_json::json;

use super::*;

fn d(seed: &str) -> Digest {
    Digest::of(seed.as_bytes())
}

fn desc(media_type: &str, seed: &str) -> serde_json::Value {
    json!({"mediaType": media_type, "digest": d(seed).to_string(), "size": 1})
}

fn image(media_type: Option<&str>, config_type: &str) -> Vec<u8> {
    let mut m = json!({
        "schemaVersion": 2,
        "config": desc(config_type, "config"),
        "layers": [desc("application/vnd.oci.image.layer.v1.tar+gzip", "layer")],
    });
    if let Some(t) = media_type {
        m["mediaType"] = json!(t);
    }
    serde_json::to_vec(&m).unwrap()
}

fn index(media_type: Option<&str>) -> Vec<u8> {
    let mut m = json!({
        "schemaVersion": 2,
        "manifests": [desc(OCI_MANIFEST, "amd64"), desc(OCI_MANIFEST, "arm64")],
    });
    if let Some(t) = media_type {
        m["mediaType"] = json!(t);
    }
    serde_json::to_vec(&m).unwrap()
}

fn invalid(body: &[u8], content_type: Option<&str>) -> String {
    match parse(body, content_type) {
        Err(ManifestError(reason)) => reason,
        other => panic!("expected MANIFEST_INVALID, got {other:?}"),
    }
}

#[test]
fn images_list_config_and_layers() {
    for (header, body_type, config) in [
        (Some(DOCKER_MANIFEST), Some(DOCKER_MANIFEST), DOCKER_CONFIG),
        (Some(OCI_MANIFEST), Some(OCI_MANIFEST), OCI_CONFIG),
        (Some(OCI_MANIFEST), None, OCI_CONFIG),
        (None, Some(OCI_MANIFEST), OCI_CONFIG),
        (
            Some(OCI_MANIFEST),
            None,
            "application/vnd.example.sbom+json",
        ),
        (Some(OCI_MANIFEST), None, OCI_EMPTY),
    ] {
        let m = parse(&image(body_type, config), header).unwrap();
        assert_eq!(m.kind, ManifestKind::Image);
        assert_eq!(m.references, [d("config"), d("layer")]);
        assert_eq!(Some(m.media_type.as_str()), header.or(body_type));
    }
    let with_charset = parse(
        &image(None, OCI_CONFIG),
        Some("application/vnd.oci.image.manifest.v1+json; charset=utf-8"),
    )
    .unwrap();
    assert_eq!(with_charset.media_type, OCI_MANIFEST);
}

#[test]
fn indexes_list_their_manifests() {
    for (header, body_type) in [
        (Some(OCI_INDEX), Some(OCI_INDEX)),
        (Some(OCI_INDEX), None),
        (Some(DOCKER_MANIFEST_LIST), Some(DOCKER_MANIFEST_LIST)),
    ] {
        let m = parse(&index(body_type), header).unwrap();
        assert_eq!(m.kind, ManifestKind::Index);
        assert_eq!(m.references, [d("amd64"), d("arm64")]);
    }
}

#[test]
fn foreign_layers_are_not_required() {
    let body = json!({
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": desc(DOCKER_CONFIG, "config"),
        "layers": [{
            "mediaType": "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
            "digest": d("foreign").to_string(), "size": 1,
            "urls": ["https://example.com/layer"],
        }],
    });
    let m = parse(&serde_json::to_vec(&body).unwrap(), Some(DOCKER_MANIFEST)).unwrap();
    assert_eq!(m.references, [d("config")]);
}

#[test]
fn malformed_manifests_are_refused() {
    let image = image(None, OCI_CONFIG);
    let cases: Vec<(Vec<u8>, Option<&str>, &str)> = vec![
        (b"not json".to_vec(), Some(OCI_MANIFEST), "not a manifest"),
        (image.clone(), None, "no media type"),
        (image.clone(), Some("application/json"), "unsupported"),
        (
            image.clone(),
            Some("application/vnd.docker.distribution.manifest.v1+prettyjws"),
            "unsupported",
        ),
        (image.clone(), Some(OCI_INDEX), "has no config or layers"),
        (index(None), Some(OCI_MANIFEST), "has no manifests list"),
        (index(Some(OCI_INDEX)), Some(OCI_MANIFEST), "does not match"),
        (
            br#"{"schemaVersion":1,"name":"a","tag":"b"}"#.to_vec(),
            Some(DOCKER_MANIFEST),
            "schemaVersion",
        ),
        (
            br#"{"schemaVersion":2,"layers":[]}"#.to_vec(),
            Some(OCI_MANIFEST),
            "needs a config",
        ),
        (
            br#"{"schemaVersion":2,"config":{"digest":"sha256:00"}}"#.to_vec(),
            Some(OCI_MANIFEST),
            "invalid digest",
        ),
    ];
    for (body, content_type, want) in cases {
        let reason = invalid(&body, content_type);
        assert!(reason.contains(want), "{content_type:?}: {reason}");
    }
}

#[test]
fn served_type_prefers_the_media_type_field() {
    assert_eq!(
        served_type(&image(Some(DOCKER_MANIFEST), DOCKER_CONFIG)).as_deref(),
        Some(DOCKER_MANIFEST)
    );
    assert_eq!(
        served_type(&image(None, OCI_CONFIG)).as_deref(),
        Some(OCI_MANIFEST)
    );
    assert_eq!(served_type(&index(None)).as_deref(), Some(OCI_INDEX));
    assert_eq!(
        served_type(&index(Some(DOCKER_MANIFEST_LIST))).as_deref(),
        Some(DOCKER_MANIFEST_LIST)
    );
    assert_eq!(served_type(b"\x1f\x8b layer bytes"), None);
    assert_eq!(served_type(br#"{"schemaVersion":2}"#), None);
}

#[test]
fn descriptors_carry_field_size_and_media_type() {
    let m = parse(&image(None, OCI_CONFIG), Some(OCI_MANIFEST)).unwrap();
    let fields: Vec<_> = m.descriptors.iter().map(|r| r.field.as_str()).collect();
    assert_eq!(fields, ["config", "layers[0]"]);
    assert_eq!(m.descriptors[0].size, 1);
    assert_eq!(m.descriptors[0].media_type.as_deref(), Some(OCI_CONFIG));
    let m = parse(&index(None), Some(OCI_INDEX)).unwrap();
    assert_eq!(m.descriptors[1].field, "manifests[1]");
    assert_eq!(m.descriptors[1].digest, d("arm64"));
}

#[test]
fn negative_or_missing_sizes_are_refused_naming_the_descriptor() {
    let layer = "application/vnd.oci.image.layer.v1.tar+gzip";
    let with_layer = |layer_desc: serde_json::Value| {
        serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "config": desc(OCI_CONFIG, "config"),
            "layers": [desc(layer, "ok"), layer_desc],
        }))
        .unwrap()
    };
    let negative =
        with_layer(json!({"mediaType": layer, "digest": d("bad").to_string(), "size": -1}));
    let reason = invalid(&negative, Some(OCI_MANIFEST));
    assert!(reason.contains("layers[1]"), "{reason}");
    assert!(reason.contains(&d("bad").to_string()), "{reason}");
    assert!(reason.contains("size -1 is negative"), "{reason}");

    let missing = with_layer(json!({"mediaType": layer, "digest": d("bad").to_string()}));
    assert!(invalid(&missing, Some(OCI_MANIFEST)).contains("layers[1]"));

    let foreign = with_layer(json!({
        "mediaType": layer, "digest": d("bad").to_string(), "size": -5,
        "urls": ["https://example.com/layer"],
    }));
    assert!(invalid(&foreign, Some(OCI_MANIFEST)).contains("size -5 is negative"));
}

#[test]
fn index_children_must_be_manifests() {
    for child_type in [
        Some("application/vnd.oci.image.layer.v1.tar+gzip"),
        Some(OCI_CONFIG),
        None,
    ] {
        let mut child = json!({"digest": d("layer").to_string(), "size": 3});
        if let Some(t) = child_type {
            child["mediaType"] = json!(t);
        }
        let body = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "manifests": [desc(OCI_MANIFEST, "amd64"), child],
        }))
        .unwrap();
        let reason = invalid(&body, Some(OCI_INDEX));
        assert!(reason.contains("manifests[1]"), "{reason}");
        assert!(reason.contains("is not a manifest type"), "{reason}");
    }
    let nested = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "manifests": [desc(OCI_INDEX, "nested"), desc(DOCKER_MANIFEST, "docker")],
    }))
    .unwrap();
    assert_eq!(
        parse(&nested, Some(OCI_INDEX)).unwrap().references,
        [d("nested"), d("docker")]
    );
}
