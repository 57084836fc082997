//! The docker CLI end to end: an image built offline is pushed to the proxy, removed,
//! pulled back through an agent (so through the swarm) and run. Docker treats
//! registries on 127.0.0.0/8 as insecure, so plain HTTP needs no daemon configuration.

use starling_testkit::clients::{
    DockerImageCleanup, build_busybox_image, require_docker, run, run_ok,
};

use crate::support::Cluster;

#[tokio::test]
async fn docker_pushes_to_the_proxy_and_pulls_through_an_agent() {
    require_docker().await;
    let cluster = Cluster::start(2).await;
    let pushed_tag = format!("{}/team/busybox:1", cluster.proxy());
    let pulled_tag = format!("{}/team/busybox:1", cluster.agent(1));
    let _cleanup = (
        DockerImageCleanup(pushed_tag.clone()),
        DockerImageCleanup(pulled_tag.clone()),
    );
    let config = cluster.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let env = [("DOCKER_CONFIG", config.as_path())];
    build_busybox_image(&cluster.path().join("context"), &pushed_tag, &config).await;
    run_ok("docker", &["push", &pushed_tag], &env).await;
    run_ok("docker", &["rmi", &pushed_tag], &env).await;
    let gone = run("docker", &["image", "inspect", &pushed_tag], &env).await;
    assert!(!gone.success, "the image is gone before the pull");

    let pulled = run_ok("docker", &["pull", &pulled_tag], &env).await;
    assert!(pulled.contains("Downloaded newer image"), "{pulled}");
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
    assert!(
        !metrics.contains("starling_agent_blobs_served_total 0"),
        "the layers came from agent 1:\n{metrics}"
    );
    cluster.stop().await;
}
