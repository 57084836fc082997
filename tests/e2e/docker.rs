//! The docker CLI end to end: an image no engine has seen (one layer holding busybox
//! and a random file, built with `--no-cache`) is pushed to the proxy, removed, pulled
//! back through an agent (so through the swarm: the engine holds none of its layers)
//! and run. Docker treats registries on 127.0.0.0/8 as insecure, so plain HTTP needs
//! no daemon configuration, and neither does HTTPS with the dev cluster's own CA (an
//! insecure registry is tried over TLS without verification first): the same round
//! trip runs against a cluster whose proxy and agents serve TLS. The test removes exactly the image it built, by ID, when it
//! ends, passed or failed; it never touches another image.

use std::path::Path;

use starling_testkit::BlobFixture;
use starling_testkit::clients::{BUSYBOX, arg, require_docker, run, run_ok};

use crate::support::Cluster;

/// Bytes of the random file that makes the image's layer unique.
const UNIQUE_LEN: usize = 256 * 1024;

/// An image this test built, removed (with every tag it got) when dropped.
struct BuiltImage {
    id: String,
}

impl Drop for BuiltImage {
    fn drop(&mut self) {
        // Blocking is fine here: the test is over and the servers are stopping.
        let _ = std::process::Command::new("docker")
            .args(["rmi", "--force", &self.id])
            .output();
    }
}

/// `docker build --no-cache` in `dir` of `FROM scratch` plus one layer: busybox and
/// [`UNIQUE_LEN`] random bytes at `/unique`, tagged `tag`.
async fn build_unique_image(dir: &Path, tag: &str, env: &[(&str, &Path)]) -> BuiltImage {
    let bin = dir.join("rootfs/bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::copy(BUSYBOX, bin.join("busybox")).unwrap();
    let unique = BlobFixture::random(UNIQUE_LEN);
    std::fs::write(dir.join("rootfs/unique"), &unique.data).unwrap();
    std::fs::write(dir.join("Dockerfile"), "FROM scratch\nCOPY rootfs/ /\n").unwrap();
    let id_file = dir.join("image-id");
    let args = [
        "build",
        "--no-cache",
        "--iidfile",
        &arg(&id_file),
        "-t",
        tag,
        &arg(dir),
    ];
    let built = run("docker", &args, env).await;
    // Whatever the build left behind is this test's, even if it failed half way.
    let id = std::fs::read_to_string(&id_file).unwrap_or_default();
    let image = BuiltImage {
        id: if id.trim().is_empty() {
            tag.to_owned()
        } else {
            id.trim().to_owned()
        },
    };
    assert!(built.success, "docker build failed:\n{}", built.text);
    image
}

/// The value of an unlabelled counter in a Prometheus text page (0 if absent).
fn counter(metrics: &str, name: &str) -> f64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

#[tokio::test]
async fn docker_pushes_to_the_proxy_and_pulls_through_an_agent() {
    require_docker().await;
    round_trip(Cluster::start(2).await).await;
}

#[tokio::test]
async fn docker_pushes_and_pulls_over_https() {
    require_docker().await;
    round_trip(Cluster::start_tls(2).await).await;
}

/// Push to the proxy, remove, pull through agent 1, run.
async fn round_trip(cluster: Cluster) {
    let pushed_tag = format!("{}/team/busybox:1", cluster.proxy());
    let pulled_tag = format!("{}/team/busybox:1", cluster.agent(1));
    let config = cluster.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let env = [("DOCKER_CONFIG", config.as_path())];
    let image = build_unique_image(&cluster.path().join("context"), &pushed_tag, &env).await;
    run_ok("docker", &["push", &pushed_tag], &env).await;
    run_ok("docker", &["rmi", &pushed_tag], &env).await;
    let gone = run("docker", &["image", "inspect", &image.id], &env).await;
    assert!(!gone.success, "the image is gone before the pull");

    let pulled = run_ok("docker", &["pull", &pulled_tag], &env).await;
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
    assert!(
        !pulled.contains("Already exists"),
        "every layer moved: {pulled}"
    );
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        &pulled_tag,
        "/bin/busybox",
        "echo",
        "hello from the swarm",
    ];
    let output = run_ok("docker", &args, &env).await;
    assert_eq!(output.trim(), "hello from the swarm");
    let metrics = cluster.agent_metrics(1).await;
    let served = counter(&metrics, "starling_agent_blob_bytes_served_total");
    assert!(
        served >= UNIQUE_LEN as f64,
        "the layer's bytes came from agent 1:\n{metrics}"
    );
    drop(image);
    cluster.stop().await;
}
