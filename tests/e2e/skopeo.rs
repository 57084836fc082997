//! skopeo through an agent: a two-platform OCI index pushed to the proxy comes back
//! whole (`copy --all`) from an agent, with the same index digest and every blob.

use starling_testkit::clients::{arg, run_ok};
use starling_testkit::oci::{self, Layout};
use starling_testkit::require_program;

use crate::support::Cluster;

/// `skopeo --insecure-policy <args>` with HOME in the test's temp dir.
pub async fn skopeo(home: &std::path::Path, args: &[&str]) -> String {
    let mut all = vec!["--insecure-policy"];
    all.extend_from_slice(args);
    run_ok("skopeo", &all, &[("HOME", home)]).await
}

#[tokio::test]
async fn a_multi_platform_index_comes_back_through_an_agent() {
    require_program("skopeo", "apt-get install -y skopeo");
    let cluster = Cluster::start(1).await;
    let home = cluster.path().to_owned();
    let source = home.join("source");
    let mut layout = Layout::new(&source);
    let amd64 = layout.image("linux", "amd64", "arch.txt", b"amd64\n");
    let arm64 = layout.image("linux", "arm64", "arch.txt", b"arm64\n");
    let index = layout.tag_index("multi", &[amd64.clone(), arm64.clone()]);
    layout.finish();
    let src = format!("oci:{}:multi", arg(&source));
    let pushed = format!("docker://{}/team/multi:1", cluster.proxy());
    skopeo(
        &home,
        &["copy", "--all", "--dest-tls-verify=false", &src, &pushed],
    )
    .await;

    let back = home.join("back");
    let from_agent = format!("docker://{}/team/multi:1", cluster.agent(0));
    let dest = format!("oci:{}:multi", arg(&back));
    skopeo(
        &home,
        &[
            "copy",
            "--all",
            "--src-tls-verify=false",
            &from_agent,
            &dest,
        ],
    )
    .await;
    assert_eq!(
        oci::tagged_digest(&back, "multi"),
        starling_core::Digest::of(&index)
    );
    for image in [&amd64, &arm64] {
        assert!(oci::has_blob(&back, &image.manifest_digest));
        assert!(oci::has_blob(&back, &image.layer_digest));
        assert!(oci::has_blob(&back, &image.config_digest));
    }
    cluster.stop().await;
}
