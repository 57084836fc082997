//! Real registry clients (docker, skopeo, podman, ctr) driven from async tests: a
//! command runner that does not block the runtime serving them, and the offline test
//! image every end-to-end test builds (`FROM scratch` + Debian's static busybox).

use std::path::Path;

use crate::process::require_program;

/// Debian's `busybox-static`: a static binary an image built from scratch can run.
pub const BUSYBOX: &str = "/bin/busybox";

/// The outcome of an external command.
pub struct Output {
    pub success: bool,
    pub text: String,
}

/// Runs `program args…` to completion without blocking the runtime (the servers the
/// command talks to run on it), with `envs` set.
pub async fn run(program: &str, args: &[&str], envs: &[(&str, &Path)]) -> Output {
    let mut command = tokio::process::Command::new(program);
    command.args(args).kill_on_drop(true);
    for (key, value) in envs {
        command.env(key, value);
    }
    let output = command
        .output()
        .await
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    Output {
        success: output.status.success(),
        text: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}

/// [`run`], failing the test with the command's output unless it succeeds.
pub async fn run_ok(program: &str, args: &[&str], envs: &[(&str, &Path)]) -> String {
    let output = run(program, args, envs).await;
    assert!(
        output.success,
        "{program} {} failed:\n{}",
        args.join(" "),
        output.text
    );
    output.text
}

/// A path argument as text.
pub fn arg(path: &Path) -> String {
    path.to_str().expect("test paths are UTF-8").to_owned()
}

/// An image removed from the docker daemon when the test ends, passed or failed.
pub struct DockerImageCleanup(pub String);

impl Drop for DockerImageCleanup {
    fn drop(&mut self) {
        // Blocking is fine here: the test is over and the servers are stopping.
        let _ = std::process::Command::new("docker")
            .args(["rmi", "-f", &self.0])
            .output();
    }
}

/// Fails the test, naming what is missing, unless the docker daemon answers and the
/// static busybox is installed.
pub async fn require_docker() {
    require_program("docker", "apt-get install -y docker.io");
    let info = run("docker", &["info", "--format", "{{.ServerVersion}}"], &[]).await;
    assert!(
        info.success,
        "the docker daemon is not reachable (is dockerd running, and may this user use \
         /var/run/docker.sock?):\n{}",
        info.text
    );
    require_busybox();
}

/// Fails the test unless [`BUSYBOX`] exists.
pub fn require_busybox() {
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
