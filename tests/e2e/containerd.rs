//! containerd with the agent as its mirror, configured the way the README tells users
//! to: a `hosts.toml` whose mirror is the agent. The image is named after another
//! registry, `registry.example/team/ctr:1`, so the pull only works if the agent honours
//! the `?ns=registry.example` that containerd sends and looks up the repository
//! `registry.example/team/ctr` (pushed under that name through the proxy). The
//! hosts.toml's fallback `server` is the proxy on loopback, where that path does not
//! exist, so nothing ever leaves the machine. Uses the containerd of the docker engine
//! (its socket under /run/docker/containerd) in a namespace of this run's own, with a
//! random layer, so nothing containerd already holds can answer for the agent; the
//! content and the namespace are removed when the test ends, passed or failed.

use std::path::Path;

use starling_testkit::clients::{arg, run};
use starling_testkit::{BlobFixture, require_program};

use crate::support::Cluster;

const SOCKET: &str = "/run/docker/containerd/containerd.sock";

/// The image the test fetches (named after another registry).
const IMAGE: &str = "registry.example/team/ctr:1";

/// A containerd namespace of this test run: the image record `ctr content fetch` makes
/// for `image`, the content, and the namespace itself are removed when dropped.
pub struct Namespace {
    name: String,
    image: String,
}

impl Namespace {
    pub fn new(image: &str) -> Self {
        let unique = BlobFixture::random(8).digest.to_string();
        Self {
            name: format!("starling-e2e-{}", &unique[7..19]),
            image: image.to_owned(),
        }
    }

    /// `ctr --address SOCKET --namespace <this> args…`.
    pub fn ctr(&self, args: &[&str]) -> Vec<String> {
        let mut all = vec!["--address", SOCKET, "--namespace", &self.name];
        all.extend_from_slice(args);
        all.into_iter().map(str::to_owned).collect()
    }

    /// `ctr content fetch` of the image through the registry hosts under `hosts_dir`.
    pub async fn fetch(&self, hosts_dir: &Path) {
        let hosts = arg(hosts_dir);
        // Test images' layers are no tars, so content is fetched rather than unpacked.
        let fetch = self.ctr(&["content", "fetch", "--hosts-dir", &hosts, &self.image]);
        let fetched = run("ctr", &as_args(&fetch), &[]).await;
        assert!(
            fetched.success,
            "ctr content fetch {} failed:\n{}",
            self.image, fetched.text
        );
    }
}

impl Drop for Namespace {
    fn drop(&mut self) {
        // Blocking is fine here: the test is over. A namespace must be empty to go.
        let ctr = |args: Vec<String>| std::process::Command::new("ctr").args(args).output();
        let _ = ctr(self.ctr(&["images", "rm", "--sync", &self.image]));
        let _ = ctr(self.ctr(&["content", "prune", "references"]));
        let no_namespace = ["--address", SOCKET, "namespaces", "remove", &self.name];
        let _ = ctr(no_namespace.map(str::to_owned).to_vec());
    }
}

/// Fails unless containerd's ctr and the docker engine's containerd socket are here.
pub fn require_containerd() {
    require_program("ctr", "apt-get install -y containerd");
    assert!(
        Path::new(SOCKET).exists(),
        "{SOCKET} is missing: the docker engine's containerd must be running"
    );
}

/// Writes `<dir>/<registry>/hosts.toml` that sends pulls of `registry` to `mirror`,
/// falling back to `server`.
pub fn write_hosts_toml(dir: &Path, registry: &str, server: &str, mirror: &str) {
    let host_dir = dir.join(registry);
    std::fs::create_dir_all(&host_dir).unwrap();
    let toml = format!(
        "server = \"http://{server}\"\n\n[host.\"http://{mirror}\"]\n  capabilities = [\"pull\", \"resolve\"]\n"
    );
    std::fs::write(host_dir.join("hosts.toml"), toml).unwrap();
}

#[tokio::test]
async fn containerd_pulls_through_the_agent_as_a_mirror() {
    require_containerd();
    let cluster = Cluster::start(1).await;
    let layer = BlobFixture::random(64 * 1024);
    cluster
        .push_image("registry.example/team/ctr", "1", &[&layer.data[..]])
        .await;
    let hosts = cluster.path().join("certs.d");
    write_hosts_toml(
        &hosts,
        "registry.example",
        &cluster.proxy(),
        &cluster.agent(0),
    );
    Namespace::new(IMAGE).fetch(&hosts).await;

    let metrics = cluster.agent_metrics(0).await;
    // At least one: containerd resolves with a HEAD and then GETs, or GETs alone,
    // depending on its version and what it has cached; the agent counts both.
    let manifests = counter(&metrics, "starling_agent_manifests_served_total");
    assert!(
        manifests >= 1,
        "containerd resolved the manifest at the agent:\n{metrics}"
    );
    let bytes = counter(&metrics, "starling_agent_blob_bytes_served_total");
    assert!(
        bytes >= layer.len(),
        "containerd fetched the image's layer from the agent:\n{metrics}"
    );
    cluster.stop().await;
}

/// The value of an unlabelled counter in a Prometheus text page (0 if absent).
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

pub fn as_args(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}
