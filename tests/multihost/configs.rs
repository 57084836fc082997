//! Each component's YAML as an operator would write it for hosts on one network:
//! listeners on `0.0.0.0`, other components by DNS name (the containers' network
//! aliases), ring host strings spelled the same in every file, origins advertising
//! their names, agents advertising their own address, the tracker trusting `ip=` from
//! the cluster's subnet. Paths are inside the container: state under
//! `/var/lib/starling` (a volume per container).

/// The origin ring's size; `Spec::replicas` says how many of them hold each blob.
pub const ORIGINS: usize = 2;

pub const PROXY_PORT: u16 = 15000;
pub const ORIGIN_PEER_PORT: u16 = 15001;
pub const ORIGIN_PORT: u16 = 15002;
pub const TRACKER_PORT: u16 = 15003;
pub const BUILD_INDEX_PORT: u16 = 15004;
pub const AGENT_REGISTRY_PORT: u16 = 16000;
pub const AGENT_PEER_PORT: u16 = 16001;
pub const AGENT_ADMIN_PORT: u16 = 16002;

/// What varies between the tests' clusters.
#[derive(Clone, Copy, Debug)]
pub struct Spec {
    /// Origins holding each blob (the ring's `replicas`).
    pub replicas: usize,
    pub agents: usize,
    /// Cap on origins' uploads and on agents' uploads and downloads, e.g. `2MiB/s`.
    pub rate: &'static str,
}

/// What a config refers to besides the spec: the subnet and the host's address on it.
pub struct Network {
    pub subnet: String,
    pub gateway: String,
    /// Agent `k`'s IP, which it advertises to peers.
    pub agent_ips: Vec<String>,
}

pub fn origin_name(k: usize) -> String {
    format!("origin-{k}")
}

pub fn agent_name(k: usize) -> String {
    format!("agent-{k}")
}

/// The origin ring as every component writes it.
fn origin_ring(spec: &Spec) -> String {
    let hosts: Vec<String> = (0..ORIGINS)
        .map(|k| format!("{}:{ORIGIN_PORT}", origin_name(k)))
        .collect();
    format!(
        "  hosts: [{}]\n  replicas: {}\n  health_check: {{interval: 1s, timeout: 1s, fails: 2, passes: 1}}\n",
        hosts.join(", "),
        spec.replicas
    )
}

pub fn origin(spec: &Spec, k: usize) -> String {
    format!(
        "listen: 0.0.0.0:{ORIGIN_PORT}
advertise: {name}:{ORIGIN_PORT}
peer:
  listen: 0.0.0.0:{ORIGIN_PEER_PORT}
  egress_rate: {rate}
store:
  root: /var/lib/starling/store
backends:
  - namespace: .*
    backend: {{type: filesystem, root: /var/lib/starling/backend}}
cluster:
{ring}",
        name = origin_name(k),
        rate = spec.rate,
        ring = origin_ring(spec),
    )
}

pub fn tracker(spec: &Spec, net: &Network) -> String {
    format!(
        "listen: 0.0.0.0:{TRACKER_PORT}
advertise: tracker:{TRACKER_PORT}
trackers: [tracker:{TRACKER_PORT}]
announce_interval: 5s
peer_ttl: 15s
trusted_networks: [{subnet}]
origins:
{ring}",
        subnet = net.subnet,
        ring = origin_ring(spec),
    )
}

pub fn build_index(spec: &Spec) -> String {
    format!(
        "listen: 0.0.0.0:{BUILD_INDEX_PORT}
advertise: build-index:{BUILD_INDEX_PORT}
database: /var/lib/starling/tags.db
backends:
  - namespace: .*
    backend: {{type: filesystem, root: /var/lib/starling/tags}}
origins:
{ring}",
        ring = origin_ring(spec),
    )
}

pub fn proxy(spec: &Spec) -> String {
    format!(
        "listen: 0.0.0.0:{PROXY_PORT}
build_index: [build-index:{BUILD_INDEX_PORT}]
upload_dir: /var/lib/starling/uploads
origins:
{ring}",
        ring = origin_ring(spec),
    )
}

pub fn agent(spec: &Spec, net: &Network, k: usize) -> String {
    format!(
        "registry_listen: 0.0.0.0:{AGENT_REGISTRY_PORT}
admin_listen: 0.0.0.0:{AGENT_ADMIN_PORT}
peer:
  listen: 0.0.0.0:{AGENT_PEER_PORT}
  advertise: {ip}:{AGENT_PEER_PORT}
  ingress_rate: {rate}
  egress_rate: {rate}
  stall_timeout: 5s
  announce_interval: 5s
store:
  root: /var/lib/starling/store
trackers: [tracker:{TRACKER_PORT}]
build_index: [build-index:{BUILD_INDEX_PORT}]
allowed_clients: [{gateway}]
cluster_registries: [proxy:{PROXY_PORT}]
",
        ip = net.agent_ips[k],
        rate = spec.rate,
        gateway = net.gateway,
    )
}
