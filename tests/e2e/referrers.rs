//! OCI distribution spec 1.1 content discovery against a whole cluster (proxy,
//! build-index, two origins with replicas 2, tracker, agents): manifests with a `subject`
//! pushed to the proxy over HTTP are answered with `OCI-Subject` and listed by
//! `GET /v2/<name>/referrers/<digest>` on the proxy and on every agent, with the
//! descriptor fields and the `artifactType` filter the spec asks for; the
//! `sha256-<hex>` fallback tag works as an ordinary tag; artifacts of any media type
//! push and pull.

use reqwest::StatusCode;
use reqwest::header::CONTENT_TYPE;
use serde_json::{Value, json};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_EMPTY, OCI_INDEX, OCI_MANIFEST};

use crate::support::Cluster;

const SIGNATURE: &str = "application/vnd.example.signature.v1";
const SBOM_CONFIG: &str = "application/vnd.example.sbom+json";
const BUNDLE: &str = "application/vnd.example.bundle.v1";

/// A manifest as pushed: its bytes and digest.
struct Pushed {
    bytes: Vec<u8>,
    digest: Digest,
}

impl Pushed {
    /// The descriptor a referrers list must show for it.
    fn descriptor(&self, media_type: &str, artifact_type: &str, annotations: Value) -> Value {
        let mut d = json!({
            "mediaType": media_type,
            "digest": self.digest.to_string(),
            "size": self.bytes.len(),
            "artifactType": artifact_type,
        });
        if annotations.as_object().is_some_and(|a| !a.is_empty()) {
            d["annotations"] = annotations;
        }
        d
    }
}

/// PUTs `manifest` to the proxy as `repo:reference`; expects 201.
async fn put_manifest(
    cluster: &Cluster,
    repo: &str,
    reference: &str,
    media_type: &str,
    manifest: &Value,
) -> (Pushed, reqwest::header::HeaderMap) {
    let bytes = serde_json::to_vec(manifest).unwrap();
    let url = format!("http://{}/v2/{repo}/manifests/{reference}", cluster.proxy());
    let response = cluster
        .http
        .put(url)
        .header(CONTENT_TYPE, media_type)
        .body(bytes.clone())
        .send()
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = response.text().await.unwrap();
    assert_eq!(
        status,
        StatusCode::CREATED,
        "push {repo}:{reference}: {body}"
    );
    let digest = Digest::of(&bytes);
    (Pushed { bytes, digest }, headers)
}

fn subject_of(image: &Pushed) -> Value {
    json!({"mediaType": OCI_MANIFEST, "digest": image.digest.to_string(), "size": image.bytes.len()})
}

/// An artifact manifest: `config_type` config (the empty descriptor `{}` when it is
/// [`OCI_EMPTY`]), one layer of `layer_type`, an optional `artifactType`, a subject.
async fn push_artifact(
    cluster: &Cluster,
    repo: &str,
    parts: ArtifactParts<'_>,
) -> (Pushed, reqwest::header::HeaderMap) {
    let config: &[u8] = if parts.config_type == OCI_EMPTY {
        b"{}"
    } else {
        br#"{"spdxVersion":"SPDX-2.3"}"#
    };
    let config_digest = cluster.push_blob(repo, config).await;
    let layer_digest = cluster.push_blob(repo, parts.layer).await;
    let mut manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": parts.config_type, "digest": config_digest.to_string(), "size": config.len()},
        "layers": [{"mediaType": parts.layer_type, "digest": layer_digest.to_string(), "size": parts.layer.len()}],
        "annotations": parts.annotations,
    });
    if let Some(artifact_type) = parts.artifact_type {
        manifest["artifactType"] = json!(artifact_type);
    }
    if let Some(subject) = parts.subject {
        manifest["subject"] = subject_of(subject);
    }
    let reference = parts.tag.map_or_else(
        || Digest::of(&serde_json::to_vec(&manifest).unwrap()).to_string(),
        str::to_owned,
    );
    put_manifest(cluster, repo, &reference, OCI_MANIFEST, &manifest).await
}

struct ArtifactParts<'a> {
    config_type: &'a str,
    artifact_type: Option<&'a str>,
    layer_type: &'a str,
    layer: &'a [u8],
    annotations: Value,
    subject: Option<&'a Pushed>,
    tag: Option<&'a str>,
}

/// The image an artifact refers to, pushed as `repo:1`.
async fn push_subject(cluster: &Cluster, repo: &str) -> Pushed {
    let bytes = cluster.push_image(repo, "1", &[b"the image's layer"]).await;
    let digest = Digest::of(&bytes);
    Pushed { bytes, digest }
}

/// `GET <base>/v2/<repo>/referrers/<subject><query>`: status, filters header, body.
async fn referrers(
    cluster: &Cluster,
    base: &str,
    repo: &str,
    subject: &str,
    query: &str,
) -> (StatusCode, Option<String>, Value) {
    let url = format!("http://{base}/v2/{repo}/referrers/{subject}{query}");
    let response = cluster.http.get(url).send().await.unwrap();
    let status = response.status();
    let filters = response
        .headers()
        .get("oci-filters-applied")
        .map(|v| v.to_str().unwrap().to_owned());
    if status == StatusCode::OK {
        assert_eq!(response.headers()[CONTENT_TYPE], OCI_INDEX);
    }
    (status, filters, response.json().await.unwrap())
}

/// The registries that must answer alike: the proxy and every agent.
fn registries(cluster: &Cluster) -> Vec<String> {
    let mut all = vec![cluster.proxy()];
    all.extend((0..cluster.cluster.agents.len()).map(|k| cluster.agent(k)));
    all
}

fn sorted(mut manifests: Vec<Value>) -> Vec<Value> {
    manifests.sort_by_key(|m| m["digest"].as_str().unwrap().to_owned());
    manifests
}

#[tokio::test]
async fn referrers_are_listed_with_their_descriptors_and_filtered_by_artifact_type() {
    let cluster = Cluster::start(2).await;
    let repo = "team/app";
    let image = push_subject(&cluster, repo).await;

    // Before any referrer: 200 with an empty index, never 404.
    for base in registries(&cluster) {
        let (status, filters, index) =
            referrers(&cluster, &base, repo, &image.digest.to_string(), "").await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(filters, None);
        assert_eq!(
            index,
            json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": []}),
            "{base}"
        );
    }

    let signed_by = json!({"org.example.signed-by": "ci"});
    let (signature, headers) = push_artifact(
        &cluster,
        repo,
        ArtifactParts {
            config_type: OCI_EMPTY,
            artifact_type: Some(SIGNATURE),
            layer_type: "application/vnd.example.signature.payload",
            layer: b"signature bytes",
            annotations: signed_by.clone(),
            subject: Some(&image),
            tag: None,
        },
    )
    .await;
    assert_eq!(headers["oci-subject"], image.digest.to_string().as_str());

    // No artifactType: the config's media type stands for it.
    let (sbom, headers) = push_artifact(
        &cluster,
        repo,
        ArtifactParts {
            config_type: SBOM_CONFIG,
            artifact_type: None,
            layer_type: "text/spdx",
            layer: b"an SBOM",
            annotations: json!({}),
            subject: Some(&image),
            tag: Some("sbom"),
        },
    )
    .await;
    assert_eq!(headers["oci-subject"], image.digest.to_string().as_str());

    // An index with an artifactType refers to the image too.
    let bundle_manifest = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "artifactType": BUNDLE,
        "manifests": [{"mediaType": OCI_MANIFEST, "digest": signature.digest.to_string(), "size": signature.bytes.len()}],
        "subject": subject_of(&image),
        "annotations": {"org.example.kind": "bundle"},
    });
    let (bundle, headers) =
        put_manifest(&cluster, repo, "bundle", OCI_INDEX, &bundle_manifest).await;
    assert_eq!(headers["oci-subject"], image.digest.to_string().as_str());

    // A manifest without a subject gets no OCI-Subject and is nobody's referrer.
    let plain = cluster.push_image(repo, "2", &[b"another layer"]).await;
    let plain_url = format!("http://{}/v2/{repo}/manifests/3", cluster.proxy());
    let response = cluster
        .http
        .put(plain_url)
        .header(CONTENT_TYPE, OCI_MANIFEST)
        .body(plain)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert!(response.headers().get("oci-subject").is_none());

    let want = sorted(vec![
        signature.descriptor(OCI_MANIFEST, SIGNATURE, signed_by),
        sbom.descriptor(OCI_MANIFEST, SBOM_CONFIG, json!({})),
        bundle.descriptor(OCI_INDEX, BUNDLE, json!({"org.example.kind": "bundle"})),
    ]);
    let subject = image.digest.to_string();
    for base in registries(&cluster) {
        let (status, filters, index) = referrers(&cluster, &base, repo, &subject, "").await;
        assert_eq!((status, filters), (StatusCode::OK, None), "{base}");
        assert_eq!(index["mediaType"], OCI_INDEX, "{base}");
        assert_eq!(index["schemaVersion"], 2, "{base}");
        let got = sorted(index["manifests"].as_array().unwrap().clone());
        assert_eq!(got, want, "{base}");

        let query = format!("?artifactType={}", SBOM_CONFIG.replace('+', "%2B"));
        let (status, filters, index) = referrers(&cluster, &base, repo, &subject, &query).await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(filters.as_deref(), Some("artifactType"), "{base}");
        assert_eq!(
            index["manifests"],
            json!([sbom.descriptor(OCI_MANIFEST, SBOM_CONFIG, json!({}))]),
            "{base}"
        );

        let (status, filters, index) = referrers(
            &cluster,
            &base,
            repo,
            &subject,
            "?artifactType=application/none",
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(filters.as_deref(), Some("artifactType"), "{base}");
        assert_eq!(index["manifests"], json!([]), "{base}");

        // Referrers belong to their repository.
        let (status, _, index) = referrers(&cluster, &base, "team/other", &subject, "").await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(index["manifests"], json!([]), "{base}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn bad_digests_get_the_spec_error_and_unknown_subjects_an_empty_index() {
    let cluster = Cluster::start(1).await;
    let never_pushed = Digest::of(b"never pushed").to_string();
    for base in registries(&cluster) {
        for bad in ["sha256:00", "latest", "sha256:XYZ"] {
            let (status, _, body) = referrers(&cluster, &base, "team/app", bad, "").await;
            assert_eq!(status, StatusCode::BAD_REQUEST, "{base} {bad}");
            assert_eq!(body["errors"][0]["code"], "DIGEST_INVALID", "{base} {bad}");
        }
        let (status, _, body) = referrers(&cluster, &base, "Team/App", &never_pushed, "").await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{base}");
        assert_eq!(body["errors"][0]["code"], "NAME_INVALID", "{base}");
        let (status, _, index) = referrers(&cluster, &base, "team/app", &never_pushed, "").await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(index["manifests"], json!([]), "{base}");
    }
    cluster.stop().await;
}

#[tokio::test]
async fn a_referrer_pushed_before_its_subject_is_listed() {
    let cluster = Cluster::start(1).await;
    let repo = "team/early";
    // The subject's digest is known (content-addressed) before it is pushed.
    let future_image = Pushed {
        bytes: b"{\"schemaVersion\":2}".to_vec(),
        digest: Digest::of(b"{\"schemaVersion\":2}"),
    };
    let (signature, headers) = push_artifact(
        &cluster,
        repo,
        ArtifactParts {
            config_type: OCI_EMPTY,
            artifact_type: Some(SIGNATURE),
            layer_type: "application/octet-stream",
            layer: b"early signature",
            annotations: json!({}),
            subject: Some(&future_image),
            tag: None,
        },
    )
    .await;
    assert_eq!(
        headers["oci-subject"],
        future_image.digest.to_string().as_str()
    );
    for base in registries(&cluster) {
        let (status, _, index) =
            referrers(&cluster, &base, repo, &future_image.digest.to_string(), "").await;
        assert_eq!(status, StatusCode::OK, "{base}");
        assert_eq!(
            index["manifests"],
            json!([signature.descriptor(OCI_MANIFEST, SIGNATURE, json!({}))]),
            "{base}"
        );
    }
    cluster.stop().await;
}

/// Clients that do not use the API keep an index of referrers under the tag
/// `sha256-<hex of the subject>`; through Starling that is an ordinary tag.
#[tokio::test]
async fn the_fallback_tag_and_artifacts_of_any_media_type_push_and_pull() {
    let cluster = Cluster::start(2).await;
    let repo = "team/fallback";
    let image = push_subject(&cluster, repo).await;
    let payload = b"an attestation of any media type".as_slice();
    let (attestation, _) = push_artifact(
        &cluster,
        repo,
        ArtifactParts {
            config_type: "application/vnd.example+json",
            artifact_type: Some("application/vnd.example.attestation"),
            layer_type: "application/vnd.example.attestation.layer+cbor",
            layer: payload,
            annotations: json!({}),
            subject: None,
            tag: Some("attestation"),
        },
    )
    .await;
    let fallback_tag = format!("sha256-{}", image.digest.hex());
    let fallback = json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [{
            "mediaType": OCI_MANIFEST,
            "digest": attestation.digest.to_string(),
            "size": attestation.bytes.len(),
            "artifactType": "application/vnd.example.attestation",
        }],
    });
    let (index, headers) = put_manifest(&cluster, repo, &fallback_tag, OCI_INDEX, &fallback).await;
    assert!(
        headers.get("oci-subject").is_none(),
        "the fallback index has no subject"
    );

    for base in registries(&cluster) {
        let url = format!("http://{base}/v2/{repo}/manifests/{fallback_tag}");
        let response = cluster.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{base}");
        assert_eq!(response.headers()[CONTENT_TYPE], OCI_INDEX, "{base}");
        assert_eq!(response.bytes().await.unwrap(), index.bytes, "{base}");

        let tags_url = format!("http://{base}/v2/{repo}/tags/list");
        let tags: Value = cluster
            .http
            .get(tags_url)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        let tags = tags["tags"].as_array().unwrap();
        assert!(tags.contains(&json!(fallback_tag)), "{base}: {tags:?}");

        // The artifact and its layer of an arbitrary media type pull by digest.
        let url = format!("http://{base}/v2/{repo}/manifests/{}", attestation.digest);
        let response = cluster.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{base}");
        assert_eq!(response.headers()[CONTENT_TYPE], OCI_MANIFEST, "{base}");
        assert_eq!(response.bytes().await.unwrap(), attestation.bytes, "{base}");
        let url = format!("http://{base}/v2/{repo}/blobs/{}", Digest::of(payload));
        let response = cluster.http.get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::OK, "{base}");
        assert_eq!(response.bytes().await.unwrap(), payload, "{base}");
    }
    cluster.stop().await;
}
