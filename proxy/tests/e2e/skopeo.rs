//! skopeo, a real registry client, against the proxy: an OCI image pushed, inspected and
//! copied back with the same digests; a two-platform index with `--all`.

use serde_json::Value;
use starling_core::registry::media_type::{OCI_INDEX, OCI_MANIFEST};
use starling_testkit::require_program;

use starling_testkit::clients::{arg, run_ok};
use starling_testkit::oci::{self, Layout};

use crate::support::Stack;

/// `skopeo --insecure-policy <args>`, with HOME in `home` so no stored credentials or
/// policy of the machine take part.
pub async fn skopeo(home: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["--insecure-policy"];
    all.extend_from_slice(args);
    run_ok("skopeo", &all, &[("HOME", home)]).await
}

#[tokio::test]
async fn an_image_goes_in_and_comes_back_unchanged() {
    require_program("skopeo", "apt-get install -y skopeo");
    let stack = Stack::start().await;
    let home = stack.dir.path().to_owned();
    let source = home.join("source");
    let mut layout = Layout::new(&source);
    let image = layout.image("linux", "amd64", "hello.txt", b"hello from starling\n");
    layout.tag_image("v1", &image);
    layout.finish();
    let dest = format!("docker://{}/team/app:v1", stack.registry());

    let src = format!("oci:{}:v1", arg(&source));
    skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &dest]).await;
    assert_eq!(
        stack.tag("team/app", "v1").await,
        Some(image.manifest_digest)
    );
    for blob in [
        image.layer_digest,
        image.config_digest,
        image.manifest_digest,
    ] {
        assert!(
            stack.origin_has("team/app", &blob).await,
            "{blob} in the origin"
        );
    }

    let inspect = skopeo(&home, &["inspect", "--tls-verify=false", &dest]).await;
    let inspect: Value = serde_json::from_str(&inspect).unwrap();
    assert_eq!(inspect["Digest"], image.manifest_digest.to_string());
    assert_eq!(inspect["Architecture"], "amd64");
    let raw = skopeo(&home, &["inspect", "--raw", "--tls-verify=false", &dest]).await;
    assert_eq!(raw.as_bytes(), &image.manifest[..]);

    let back = home.join("back");
    let copy_back = format!("oci:{}:v1", arg(&back));
    skopeo(
        &home,
        &["copy", "--src-tls-verify=false", &dest, &copy_back],
    )
    .await;
    assert_eq!(oci::tagged_digest(&back, "v1"), image.manifest_digest);
    assert!(oci::has_blob(&back, &image.layer_digest));
    assert!(oci::has_blob(&back, &image.config_digest));

    let tags: Value = reqwest::get(stack.url("/v2/team/app/tags/list"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        tags,
        serde_json::json!({"name": "team/app", "tags": ["v1"]})
    );
    stack.stop().await;
}

#[tokio::test]
async fn a_two_platform_index_copies_with_all() {
    require_program("skopeo", "apt-get install -y skopeo");
    let stack = Stack::start().await;
    let home = stack.dir.path().to_owned();
    let source = home.join("multi");
    let mut layout = Layout::new(&source);
    let amd64 = layout.image("linux", "amd64", "arch.txt", b"amd64\n");
    let arm64 = layout.image("linux", "arm64", "arch.txt", b"arm64\n");
    let index = layout.tag_index("v1", &[amd64.clone(), arm64.clone()]);
    layout.finish();
    let dest = format!("docker://{}/team/multi:v1", stack.registry());

    let src = format!("oci:{}:v1", arg(&source));
    skopeo(
        &home,
        &["copy", "--all", "--dest-tls-verify=false", &src, &dest],
    )
    .await;
    let index_digest = starling_core::Digest::of(&index);
    assert_eq!(stack.tag("team/multi", "v1").await, Some(index_digest));
    let raw = skopeo(&home, &["inspect", "--raw", "--tls-verify=false", &dest]).await;
    assert_eq!(raw.as_bytes(), &index[..]);

    let http = reqwest::Client::new();
    let index_response = http
        .get(stack.url("/v2/team/multi/manifests/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(index_response.headers()["content-type"], OCI_INDEX);
    for image in [&amd64, &arm64] {
        let path = format!("/v2/team/multi/manifests/{}", image.manifest_digest);
        let response = http.get(stack.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], OCI_MANIFEST);
        assert_eq!(response.bytes().await.unwrap(), image.manifest);
    }

    let back = home.join("multi-back");
    let copy_back = format!("oci:{}:v1", arg(&back));
    skopeo(
        &home,
        &["copy", "--all", "--src-tls-verify=false", &dest, &copy_back],
    )
    .await;
    assert_eq!(oci::tagged_digest(&back, "v1"), index_digest);
    for image in [&amd64, &arm64] {
        assert!(oci::has_blob(&back, &image.manifest_digest));
        assert!(oci::has_blob(&back, &image.layer_digest));
    }
    stack.stop().await;
}
