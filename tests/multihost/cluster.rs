//! One cluster of containers on its own network: two origins, a tracker, build-index,
//! proxy and the spec's agents, each a container of the image under test with the
//! config the Helm chart renders for it bind-mounted read-only, the environment its pod
//! would get (`POD_NAME`, `POD_IP`, `HOST_IP`), its state on a named volume, the
//! chart's DNS names as network aliases, at a fixed address (`.10`… origins, `.20`
//! tracker, `.30` build-index, `.40` proxy, `.50`… agents), so a restarted or
//! reconnected container is where the others expect it.
//!
//! Dropping a [`Cluster`] removes its containers, volumes and network, whether the test
//! passed, failed or panicked (after printing the tail of every container's log when
//! it failed). Everything it creates is named `<run prefix>-<n>-…`.

use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use starling_testkit::poll_until;
use tempfile::TempDir;

use crate::configs::{self, Spec};
use crate::docker::{self, Network, docker_ok, run_prefix};

/// How long a component may take to answer `/health` after its container starts.
const START_TIMEOUT: Duration = Duration::from_secs(60);

static CLUSTERS: AtomicUsize = AtomicUsize::new(0);

/// Where the chart mounts its Secret.
const SECRETS_DIR: &str = "/etc/starling/secrets";

/// One component's container.
pub struct Node {
    /// The suite's short name for it, e.g. `origin-0` (also a network alias).
    pub alias: String,
    /// The names the rendered configs use for it (network aliases too).
    pub dns: Vec<String>,
    pub component: &'static str,
    pub ip: Ipv4Addr,
    /// The port serving `/health` and `/metrics`.
    pub admin_port: u16,
}

pub struct Cluster {
    pub spec: Spec,
    pub net: Network,
    pub nodes: Vec<Node>,
    pub http: reqwest::Client,
    prefix: String,
    image: String,
    config_dir: TempDir,
}

impl Cluster {
    /// Starts every component and waits until each answers `/health`.
    pub async fn start(spec: Spec, image: &str) -> Self {
        let n = CLUSTERS.fetch_add(1, Ordering::Relaxed);
        let prefix = format!("{}-{n}", run_prefix());
        let net = Network::create(&format!("{prefix}-net")).await;
        let config_dir = tempfile::tempdir().unwrap();
        // The containers' user (65532) reads the bind-mounted files.
        set_mode(config_dir.path(), 0o755);
        let mut cluster = Self {
            spec,
            nodes: Vec::new(),
            http: reqwest::Client::builder()
                .no_proxy()
                .connect_timeout(Duration::from_secs(5))
                .build()
                .unwrap(),
            prefix,
            image: image.to_owned(),
            config_dir,
            net,
        };
        cluster.start_all().await;
        cluster
    }

    async fn start_all(&mut self) {
        let spec = self.spec;
        let rendered = tokio::task::spawn_blocking(move || configs::Rendered::render(&spec))
            .await
            .unwrap();
        self.write_secrets(&rendered.secrets);
        let mut plan = Vec::new();
        for k in 0..configs::ORIGINS {
            let ip = self.net.host(10 + k as u8);
            plan.push((
                configs::origin_name(k),
                "origin",
                k,
                ip,
                configs::ORIGIN_PORT,
            ));
        }
        plan.push((
            "tracker".into(),
            "tracker",
            0,
            self.net.host(20),
            configs::TRACKER_PORT,
        ));
        plan.push((
            "build-index".into(),
            "build-index",
            0,
            self.net.host(30),
            configs::BUILD_INDEX_PORT,
        ));
        plan.push((
            "proxy".into(),
            "proxy",
            0,
            self.net.host(40),
            configs::PROXY_PORT,
        ));
        for k in 0..spec.agents {
            let ip = self.agent_ip(k);
            plan.push((
                configs::agent_name(k),
                "agent",
                k,
                ip,
                configs::AGENT_ADMIN_PORT,
            ));
        }
        for (alias, component, k, ip, admin_port) in plan {
            let node = Node {
                alias,
                dns: configs::dns_names(component, k),
                component,
                ip,
                admin_port,
            };
            let env = [
                ("POD_NAME", configs::pod_name(component, k)),
                ("POD_IP", ip.to_string()),
                ("HOST_IP", ip.to_string()),
            ];
            self.launch(node, rendered.config(component), &env).await;
        }
        for k in 0..self.nodes.len() {
            let alias = self.nodes[k].alias.clone();
            self.wait_healthy(&alias).await;
        }
    }

    /// The Secret's files under `<config dir>/secrets`, mounted where the chart mounts
    /// them (`STARLING_SECRETS_DIR`); readable by the containers' user, as with the
    /// chart's `defaultMode` and group.
    fn write_secrets(&self, secrets: &std::collections::BTreeMap<String, Vec<u8>>) {
        let dir = self.config_dir.path().join("secrets");
        std::fs::create_dir_all(&dir).unwrap();
        set_mode(&dir, 0o755);
        for (name, data) in secrets {
            let path = dir.join(name);
            std::fs::write(&path, data).unwrap();
            set_mode(&path, 0o644);
        }
    }

    /// The cluster's token, which writes to origins and build-index need.
    pub fn token(&self) -> String {
        let path = self.config_dir.path().join("secrets/cluster-token");
        std::fs::read_to_string(path).expect("the chart's Secret holds the cluster token")
    }

    /// `docker run` of one component with its pod's environment; its config goes to
    /// `<config dir>/<alias>.yaml`.
    async fn launch(&mut self, node: Node, yaml: &str, env: &[(&str, String)]) {
        let config = self.config_dir.path().join(format!("{}.yaml", node.alias));
        std::fs::write(&config, yaml).unwrap();
        set_mode(&config, 0o644);
        let name = self.container(&node.alias);
        let ip_text = node.ip.to_string();
        let volume = format!("type=volume,src={name},dst=/var/lib/starling");
        let bind = format!(
            "type=bind,src={},dst=/etc/starling/config.yaml,readonly",
            config.display()
        );
        let mut args: Vec<String> = ["run", "-d", "--name", &name, "--hostname", &node.alias]
            .map(String::from)
            .to_vec();
        args.extend([
            "--network".into(),
            self.net.name.clone(),
            "--ip".into(),
            ip_text,
        ]);
        for alias in std::iter::once(&node.alias).chain(&node.dns) {
            args.extend(["--network-alias".into(), alias.clone()]);
        }
        for (key, value) in env {
            args.extend(["--env".into(), format!("{key}={value}")]);
        }
        let secrets = format!(
            "type=bind,src={},dst={SECRETS_DIR},readonly",
            self.config_dir.path().join("secrets").display()
        );
        args.extend([
            "--env".into(),
            format!("STARLING_SECRETS_DIR={SECRETS_DIR}"),
        ]);
        args.extend(["--mount".into(), volume, "--mount".into(), bind]);
        args.extend(["--mount".into(), secrets]);
        args.extend([self.image.clone(), node.component.into()]);
        args.extend(["--config".into(), "/etc/starling/config.yaml".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        docker_ok(&args).await;
        self.nodes.push(node);
    }

    /// The container name of the component known as `alias`.
    pub fn container(&self, alias: &str) -> String {
        format!("{}-{alias}", self.prefix)
    }

    pub fn node(&self, alias: &str) -> &Node {
        self.nodes
            .iter()
            .find(|n| n.alias == alias)
            .unwrap_or_else(|| panic!("no component {alias}"))
    }

    pub fn agent_ip(&self, k: usize) -> Ipv4Addr {
        self.net.host(50 + k as u8)
    }

    /// `<ip>:15000`, the proxy as an image reference names it.
    pub fn proxy_registry(&self) -> String {
        format!("{}:{}", self.node("proxy").ip, configs::PROXY_PORT)
    }

    /// `<ip>:16000`, agent `k`'s registry API.
    pub fn agent_registry(&self, k: usize) -> String {
        format!("{}:{}", self.agent_ip(k), configs::AGENT_REGISTRY_PORT)
    }

    /// `http://<ip>:<port><path>` of `alias`'s admin (or only) port.
    pub fn admin_url(&self, alias: &str, path: &str) -> String {
        let node = self.node(alias);
        format!("http://{}:{}{path}", node.ip, node.admin_port)
    }

    /// The Prometheus text of `alias`'s `/metrics`.
    pub async fn metrics(&self, alias: &str) -> String {
        let url = self.admin_url(alias, "/metrics");
        let response = self.http.get(&url).send().await;
        let response = response.unwrap_or_else(|e| panic!("GET {url}: {e}"));
        response.text().await.unwrap()
    }

    /// Polls `alias`'s `/health` until it answers 200.
    pub async fn wait_healthy(&self, alias: &str) {
        let url = self.admin_url(alias, "/health");
        let http = &self.http;
        let healthy = poll_until(START_TIMEOUT, || async {
            let response = http.get(&url).timeout(Duration::from_secs(2)).send().await;
            response.is_ok_and(|r| r.status().is_success())
        })
        .await;
        assert!(
            healthy,
            "{alias} did not answer {url} within {START_TIMEOUT:?}"
        );
    }

    /// `docker kill` (SIGKILL) of `alias`.
    pub async fn kill(&self, alias: &str) {
        docker_ok(&["kill", &self.container(alias)]).await;
    }

    /// Starts a killed `alias` again (same address, same volume) and waits for it.
    pub async fn restart_killed(&self, alias: &str) {
        docker_ok(&["start", &self.container(alias)]).await;
        self.wait_healthy(alias).await;
    }

    /// Takes `alias` off the network: its connections stall, nothing reaches it.
    pub async fn disconnect(&self, alias: &str) {
        docker_ok(&[
            "network",
            "disconnect",
            &self.net.name,
            &self.container(alias),
        ])
        .await;
    }

    /// Puts `alias` back on the network at its address and under its names.
    pub async fn reconnect(&self, alias: &str) {
        let node = self.node(alias);
        let ip = node.ip.to_string();
        let name = self.container(alias);
        let mut args = vec!["network", "connect", "--ip", &ip];
        for alias in std::iter::once(&node.alias).chain(&node.dns) {
            args.extend(["--alias", alias.as_str()]);
        }
        args.extend([self.net.name.as_str(), name.as_str()]);
        docker_ok(&args).await;
    }

    /// The last lines of every container's log.
    fn dump_logs(&self) {
        for node in &self.nodes {
            let name = self.container(&node.alias);
            let out = std::process::Command::new("docker")
                .args(["logs", "--tail", "40", &name])
                .output();
            if let Ok(out) = out {
                eprintln!(
                    "---- {name} ({}) ----\n{}{}",
                    node.component,
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if std::thread::panicking() {
            self.dump_logs();
        }
        let filter = format!("name={}-", self.prefix);
        let containers = docker::blocking(&["ps", "-aq", "--filter", &filter]);
        for id in containers.split_whitespace() {
            docker::blocking(&["rm", "-f", "-v", id]);
        }
        let volumes = docker::blocking(&["volume", "ls", "-q", "--filter", &filter]);
        for volume in volumes.split_whitespace() {
            docker::blocking(&["volume", "rm", "-f", volume]);
        }
        docker::blocking(&["network", "rm", &self.net.name]);
    }
}

fn set_mode(path: &std::path::Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}
