//! The docker CLI against the proxy: an image built offline (`FROM scratch` plus Debian's
//! static busybox) is pushed, removed, pulled back and run. Docker treats registries on
//! 127.0.0.0/8 as insecure, so plain HTTP needs no daemon configuration.
//!
//! Needs a reachable docker daemon and `/bin/busybox` (package `busybox-static`); the
//! test fails, naming what is missing, when either is absent
//! (`starling_testkit::clients::require_docker`).

use starling_testkit::clients::{
    DockerImageCleanup as Cleanup, build_busybox_image, require_docker, run, run_ok,
};

use crate::support::Stack;

#[tokio::test]
async fn docker_pushes_pulls_and_runs_an_image() {
    require_docker().await;
    let stack = Stack::start().await;
    let tag = format!("{}/team/busybox:1", stack.registry());
    let _cleanup = Cleanup(tag.clone());
    let config = stack.dir.path().join("docker-config");
    std::fs::create_dir_all(&config).unwrap();
    let env = [("DOCKER_CONFIG", config.as_path())];
    build_busybox_image(&stack.dir.path().join("context"), &tag, &config).await;

    run_ok("docker", &["push", &tag], &env).await;
    let pushed = stack.tag("team/busybox", "1").await;
    assert!(
        pushed.is_some(),
        "the push tagged team/busybox:1 in the build-index"
    );
    run_ok("docker", &["rmi", &tag], &env).await;
    let gone = run("docker", &["image", "inspect", &tag], &env).await;
    assert!(!gone.success, "the image is gone before the pull");

    let pulled = run_ok("docker", &["pull", &tag], &env).await;
    let digest = pushed.unwrap().to_string();
    assert!(pulled.contains(&digest), "pull reports {digest}:\n{pulled}");
    let args = [
        "run",
        "--rm",
        "--network",
        "none",
        &tag,
        "/bin/busybox",
        "echo",
        "hello",
    ];
    let output = run_ok("docker", &args, &env).await;
    assert_eq!(output.trim(), "hello");
    stack.stop().await;
}
