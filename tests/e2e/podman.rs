//! podman pulls through an agent: an image pushed to the proxy with skopeo is pulled
//! by podman from the agent into a private storage root (vfs driver, so it needs no
//! overlay or fuse support) and keeps its manifest digest.

use std::path::Path;

use starling_testkit::clients::{arg, run_ok};
use starling_testkit::oci::Layout;
use starling_testkit::require_program;

use crate::skopeo::skopeo;
use crate::support::Cluster;

#[tokio::test]
async fn podman_pulls_an_image_through_an_agent() {
    require_program("podman", "apt-get install -y podman");
    require_program("skopeo", "apt-get install -y skopeo");
    let cluster = Cluster::start(1).await;
    let home = cluster.path().to_owned();
    let source = home.join("source");
    let mut layout = Layout::new(&source);
    let image = layout.image("linux", "amd64", "hello.txt", b"hello from podman\n");
    layout.tag_image("v1", &image);
    layout.finish();
    let src = format!("oci:{}:v1", arg(&source));
    let pushed = format!("docker://{}/team/podman:v1", cluster.proxy());
    skopeo(&home, &["copy", "--dest-tls-verify=false", &src, &pushed]).await;

    let reference = format!("{}/team/podman:v1", cluster.agent(0));
    let digest = podman_pull(&home, &[("HOME", home.as_path())], &reference).await;
    assert_eq!(digest, image.manifest_digest.to_string());
    cluster.stop().await;
}

/// `podman pull --tls-verify=false reference` into a private storage root under `home`
/// (with `envs`, e.g. `CONTAINERS_REGISTRIES_CONF`); returns the pulled image's digest.
pub async fn podman_pull(home: &Path, envs: &[(&str, &Path)], reference: &str) -> String {
    let root = arg(&home.join("podman-root"));
    let runroot = arg(&home.join("podman-run"));
    let podman = |extra: &[&str]| {
        let mut args = vec![
            "--root",
            root.as_str(),
            "--runroot",
            runroot.as_str(),
            "--storage-driver",
            "vfs",
            "--events-backend",
            "file",
            "--cgroup-manager",
            "cgroupfs",
        ];
        args.extend_from_slice(extra);
        args.into_iter().map(str::to_owned).collect::<Vec<_>>()
    };
    let pull = podman(&["pull", "--tls-verify=false", reference]);
    let pull: Vec<&str> = pull.iter().map(String::as_str).collect();
    run_ok("podman", &pull, envs).await;
    let inspect = podman(&["image", "inspect", "--format", "{{.Digest}}", reference]);
    let inspect: Vec<&str> = inspect.iter().map(String::as_str).collect();
    run_ok("podman", &inspect, envs).await.trim().to_owned()
}
