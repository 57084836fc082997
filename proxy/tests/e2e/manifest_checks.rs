//! Manifest pushes whose descriptors disagree with the stored blobs, over HTTP against
//! the real stack: a negative size, a size other than the stored blob's, an index whose
//! child is a layer. Each is `MANIFEST_INVALID` naming the descriptor, and afterwards
//! neither the tag nor the manifest's digest can be fetched. Alongside, what must keep
//! working: an index of pushed manifests and an OCI artifact with its own config type.

use reqwest::{Client, StatusCode};
use serde_json::{Value, json};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_INDEX, OCI_MANIFEST};

use crate::bad_inputs::{expect, push_blob};
use crate::support::Stack;

const LAYER: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const CONFIG: &[u8] = br#"{"os":"linux"}"#;
const LAYER_BYTES: &[u8] = b"layer bytes of the image";

fn descriptor(media_type: &str, digest: &Digest, size: i64) -> Value {
    json!({"mediaType": media_type, "digest": digest.to_string(), "size": size})
}

/// An OCI image manifest whose only layer declares `layer_size`.
fn image(config_type: &str, layer_size: i64) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": descriptor(config_type, &Digest::of(CONFIG), CONFIG.len() as i64),
        "layers": [descriptor(LAYER, &Digest::of(LAYER_BYTES), layer_size)],
    }))
    .unwrap()
}

fn index(children: Vec<Value>) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": children,
    }))
    .unwrap()
}

struct Pusher {
    stack: Stack,
    http: Client,
}

impl Pusher {
    async fn start() -> Self {
        let stack = Stack::start().await;
        let http = Client::new();
        push_blob(&http, &stack, "team/app", CONFIG).await;
        push_blob(&http, &stack, "team/app", LAYER_BYTES).await;
        Self { stack, http }
    }

    fn put(&self, tag: &str, media_type: &str, body: &[u8]) -> reqwest::RequestBuilder {
        let url = self.stack.url(&format!("/v2/team/app/manifests/{tag}"));
        self.http
            .put(url)
            .header("content-type", media_type)
            .body(body.to_vec())
    }

    /// Pushes `body` as `tag`, expects `MANIFEST_INVALID` naming `field` of `digest`,
    /// and checks that nothing was stored.
    async fn refused(
        &self,
        tag: &str,
        media_type: &str,
        body: &[u8],
        field: &str,
        digest: &Digest,
    ) {
        let request = self.put(tag, media_type, body);
        let error = expect(request, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
        let detail = error["errors"][0]["detail"].to_string();
        assert!(detail.contains(field), "{field} in {detail}");
        assert!(detail.contains(&digest.to_string()), "{digest} in {detail}");
        self.absent(&format!("/v2/team/app/manifests/{tag}")).await;
        self.absent(&format!("/v2/team/app/manifests/{}", Digest::of(body)))
            .await;
        assert_eq!(self.stack.tag("team/app", tag).await, None);
        assert!(!self.stack.origin_has("team/app", &Digest::of(body)).await);
    }

    async fn absent(&self, path: &str) {
        let get = self.http.get(self.stack.url(path));
        expect(get, StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN").await;
    }
}

#[tokio::test]
async fn a_negative_layer_size_is_refused() {
    let p = Pusher::start().await;
    let body = image(OCI_CONFIG, -1);
    let layer = Digest::of(LAYER_BYTES);
    p.refused("negative", OCI_MANIFEST, &body, "layers[0]", &layer)
        .await;
    p.stack.stop().await;
}

#[tokio::test]
async fn a_size_other_than_the_stored_blobs_is_refused() {
    let p = Pusher::start().await;
    let layer = Digest::of(LAYER_BYTES);
    for (tag, size) in [("smaller", LAYER_BYTES.len() - 1), ("larger", 1 << 30)] {
        let body = image(OCI_CONFIG, size as i64);
        p.refused(tag, OCI_MANIFEST, &body, "layers[0].size", &layer)
            .await;
    }
    let mut wrong_config: Value = serde_json::from_slice(&image(OCI_CONFIG, 24)).unwrap();
    wrong_config["config"]["size"] = json!(0);
    let body = serde_json::to_vec(&wrong_config).unwrap();
    p.refused(
        "config",
        OCI_MANIFEST,
        &body,
        "config.size",
        &Digest::of(CONFIG),
    )
    .await;
    p.stack.stop().await;
}

#[tokio::test]
async fn an_index_whose_child_is_a_layer_is_refused() {
    let p = Pusher::start().await;
    let layer = Digest::of(LAYER_BYTES);
    let size = LAYER_BYTES.len() as i64;
    let as_layer = index(vec![descriptor(LAYER, &layer, size)]);
    p.refused("layer-type", OCI_INDEX, &as_layer, "manifests[0]", &layer)
        .await;
    // Claimed to be a manifest, but the stored bytes are the layer's.
    let disguised = index(vec![descriptor(OCI_MANIFEST, &layer, size)]);
    p.refused(
        "disguised",
        OCI_INDEX,
        &disguised,
        "manifests[0].mediaType",
        &layer,
    )
    .await;
    let missing = Digest::of(b"never pushed");
    let request = p.put(
        "missing",
        OCI_INDEX,
        &index(vec![descriptor(OCI_MANIFEST, &missing, 10)]),
    );
    let error = expect(request, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
    assert_eq!(error["errors"][0]["detail"], missing.to_string());
    p.absent("/v2/team/app/manifests/missing").await;
    p.stack.stop().await;
}

#[tokio::test]
async fn indexes_of_pushed_manifests_and_artifacts_are_stored() {
    let p = Pusher::start().await;
    let size = LAYER_BYTES.len() as i64;
    let artifact = image("application/vnd.example.sbom.v1+json", size);
    let response = p
        .put("artifact", OCI_MANIFEST, &artifact)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let image = image(OCI_CONFIG, size);
    let response = p.put("amd64", OCI_MANIFEST, &image).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let children = vec![
        descriptor(OCI_MANIFEST, &Digest::of(&image), image.len() as i64),
        descriptor(OCI_MANIFEST, &Digest::of(&artifact), artifact.len() as i64),
    ];
    let body = index(children);
    let response = p.put("multi", OCI_INDEX, &body).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    assert_eq!(
        p.stack.tag("team/app", "multi").await,
        Some(Digest::of(&body))
    );
    let fetched = p.http.get(p.stack.url("/v2/team/app/manifests/multi"));
    assert_eq!(fetched.send().await.unwrap().bytes().await.unwrap(), body);
    p.stack.stop().await;
}
