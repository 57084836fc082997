//! Each component's YAML exactly as the Helm chart renders it (`scripts/render-chart`
//! with `chart-values.yaml` and the spec's `--set`s), so the suite runs the configs a
//! Kubernetes install runs: listeners on `0.0.0.0`, rings of stable DNS names
//! (`starling-origin-0.starling-origin.mh.svc.cluster.local:15002`, which the
//! containers carry as network aliases), per-pod values as `${VAR}` placeholders the
//! binary expands from the container's environment (`POD_NAME`, `HOST_IP`), the
//! tracker trusting `ip=` from the suite's networks. Paths are the chart's, inside the
//! container: state under `/var/lib/starling` (a volume per container).

use std::collections::BTreeMap;
use std::path::Path;

/// The origin ring's size (`origin.replicas` in `chart-values.yaml`); `Spec::replicas`
/// says how many of them hold each blob.
pub const ORIGINS: usize = 2;

pub const PROXY_PORT: u16 = 15000;
pub const ORIGIN_PORT: u16 = 15002;
pub const TRACKER_PORT: u16 = 15003;
pub const BUILD_INDEX_PORT: u16 = 15004;
pub const AGENT_REGISTRY_PORT: u16 = 16000;
pub const AGENT_ADMIN_PORT: u16 = 16002;

/// The release's names: `fullnameOverride` in `chart-values.yaml` and the namespace
/// the suite renders for.
const FULLNAME: &str = "starling";
const NAMESPACE: &str = "mh";

/// What varies between the tests' clusters.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Origins holding each blob (the ring's `replicas`).
    pub replicas: usize,
    pub agents: usize,
    /// Cap on origins' uploads and on agents' uploads and downloads, e.g. `2MiB/s`.
    pub rate: &'static str,
}

pub fn origin_name(k: usize) -> String {
    format!("origin-{k}")
}

pub fn agent_name(k: usize) -> String {
    format!("agent-{k}")
}

/// The pod name a component's `${POD_NAME}` stands for (StatefulSet pods `-<k>`).
pub fn pod_name(component: &str, k: usize) -> String {
    format!("{FULLNAME}-{component}-{k}")
}

/// The DNS names other components reach `component`'s pod `k` by in the rendered
/// configs: its Service name, and for StatefulSets its own pod name under it.
pub fn dns_names(component: &str, k: usize) -> Vec<String> {
    let service = format!("{FULLNAME}-{component}");
    let suffix = format!("{NAMESPACE}.svc.cluster.local");
    match component {
        "origin" | "build-index" => vec![format!("{}.{service}.{suffix}", pod_name(component, k))],
        _ => vec![format!("{service}.{suffix}")],
    }
}

/// The rendered config of every component.
pub struct Rendered {
    configs: BTreeMap<String, String>,
    /// The credentials Secret's files (file name → content): the cluster token at least.
    pub secrets: BTreeMap<String, Vec<u8>>,
}

impl Rendered {
    /// Renders the chart for `spec` (runs python3; installs its pinned packages if needed).
    pub fn render(spec: &Spec) -> Self {
        let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = tempfile::tempdir().unwrap();
        let sets = [
            format!("origin.ringReplicas={}", spec.replicas),
            format!("origin.config.peer.egress_rate={}", spec.rate),
            format!("agent.config.peer.ingress_rate={}", spec.rate),
            format!("agent.config.peer.egress_rate={}", spec.rate),
        ];
        let mut command = std::process::Command::new("python3");
        command
            .arg(repo.join("scripts/render-chart"))
            .arg("--out")
            .arg(out.path())
            .arg("--values")
            .arg(repo.join("tests/multihost/chart-values.yaml"))
            .args(["--namespace", NAMESPACE]);
        for set in &sets {
            command.args(["--set", set]);
        }
        let result = command.output().expect("python3 runs scripts/render-chart");
        assert!(
            result.status.success(),
            "scripts/render-chart failed: {}",
            String::from_utf8_lossy(&result.stderr)
        );
        let configs = ["origin", "tracker", "build-index", "proxy", "agent"]
            .into_iter()
            .map(|c| {
                let text = std::fs::read_to_string(out.path().join(format!("{c}.yaml")));
                (c.to_owned(), text.expect("render-chart wrote every config"))
            })
            .collect();
        let secrets = std::fs::read_dir(out.path().join("secrets"))
            .expect("render-chart wrote the Secret's files")
            .map(|entry| {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                (name, std::fs::read(&path).unwrap())
            })
            .collect();
        let rendered = Self { configs, secrets };
        rendered.assert_names(spec);
        rendered
    }

    pub fn config(&self, component: &str) -> &str {
        &self.configs[component]
    }

    /// The names the suite gives containers are the ones the configs use, or the
    /// chart's naming changed and the suite would start a cluster nobody can reach.
    fn assert_names(&self, spec: &Spec) {
        let origins: Vec<String> = (0..ORIGINS)
            .map(|k| format!("{}:{ORIGIN_PORT}", dns_names("origin", k)[0]))
            .collect();
        let ring = format!(
            "hosts:\n  - {}\n  replicas: {}",
            origins.join("\n  - "),
            spec.replicas
        );
        for component in ["tracker", "build-index", "proxy"] {
            assert!(
                self.config(component).contains(&ring),
                "{component}:\n{}",
                self.config(component)
            );
        }
        let build_index = format!("{}:{BUILD_INDEX_PORT}", dns_names("build-index", 0)[0]);
        let tracker = format!("{}:{TRACKER_PORT}", dns_names("tracker", 0)[0]);
        for (component, name) in [
            ("agent", &build_index),
            ("agent", &tracker),
            ("proxy", &build_index),
        ] {
            assert!(
                self.config(component).contains(name.as_str()),
                "{component} lacks {name}"
            );
        }
        assert!(self.config("origin").contains("advertise: ${POD_NAME}."));
        assert!(self.config("agent").contains("advertise: ${HOST_IP}:16001"));
    }
}
