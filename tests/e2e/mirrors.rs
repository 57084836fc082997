//! Starling in front of registries a team already has, as their mirror.
//!
//! Debian's `docker-registry` (the CNCF distribution registry) on loopback stands in
//! for Docker Hub: it holds `library/mirrored` (an official image) and `team/tool`, as
//! Hub would, pushed with skopeo. The cluster's registry backend says it mirrors
//! `docker.io`, so Starling's one name for the official image is
//! `docker.io/library/mirrored`, and every client reaches it:
//! - containerd with a `hosts.toml` for `docker.io` whose mirror is the agent
//!   (`?ns=docker.io`, name `library/mirrored`);
//! - podman with a `registries.conf` whose `docker.io` mirror is `<agent>/docker.io`
//!   (name `docker.io/library/mirrored`);
//! - skopeo addressing the agent directly as `docker.io/mirrored` (the `library/` rule)
//!   and as `docker.io/team/tool`. (skopeo is not run through `registries.conf`: the
//!   Debian build ignored `CONTAINERS_REGISTRIES_CONF` and tried Docker Hub itself.)
//!
//! In every configuration the primary registry for `docker.io` is a loopback port that
//! refuses connections, so a client that falls back past the agent fails instead of
//! leaving the machine. Without `mirror_of`, as `starling dev --upstream-registry` runs,
//! containerd's `?ns=<upstream host:port>` keeps the upstream's own names.

use std::path::Path;

use starling_core::Digest;
use starling_testkit::clients::arg;
use starling_testkit::oci::{self, Image, Layout};
use starling_testkit::{DistributionRegistry, require_program};
use tokio::net::TcpSocket;

use crate::containerd::{Namespace, require_containerd, write_hosts_toml};
use crate::podman::podman_pull;
use crate::skopeo::skopeo;
use crate::support::Cluster;

/// A loopback port that is bound but never listens: connections to it are refused, and
/// no other process can take it while the socket lives.
struct DeadPort(TcpSocket);

impl DeadPort {
    fn new() -> Self {
        let socket = TcpSocket::new_v4().unwrap();
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        Self(socket)
    }

    fn host(&self) -> String {
        self.0.local_addr().unwrap().to_string()
    }
}

/// The upstream registry with one image pushed under each of `repos` (`name:v1`).
async fn upstream_with(home: &Path, repos: &[&str]) -> (DistributionRegistry, Image) {
    require_program("skopeo", "apt-get install -y skopeo");
    let registry = DistributionRegistry::start(&home.join("upstream"), None).await;
    let source = home.join("source");
    let mut layout = Layout::new(&source);
    let image = layout.image("linux", "amd64", "hello.txt", b"served by the mirror\n");
    layout.tag_image("v1", &image);
    layout.finish();
    let src = format!("oci:{}:v1", arg(&source));
    for repo in repos {
        let dest = format!("docker://{}/{repo}:v1", registry.host());
        skopeo(
            home,
            &[
                "copy",
                "--preserve-digests",
                "--dest-tls-verify=false",
                &src,
                &dest,
            ],
        )
        .await;
    }
    (registry, image)
}

/// A `registries.conf` whose `docker.io` primary is `dead` and whose mirror is the
/// agent with the registry's name as its path.
fn write_registries_conf(path: &Path, dead: &str, agent: &str) {
    let conf = format!(
        "unqualified-search-registries = []\n\n\
         [[registry]]\nprefix = \"docker.io\"\nlocation = \"{dead}\"\ninsecure = true\n\n\
         [[registry.mirror]]\nlocation = \"{agent}/docker.io\"\ninsecure = true\n"
    );
    std::fs::write(path, conf).unwrap();
}

/// Copies `reference` into an OCI layout under `home/out` and returns its manifest digest.
async fn skopeo_digest(home: &Path, reference: &str, out: &str) -> Digest {
    let dest_dir = home.join(out);
    let dest = format!("oci:{}:v1", arg(&dest_dir));
    skopeo(home, &["copy", "--src-tls-verify=false", reference, &dest]).await;
    oci::tagged_digest(&dest_dir, "v1")
}

#[tokio::test]
async fn every_client_reaches_one_name_for_a_docker_hub_image() {
    require_program("podman", "apt-get install -y podman");
    require_containerd();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (upstream, image) = upstream_with(home, &["library/mirrored", "team/tool"]).await;
    let cluster = Cluster::start_with(1, |spec| starling_cluster::ClusterSpec {
        upstream_registry: Some(upstream.url()),
        upstream_mirror_of: Some("docker.io".to_owned()),
        ..spec
    })
    .await;
    let dead = DeadPort::new();
    let agent = cluster.agent(0);

    // containerd: hosts.toml mirror, `?ns=docker.io`.
    let hosts = home.join("certs.d");
    write_hosts_toml(&hosts, "docker.io", &dead.host(), &agent);
    Namespace::new("docker.io/library/mirrored:v1")
        .fetch(&hosts)
        .await;

    // podman: a registries.conf mirror at <agent>/docker.io.
    let conf = home.join("registries.conf");
    write_registries_conf(&conf, &dead.host(), &agent);
    let envs = [
        ("HOME", home),
        ("CONTAINERS_REGISTRIES_CONF", conf.as_path()),
    ];
    let podman = podman_pull(home, &envs, "docker.io/mirrored:v1").await;
    assert_eq!(podman, image.manifest_digest.to_string(), "podman");

    // Directly at the agent, spelled without library/.
    let direct = format!("docker://{agent}/docker.io/mirrored:v1");
    let direct = skopeo_digest(home, &direct, "direct").await;
    assert_eq!(direct, image.manifest_digest, "skopeo at the agent");
    let tool = format!("docker://{agent}/docker.io/team/tool:v1");
    let tool = skopeo_digest(home, &tool, "tool").await;
    assert_eq!(tool, image.manifest_digest, "a Hub image outside library/");

    let metrics = cluster.agent_metrics(0).await;
    assert!(
        metrics.contains("starling_agent_manifests_served_total"),
        "{metrics}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_upstream_of_a_dev_cluster_keeps_its_own_names_under_containerd() {
    require_containerd();
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path();
    let (upstream, _image) = upstream_with(home, &["team/app"]).await;
    let cluster = Cluster::start_with(1, |spec| starling_cluster::ClusterSpec {
        upstream_registry: Some(upstream.url()),
        ..spec
    })
    .await;
    let dead = DeadPort::new();
    // The image is named after the upstream; containerd sends `?ns=127.0.0.1:<port>`,
    // and its fallback server is dead, so only the agent can answer.
    let hosts = home.join("certs.d");
    write_hosts_toml(&hosts, &upstream.host(), &dead.host(), &cluster.agent(0));
    Namespace::new(&format!("{}/team/app:v1", upstream.host()))
        .fetch(&hosts)
        .await;
    cluster.stop().await;
}
