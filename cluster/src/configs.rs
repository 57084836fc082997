//! The configuration of every component of a local cluster, from its spec and the
//! addresses bound for it. Plain values: `starling dev` prints where things are from
//! them, and a test can check them without starting anything.
//!
//! Every origin is a member of one ring (`spec.replicas` copies of each blob) that the
//! tracker, build-index and proxy share; each origin keeps its own store under
//! `origin-{k}/` and all of them share the one backend, as origins of a deployment
//! share their object store.

use std::net::SocketAddr;
use std::path::Path;

use starling_config::pull_auth::RepoPattern;
use starling_config::{
    AgentConfig, AuthConfig, BackendConfig, BuildIndexConfig, ClientTlsConfig, ClusterConfig,
    NamespaceBackend, NotificationEndpoint, NotificationsConfig, OriginConfig, P2pConfig,
    ProxyConfig, PullAuthConfig, StoreConfig, TlsConfig, TrackerConfig,
};
use starling_core::registry_name::registry_component;
use starling_runtime::ClusterToken;

use crate::spec::ClusterSpec;
use crate::tls::TlsLayout;

/// The addresses of a cluster's listeners, bound before the configs are written.
#[derive(Debug, Clone)]
pub struct BoundAddrs {
    pub proxy: SocketAddr,
    /// HTTP address of each origin.
    pub origins: Vec<SocketAddr>,
    /// Where each origin's peer port is to be bound (port 0: any).
    pub origin_peers: Vec<SocketAddr>,
    pub tracker: SocketAddr,
    pub build_index: SocketAddr,
    /// Registry, peer and admin address of each agent.
    pub agents: Vec<[SocketAddr; 3]>,
}

/// One config per component.
#[derive(Debug, Clone)]
pub struct ClusterConfigs {
    pub proxy: ProxyConfig,
    pub origins: Vec<OriginConfig>,
    pub tracker: TrackerConfig,
    pub build_index: BuildIndexConfig,
    pub agents: Vec<AgentConfig>,
}

impl ClusterConfigs {
    /// The configs of `spec` on `addrs`; origins, build-index and proxy share `token`.
    pub fn build(spec: &ClusterSpec, addrs: &BoundAddrs, token: &ClusterToken) -> Self {
        let dir = &spec.data_dir;
        let auth = AuthConfig::with_token(token.as_str());
        let ring = ClusterConfig {
            replicas: spec.replicas,
            ..ClusterConfig::with_hosts(addrs.origins.iter().map(ToString::to_string))
        };
        let backends = backends(spec, dir);
        let origins = addrs
            .origins
            .iter()
            .zip(&addrs.origin_peers)
            .enumerate()
            .map(|(k, (&listen, &peer))| {
                let mut p2p = P2pConfig::with_listen(peer);
                p2p.egress_rate = spec.origin_rate;
                OriginConfig {
                    listen,
                    peer: p2p,
                    store: StoreConfig::with_root(dir.join(format!("origin-{k}/store"))),
                    backends: backends.clone(),
                    cluster: ring.clone(),
                    advertise: listen.to_string(),
                    auth: auth.clone(),
                    ..OriginConfig::default()
                }
            })
            .collect::<Vec<_>>();
        let tls = spec.tls.then(|| TlsLayout::new(dir));
        let origins = origins
            .into_iter()
            .enumerate()
            .map(|(k, origin)| with_tls(origin, tls.as_ref(), &format!("origin-{k}")))
            .collect();
        let tracker = TrackerConfig {
            listen: addrs.tracker,
            origins: ring.clone(),
            advertise: addrs.tracker.to_string(),
            ..TrackerConfig::default()
        };
        let tracker = with_tls(tracker, tls.as_ref(), "tracker");
        let build_index = BuildIndexConfig {
            listen: addrs.build_index,
            database: dir.join("build-index/tags.db"),
            backends,
            advertise: addrs.build_index.to_string(),
            origins: ring.clone(),
            auth: auth.clone(),
            ..BuildIndexConfig::default()
        };
        let build_index = with_tls(build_index, tls.as_ref(), "build-index");
        let proxy = ProxyConfig {
            listen: addrs.proxy,
            origins: ring,
            build_index: vec![addrs.build_index.to_string()],
            upload_dir: dir.join("proxy/uploads"),
            htpasswd: spec.proxy_htpasswd.clone(),
            auth,
            notifications: proxy_notifications(spec, addrs),
            ..ProxyConfig::default()
        };
        let proxy = with_tls(proxy, tls.as_ref(), "proxy");
        let agents = addrs
            .agents
            .iter()
            .enumerate()
            .map(|(k, &listen)| agent(spec, addrs, k, listen))
            .collect();
        Self {
            proxy,
            origins,
            tracker,
            build_index,
            agents,
        }
    }
}

/// The names of the components that get a certificate in a TLS cluster.
pub fn tls_names(spec: &ClusterSpec) -> Vec<String> {
    let services = ["tracker", "build-index", "proxy"].map(str::to_owned);
    (0..spec.origins)
        .map(|k| format!("origin-{k}"))
        .chain(services)
        .chain((0..spec.agents).map(|k| format!("agent-{k}")))
        .collect()
}

/// A component config that can carry `tls:` and `client_tls:`.
trait WithTls {
    /// Its listeners require client certificates (internal services only).
    const MUTUAL: bool;
    fn set_tls(&mut self, tls: TlsConfig, client: ClientTlsConfig);
}

macro_rules! with_tls_fields {
    ($($config:ty => $mutual:expr),* $(,)?) => {$(
        impl WithTls for $config {
            const MUTUAL: bool = $mutual;
            fn set_tls(&mut self, tls: TlsConfig, client: ClientTlsConfig) {
                self.tls = tls;
                self.client_tls = client;
            }
        }
    )*};
}

with_tls_fields! {
    OriginConfig => true,
    TrackerConfig => true,
    BuildIndexConfig => true,
    // docker and containerd push to the proxy and pull from agents without a
    // client certificate.
    ProxyConfig => false,
    AgentConfig => false,
}

/// `config` as component `name` of a TLS cluster (unchanged without one).
fn with_tls<C: WithTls>(mut config: C, tls: Option<&TlsLayout>, name: &str) -> C {
    if let Some(layout) = tls {
        config.set_tls(layout.server(name, C::MUTUAL), layout.client(name));
    }
    config
}

/// Agent `k` of the cluster, listening on `[registry, peer, admin]`: its store under
/// `agent-{k}/store` in the data dir, the spec's rate on both directions.
pub fn agent(
    spec: &ClusterSpec,
    addrs: &BoundAddrs,
    k: usize,
    [registry, peer, admin]: [SocketAddr; 3],
) -> AgentConfig {
    let mut p2p = P2pConfig::with_listen(peer);
    p2p.ingress_rate = spec.agent_rate;
    p2p.egress_rate = spec.agent_rate;
    let tls = spec.tls.then(|| TlsLayout::new(&spec.data_dir));
    let tracker = match tls {
        Some(_) => format!("https://{}", addrs.tracker),
        None => addrs.tracker.to_string(),
    };
    let agent = AgentConfig {
        registry_listen: registry,
        admin_listen: admin,
        peer: p2p,
        store: StoreConfig::with_root(spec.data_dir.join(format!("agent-{k}/store"))),
        trackers: vec![tracker],
        build_index: vec![addrs.build_index.to_string()],
        cluster_registries: cluster_registries(spec, addrs),
        preheat: spec.preheat.clone().unwrap_or_default(),
        pull_auth: pull_auth(spec, addrs),
        ..AgentConfig::default()
    };
    // An extra agent (run elsewhere) has no certificate of its own: it uses the tools'.
    let name = if k < spec.agents {
        format!("agent-{k}")
    } else {
        crate::tls::CLIENT.to_owned()
    };
    with_tls(agent, tls.as_ref(), &name)
}

/// With `spec.proxy_notifications`, origin 0's receiver, reached with the cluster token.
fn proxy_notifications(spec: &ClusterSpec, addrs: &BoundAddrs) -> NotificationsConfig {
    let scheme = if spec.tls { "https" } else { "http" };
    let endpoints = spec
        .proxy_notifications
        .then(|| NotificationEndpoint {
            name: "origin-0".to_owned(),
            url: format!("{scheme}://{}/notifications", addrs.origins[0]),
            cluster_token: true,
            ..NotificationEndpoint::default()
        })
        .into_iter()
        .collect();
    NotificationsConfig { endpoints }
}

/// The spec's private repositories, checked against the cluster's proxy.
fn pull_auth(spec: &ClusterSpec, addrs: &BoundAddrs) -> PullAuthConfig {
    let scheme = if spec.tls { "https" } else { "http" };
    PullAuthConfig {
        repositories: spec
            .private_repositories
            .iter()
            .map(|p| RepoPattern::new(p).expect("private repository patterns are checked"))
            .collect(),
        registry: (!spec.private_repositories.is_empty())
            .then(|| format!("{scheme}://{}", addrs.proxy)),
        ..PullAuthConfig::default()
    }
}

/// Blobs and tags: the filesystem under the data dir, or the upstream registry (for
/// every repository, or, as a mirror, for those under the mirrored registry's name).
fn backends(spec: &ClusterSpec, dir: &Path) -> Vec<NamespaceBackend> {
    let filesystem = |namespace: &str| {
        NamespaceBackend::filesystem(namespace, dir.join("backend"))
            .expect("a valid namespace pattern")
    };
    let Some(url) = &spec.upstream_registry else {
        return vec![filesystem(".*")];
    };
    let registry = BackendConfig::Registry {
        url: url.clone(),
        username: None,
        password: None,
        password_file: None,
        timeout: starling_config::backend::default_registry_timeout(),
        mirror_of: spec.upstream_mirror_of.clone(),
    };
    match &spec.upstream_mirror_of {
        None => vec![NamespaceBackend {
            backend: registry,
            ..filesystem(".*")
        }],
        Some(mirrored) => {
            let component = registry_component(mirrored).unwrap_or_else(|_| mirrored.clone());
            let mirrored = format!("{}/.*", regex::escape(&component));
            vec![
                NamespaceBackend {
                    backend: registry,
                    ..filesystem(&mirrored)
                },
                filesystem(".*"),
            ]
        }
    }
}

/// The names containerd gives in `?ns=` for images of this cluster: its proxy's
/// addresses, and the upstream registry's `host:port` when the cluster fronts one
/// registry as its source of truth (not as a mirror).
fn cluster_registries(spec: &ClusterSpec, addrs: &BoundAddrs) -> Vec<String> {
    let mut registries = vec![
        addrs.proxy.to_string(),
        format!("localhost:{}", addrs.proxy.port()),
    ];
    if spec.upstream_mirror_of.is_none()
        && let Some(url) = &spec.upstream_registry
        && let Ok(url) = reqwest::Url::parse(url)
        && let Some(host) = url.host_str()
    {
        registries.push(match url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        });
    }
    registries
}

#[cfg(test)]
mod tests {
    use starling_config::ByteRate;

    use super::*;
    use crate::spec::PortPlan;

    fn loopback(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    #[test]
    fn an_extra_agent_joins_like_the_others_with_its_own_store() {
        let spec = ClusterSpec {
            ports: PortPlan::Ephemeral,
            agent_rate: Some(ByteRate::mib_per_sec(8)),
            ..ClusterSpec::dev("/data", 1)
        };
        let addrs = BoundAddrs {
            proxy: loopback(1),
            origins: vec![loopback(2), loopback(8)],
            origin_peers: vec![loopback(0), loopback(0)],
            tracker: loopback(3),
            build_index: loopback(4),
            agents: vec![[loopback(5), loopback(6), loopback(7)]],
        };
        let configs = ClusterConfigs::build(&spec, &addrs, &ClusterToken::generate());
        let member = &configs.agents[0];
        let extra = agent(&spec, &addrs, 1, [loopback(0); 3]);
        assert_eq!(extra.trackers, ["127.0.0.1:3"]);
        assert_eq!(extra.trackers, member.trackers);
        assert_eq!(extra.build_index, member.build_index);
        assert_eq!(extra.cluster_registries, member.cluster_registries);
        assert_eq!(extra.peer.ingress_rate, Some(ByteRate::mib_per_sec(8)));
        assert_eq!(extra.peer.egress_rate, member.peer.egress_rate);
        assert_eq!(extra.registry_listen, loopback(0));
        assert_eq!(member.store.root, Path::new("/data/agent-0/store"));
        assert_eq!(extra.store.root, Path::new("/data/agent-1/store"));
    }

    #[test]
    fn an_upstream_is_a_cluster_registry_unless_it_is_mirrored() {
        let addrs = BoundAddrs {
            proxy: loopback(1),
            origins: vec![loopback(2)],
            origin_peers: vec![loopback(0)],
            tracker: loopback(3),
            build_index: loopback(4),
            agents: vec![],
        };
        let fronting = ClusterSpec {
            upstream_registry: Some("http://127.0.0.1:5000".to_owned()),
            ..ClusterSpec::dev("/data", 1)
        };
        let registries = cluster_registries(&fronting, &addrs);
        assert!(
            registries.contains(&"127.0.0.1:5000".to_owned()),
            "{registries:?}"
        );
        assert_eq!(backends(&fronting, Path::new("/data")).len(), 1);

        let mirroring = ClusterSpec {
            upstream_mirror_of: Some("docker.io".to_owned()),
            ..fronting
        };
        let registries = cluster_registries(&mirroring, &addrs);
        assert!(
            !registries.contains(&"127.0.0.1:5000".to_owned()),
            "{registries:?}"
        );
        let backends = backends(&mirroring, Path::new("/data"));
        assert_eq!(backends[0].backend.kind(), "registry");
        assert!(backends[0].namespace.is_match("docker.io/library/alpine"));
        assert!(!backends[0].namespace.is_match("team/app"));
        assert_eq!(backends[1].backend.kind(), "filesystem");
    }

    #[test]
    fn every_origin_is_on_one_ring_with_its_own_store() {
        let spec = ClusterSpec {
            ports: PortPlan::Ephemeral,
            ..ClusterSpec::dev("/data", 0)
        };
        let addrs = BoundAddrs {
            proxy: loopback(1),
            origins: vec![loopback(2), loopback(8)],
            origin_peers: vec![loopback(0), loopback(9)],
            tracker: loopback(3),
            build_index: loopback(4),
            agents: Vec::new(),
        };
        let configs = ClusterConfigs::build(&spec, &addrs, &ClusterToken::generate());
        let hosts = ["127.0.0.1:2", "127.0.0.1:8"];
        assert_eq!(configs.origins.len(), 2);
        for (k, origin) in configs.origins.iter().enumerate() {
            assert_eq!(origin.cluster.hosts, hosts);
            assert_eq!(origin.cluster.replicas, 2);
            assert_eq!(origin.advertise, hosts[k]);
            let root = format!("/data/origin-{k}/store");
            assert_eq!(origin.store.root, Path::new(&root));
            let backends = format!("{:?}", origin.backends);
            assert_eq!(backends, format!("{:?}", configs.origins[0].backends));
        }
        assert_eq!(configs.origins[1].peer.listen, loopback(9));
        assert_eq!(configs.tracker.origins, configs.origins[0].cluster);
        assert_eq!(configs.proxy.origins, configs.origins[0].cluster);
        assert_eq!(configs.build_index.origins, configs.origins[0].cluster);
        assert!(
            configs.proxy.auth.token().is_some(),
            "writes are authenticated"
        );
        assert_eq!(configs.proxy.auth, configs.origins[1].auth);
        assert_eq!(configs.proxy.auth, configs.build_index.auth);
    }

    #[test]
    fn a_tls_cluster_serves_mutual_tls_inside_and_tls_to_runtimes() {
        let spec = ClusterSpec {
            ports: PortPlan::Ephemeral,
            tls: true,
            ..ClusterSpec::dev("/data", 1)
        };
        let addrs = BoundAddrs {
            proxy: loopback(1),
            origins: vec![loopback(2), loopback(8)],
            origin_peers: vec![loopback(0), loopback(0)],
            tracker: loopback(3),
            build_index: loopback(4),
            agents: vec![[loopback(5), loopback(6), loopback(7)]],
        };
        let configs = ClusterConfigs::build(&spec, &addrs, &ClusterToken::generate());
        let ca = Some(Path::new("/data/tls/ca.pem").to_owned());
        let origin = &configs.origins[1];
        assert_eq!(origin.tls.cert_file, Some("/data/tls/origin-1.pem".into()));
        assert_eq!(origin.tls.client_ca_file, ca);
        assert_eq!(
            origin.client_tls.key_file,
            Some("/data/tls/origin-1.key".into())
        );
        assert_eq!(configs.tracker.tls.client_ca_file, ca);
        assert_eq!(configs.build_index.tls.client_ca_file, ca);
        assert_eq!(configs.proxy.tls.client_ca_file, None, "docker pushes");
        assert!(configs.proxy.client_tls.enabled());
        let agent = &configs.agents[0];
        assert_eq!(agent.tls.client_ca_file, None, "docker pulls");
        assert_eq!(
            agent.client_tls.cert_file,
            Some("/data/tls/agent-0.pem".into())
        );
        assert_eq!(agent.trackers, ["https://127.0.0.1:3"]);
        assert_eq!(
            tls_names(&spec),
            [
                "origin-0",
                "origin-1",
                "tracker",
                "build-index",
                "proxy",
                "agent-0"
            ]
        );
        let plain = ClusterConfigs::build(
            &ClusterSpec { tls: false, ..spec },
            &addrs,
            &ClusterToken::generate(),
        );
        assert!(!plain.origins[0].tls.enabled() && !plain.agents[0].client_tls.enabled());
        assert_eq!(plain.agents[0].trackers, ["127.0.0.1:3"]);
    }
}
