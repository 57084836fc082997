//! Issue 14's write bypass against the deployment the chart renders: a stranger on the
//! cluster network PUTs a blob straight to an origin and a tag straight to the
//! build-index. Both are refused without the chart's cluster token (the Secret's
//! `cluster-token`), and the proxy, which has it, still stores an image.

use reqwest::StatusCode;
use starling_core::Digest;

use crate::cluster::Cluster;
use crate::configs::{BUILD_INDEX_PORT, ORIGIN_PORT, Spec, origin_name};
use crate::pull::{TestImage, push, skopeo_pull};
use crate::suite::Suite;

#[tokio::test]
async fn writes_that_bypass_the_proxy_are_refused_without_the_cluster_token() {
    let Some(suite) = Suite::start().await else {
        return;
    };
    let spec = Spec {
        replicas: 2,
        agents: 1,
        rate: "64MiB/s",
    };
    let cluster = Cluster::start(spec, suite.image).await;
    let origin = format!("{}:{ORIGIN_PORT}", cluster.node(&origin_name(0)).ip);
    let index = format!("{}:{BUILD_INDEX_PORT}", cluster.node("build-index").ip);
    let blob = b"a layer nobody pushed".to_vec();
    let digest = Digest::of(&blob);
    let blob_url = format!("http://{origin}/namespace/team%2Fapp/blobs/{digest}");
    let tag_url = format!("http://{index}/tags/team%2Fapp/v1");

    let put_blob = cluster.http.put(&blob_url).body(blob.clone()).send();
    assert_eq!(put_blob.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let put_tag = cluster.http.put(&tag_url).body(digest.to_string()).send();
    assert_eq!(put_tag.await.unwrap().status(), StatusCode::UNAUTHORIZED);
    let forged = cluster
        .http
        .put(&tag_url)
        .header("starling-replicated-from", "build-index:15004")
        .header("starling-tag-updated-at", i64::MAX.to_string())
        .body(digest.to_string())
        .send();
    assert_eq!(forged.await.unwrap().status(), StatusCode::UNAUTHORIZED);

    let token = cluster.token();
    let with_token = cluster
        .http
        .put(&blob_url)
        .bearer_auth(token.trim())
        .body(blob)
        .send();
    assert_eq!(with_token.await.unwrap().status(), StatusCode::CREATED);

    let image = TestImage::random(1024 * 1024);
    push(&cluster, &image).await;
    let out = tempfile::tempdir().unwrap();
    skopeo_pull(&cluster, 0, &image, out.path()).await;
}
