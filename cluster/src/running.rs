//! [`LocalCluster`]: start every component on listeners bound up front, wait until each
//! is ready, stop them all on one token.

use std::net::SocketAddr;
use std::time::Duration;

use starling_agent::AgentListeners;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use starling_config::{AgentConfig, ClientTlsConfig};
use starling_runtime::ClientTls;
use starling_runtime::tls::with_client_tls;

use crate::configs::{self, BoundAddrs, ClusterConfigs};
use crate::spec::{ClusterSpec, PortPlan, Slot};
use crate::tls::TlsLayout;
use crate::token;
use starling_runtime::ClusterToken;

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error("{what}: cannot listen on {addr}: {source}")]
    Bind {
        what: String,
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{origins} origins and {agents} agents do not fit below port 65535 from base port {base}"
    )]
    PortsExhausted {
        origins: usize,
        agents: usize,
        base: u16,
    },
    #[error("invalid cluster: {0}")]
    Spec(String),
    #[error("creating the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{component} did not become ready within {timeout:?}: {last}")]
    NotReady {
        component: String,
        timeout: Duration,
        last: String,
    },
    #[error("{component} failed: {message}")]
    Component { component: String, message: String },
}

/// Where one agent listens.
#[derive(Debug, Clone, Copy)]
pub struct AgentAddrs {
    pub registry: SocketAddr,
    pub peer: SocketAddr,
    pub admin: SocketAddr,
}

/// A running cluster. Dropping it does not stop it: call [`LocalCluster::stop`].
pub struct LocalCluster {
    pub configs: ClusterConfigs,
    pub proxy: SocketAddr,
    /// The HTTP address of each origin; every one is on the ring of all of them.
    pub origins: Vec<SocketAddr>,
    pub tracker: SocketAddr,
    pub build_index: SocketAddr,
    pub agents: Vec<AgentAddrs>,
    /// What origins and build-index require on writes (`<data dir>/auth-token`).
    pub token: ClusterToken,
    spec: ClusterSpec,
    addrs: BoundAddrs,
    shutdown: CancellationToken,
    tasks: Vec<(String, JoinHandle<Result<(), String>>)>,
}

type Task = JoinHandle<Result<(), String>>;

impl LocalCluster {
    /// Binds every listener, then starts the components; returns once all are ready.
    pub async fn start(spec: ClusterSpec) -> Result<Self, ClusterError> {
        spec.check().map_err(ClusterError::Spec)?;
        std::fs::create_dir_all(&spec.data_dir).map_err(|source| ClusterError::DataDir {
            path: spec.data_dir.display().to_string(),
            source,
        })?;
        let listeners = Listeners::bind(&spec).await?;
        let addrs = listeners.addrs();
        let token = token::load_or_create(&spec.data_dir)?;
        if spec.tls {
            let layout = TlsLayout::new(&spec.data_dir);
            layout
                .generate(&configs::tls_names(&spec))
                .map_err(|source| ClusterError::DataDir {
                    path: layout.ca().display().to_string(),
                    source,
                })?;
        }
        let configs = ClusterConfigs::build(&spec, &addrs, &token);
        let shutdown = CancellationToken::new();
        let tasks = start_components(&configs, listeners, &shutdown);
        let cluster = Self {
            proxy: addrs.proxy,
            origins: addrs.origins.clone(),
            tracker: addrs.tracker,
            build_index: addrs.build_index,
            agents: addrs
                .agents
                .iter()
                .map(|&[registry, peer, admin]| AgentAddrs {
                    registry,
                    peer,
                    admin,
                })
                .collect(),
            configs,
            token,
            spec,
            addrs,
            shutdown,
            tasks,
        };
        if let Err(error) = cluster.wait_ready(Duration::from_secs(30)).await {
            // Report the component that died, if one did, rather than the timeout.
            let stopped = cluster.stop().await;
            return Err(stopped.err().unwrap_or(error));
        }
        Ok(cluster)
    }

    /// The configuration of one more agent of this cluster, to run elsewhere (e.g. in its
    /// own process, where its memory can be measured): it joins this cluster's tracker and
    /// build-index, takes the spec's agent rate, and keeps its store under
    /// `agent-{k}/store` in the data dir, so `k` must not be one of the cluster's agents.
    /// `listen` is `[registry, peer, admin]`; port 0 lets that process pick.
    pub fn agent_config(&self, k: usize, listen: [SocketAddr; 3]) -> AgentConfig {
        configs::agent(&self.spec, &self.addrs, k, listen)
    }

    /// A token whose cancellation stops the cluster (e.g. on Ctrl-C).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until a component stops by itself (an error) or the token fires.
    pub async fn wait(&mut self) -> Result<(), ClusterError> {
        let shutdown = self.shutdown.clone();
        let finished = async {
            loop {
                if let Some(i) = self.tasks.iter().position(|(_, t)| t.is_finished()) {
                    return i;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        };
        tokio::select! {
            () = shutdown.cancelled() => Ok(()),
            i = finished => {
                let (component, task) = self.tasks.remove(i);
                let message = match task.await {
                    Ok(Ok(())) => "stopped unexpectedly".to_owned(),
                    Ok(Err(message)) => message,
                    Err(join) => join.to_string(),
                };
                Err(ClusterError::Component { component, message })
            }
        }
    }

    /// Stops every component and waits for them; the first failure is returned.
    pub async fn stop(self) -> Result<(), ClusterError> {
        self.shutdown.cancel();
        let mut first_error = None;
        for (component, task) in self.tasks {
            let outcome = match task.await {
                Ok(outcome) => outcome,
                Err(join) => Err(join.to_string()),
            };
            if let Err(message) = outcome {
                first_error.get_or_insert(ClusterError::Component { component, message });
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// `client_tls:` for a tool or test that talks to this cluster (`None` without TLS):
    /// trusts the cluster's CA and presents its `client` certificate.
    pub fn client_tls(&self) -> Option<ClientTlsConfig> {
        self.spec
            .tls
            .then(|| TlsLayout::new(&self.spec.data_dir).client(crate::tls::CLIENT))
    }

    /// `http://addr` or, in a TLS cluster, `https://addr`.
    pub fn base_url(&self, addr: SocketAddr) -> String {
        let scheme = if self.spec.tls { "https" } else { "http" };
        format!("{scheme}://{addr}")
    }

    /// An HTTP client for this cluster's listeners, with [`Self::client_tls`].
    pub fn http_client(&self) -> Result<reqwest::Client, ClusterError> {
        let tls = match self.client_tls() {
            Some(cfg) => ClientTls::from_config(&cfg).map_err(|e| ClusterError::Component {
                component: "client TLS".into(),
                message: e.to_string(),
            })?,
            None => None,
        };
        starling_runtime::build_http_client(|b| with_client_tls(b, tls.as_ref())).map_err(|e| {
            ClusterError::Component {
                component: "HTTP client".into(),
                message: e.to_string(),
            }
        })
    }

    /// Polls every component's readiness endpoint until all answer 200.
    async fn wait_ready(&self, timeout: Duration) -> Result<(), ClusterError> {
        let http = self.http_client()?;
        let mut probes: Vec<(String, SocketAddr)> = self
            .origins
            .iter()
            .enumerate()
            .map(|(k, &addr)| (format!("origin {k}"), addr))
            .collect();
        probes.extend([
            ("tracker".to_owned(), self.tracker),
            ("build-index".to_owned(), self.build_index),
            ("proxy".to_owned(), self.proxy),
        ]);
        probes.extend(
            self.agents
                .iter()
                .enumerate()
                .map(|(k, a)| (format!("agent {k}"), a.admin)),
        );
        let deadline = tokio::time::Instant::now() + timeout;
        for (component, addr) in probes {
            let url = format!("{}/readiness", self.base_url(addr));
            loop {
                if let Some((name, _)) = self.tasks.iter().find(|(_, t)| t.is_finished()) {
                    return Err(ClusterError::NotReady {
                        component: name.clone(),
                        timeout,
                        last: "it stopped".into(),
                    });
                }
                let last = match http.get(&url).send().await {
                    Ok(r) if r.status().is_success() => break,
                    Ok(r) => format!("{url} answered {}", r.status()),
                    Err(e) => format!("{url}: {e}"),
                };
                if tokio::time::Instant::now() > deadline {
                    return Err(ClusterError::NotReady {
                        component,
                        timeout,
                        last,
                    });
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
        Ok(())
    }
}

/// Every listener of the cluster, bound before anything starts.
struct Listeners {
    proxy: TcpListener,
    origins: Vec<TcpListener>,
    /// Each origin binds its own peer port when it starts (port 0: any).
    origin_peers: Vec<SocketAddr>,
    tracker: TcpListener,
    build_index: TcpListener,
    agents: Vec<AgentListeners>,
}

impl Listeners {
    async fn bind(spec: &ClusterSpec) -> Result<Self, ClusterError> {
        let plan = spec.ports;
        let exhausted = || ClusterError::PortsExhausted {
            origins: spec.origins,
            agents: spec.agents,
            base: match plan {
                PortPlan::Fixed { base } => base,
                PortPlan::Ephemeral => 0,
            },
        };
        let addr = |slot: Slot| {
            plan.port(slot)
                .map(|port| SocketAddr::from(([127, 0, 0, 1], port)))
                .ok_or_else(exhausted)
        };
        let mut agents = Vec::with_capacity(spec.agents);
        for k in 0..spec.agents {
            let what = format!("agent {k}");
            agents.push(AgentListeners {
                registry: bind(&format!("{what} registry"), addr(Slot::Agent(k, 0))?).await?,
                peer: bind(&format!("{what} peer"), addr(Slot::Agent(k, 1))?).await?,
                admin: bind(&format!("{what} admin"), addr(Slot::Agent(k, 2))?).await?,
            });
        }
        let mut origins = Vec::with_capacity(spec.origins);
        let mut origin_peers = Vec::with_capacity(spec.origins);
        for k in 0..spec.origins {
            origins.push(bind(&format!("origin {k}"), addr(Slot::OriginHttp(k))?).await?);
            origin_peers.push(addr(Slot::OriginPeer(k))?);
        }
        Ok(Self {
            proxy: bind("proxy", addr(Slot::Proxy)?).await?,
            origins,
            origin_peers,
            tracker: bind("tracker", addr(Slot::Tracker)?).await?,
            build_index: bind("build-index", addr(Slot::BuildIndex)?).await?,
            agents,
        })
    }

    fn addrs(&self) -> BoundAddrs {
        let local = |l: &TcpListener| l.local_addr().expect("a bound listener has an address");
        BoundAddrs {
            proxy: local(&self.proxy),
            origins: self.origins.iter().map(local).collect(),
            origin_peers: self.origin_peers.clone(),
            tracker: local(&self.tracker),
            build_index: local(&self.build_index),
            agents: self
                .agents
                .iter()
                .map(|a| [local(&a.registry), local(&a.peer), local(&a.admin)])
                .collect(),
        }
    }
}

async fn bind(what: &str, addr: SocketAddr) -> Result<TcpListener, ClusterError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| ClusterError::Bind {
            what: what.to_owned(),
            addr,
            source,
        })
}

fn start_components(
    configs: &ClusterConfigs,
    listeners: Listeners,
    shutdown: &CancellationToken,
) -> Vec<(String, Task)> {
    fn spawn<F, E>(name: &str, run: F) -> (String, Task)
    where
        F: Future<Output = Result<(), E>> + Send + 'static,
        E: std::fmt::Display,
    {
        let task = tokio::spawn(async move { run.await.map_err(|e| e.to_string()) });
        (name.to_owned(), task)
    }
    let token = || shutdown.child_token();
    let mut tasks: Vec<_> = configs
        .origins
        .iter()
        .zip(listeners.origins)
        .enumerate()
        .map(|(k, (cfg, listener))| {
            let run = starling_origin::run(cfg.clone(), listener, token());
            spawn(&format!("origin {k}"), run)
        })
        .collect();
    tasks.extend([
        spawn(
            "build-index",
            starling_build_index::run(configs.build_index.clone(), listeners.build_index, token()),
        ),
        spawn(
            "tracker",
            starling_tracker::run(configs.tracker.clone(), listeners.tracker, token()),
        ),
        spawn(
            "proxy",
            starling_proxy::run(configs.proxy.clone(), listeners.proxy, token()),
        ),
    ]);
    for (k, (cfg, agent)) in configs.agents.iter().zip(listeners.agents).enumerate() {
        tasks.push(spawn(
            &format!("agent {k}"),
            starling_agent::run(cfg.clone(), agent, token()),
        ));
    }
    tasks
}
