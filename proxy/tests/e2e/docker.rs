//! The docker CLI against the proxy: an image built offline (`FROM scratch` plus Debian's
//! static busybox) is pushed, removed, pulled back and run. Docker treats registries on
//! 127.0.0.0/8 as insecure, so plain HTTP needs no daemon configuration.
//!
//! Needs a reachable docker daemon and `/bin/busybox` (package `busybox-static`); the
//! test fails, naming what is missing, when either is absent.

use std::path::Path;

use starling_testkit::require_program;

use crate::support::{Stack, arg, run, run_ok};

const BUSYBOX: &str = "/bin/busybox";

/// An image tag removed from the daemon when the test ends, passed or failed.
pub struct Cleanup(pub String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        // Blocking is fine here: the test is over and the servers are stopping.
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

pub async fn require_docker() {
    require_program("docker", "apt-get install -y docker.io");
    let info = run("docker", &["info", "--format", "{{.ServerVersion}}"], &[]).await;
    assert!(
        info.success,
        "the docker daemon is not reachable (is dockerd running, and may this user use \
         /var/run/docker.sock?):\n{}",
        info.text
    );
    assert!(
        Path::new(BUSYBOX).is_file(),
        "{BUSYBOX} is missing; install it with: apt-get install -y busybox-static"
    );
}

/// `docker build` of `FROM scratch` + busybox in `dir`, tagged `tag`.
pub async fn build_busybox_image(dir: &Path, tag: &str, docker_config: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(BUSYBOX, dir.join("busybox")).unwrap();
    std::fs::write(
        dir.join("Dockerfile"),
        "FROM scratch\nCOPY busybox /bin/busybox\n",
    )
    .unwrap();
    let env = [("DOCKER_CONFIG", docker_config)];
    run_ok("docker", &["build", "-t", tag, &arg(dir)], &env).await;
}

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
