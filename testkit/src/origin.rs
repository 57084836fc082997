//! [`OriginFixture`]: an origin served by `starling_origin::run` on a loopback listener
//! bound to port 0 before the origin starts, so its address is known up front (a ring
//! of origins binds every listener first, then builds each config with all hosts).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use starling_clients::OriginClient;
use starling_config::{ClusterConfig, HealthCheckConfig, OriginConfig, P2pConfig, StoreConfig};
use starling_origin::BackendLookup;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::wait_until;

/// A listener on `127.0.0.1:0`.
pub async fn loopback_listener() -> TcpListener {
    TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind a loopback listener")
}

/// A loopback listener on a port outside the ephemeral range, for a server that a test
/// stops and starts again on the same address (see [`crate::restartable_ports`]).
pub async fn restartable_listener() -> TcpListener {
    for _ in 0..20 {
        let port = crate::random_port();
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)).await {
            return listener;
        }
    }
    panic!(
        "no free port in {:?} after 20 tries",
        crate::restartable_ports()
    );
}

/// A test configuration: the store under `root`, this origin advertised as
/// `advertise` on a ring of `hosts`, the peer listener on a free loopback port, fast
/// health checks and short retry backoffs.
pub fn origin_config(root: &Path, advertise: SocketAddr, hosts: &[SocketAddr]) -> OriginConfig {
    let mut cfg = OriginConfig {
        listen: advertise,
        peer: P2pConfig::with_listen(SocketAddr::from(([127, 0, 0, 1], 0))),
        store: StoreConfig::with_root(root),
        advertise: advertise.to_string(),
        cluster: ClusterConfig::with_hosts(hosts.iter().map(ToString::to_string)),
        ..OriginConfig::default()
    };
    cfg.cluster.health_check = HealthCheckConfig {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        fails: 2,
        passes: 2,
    };
    cfg.writeback.initial_backoff = Duration::from_millis(50);
    cfg.writeback.max_backoff = Duration::from_millis(400);
    cfg
}

/// An origin running in this process.
pub struct OriginFixture {
    pub addr: SocketAddr,
    pub config: OriginConfig,
    shutdown: CancellationToken,
    task: Option<JoinHandle<starling_origin::Result<()>>>,
}

impl OriginFixture {
    /// Starts an origin alone on a ring of itself, with the backends its config names.
    pub async fn start_alone(root: &Path) -> Self {
        let listener = loopback_listener().await;
        let addr = listener.local_addr().expect("a bound address");
        Self::start_on(listener, origin_config(root, addr, &[addr]), None)
    }

    /// Serves `cfg` on `listener`; `backends` replaces the configured backends.
    pub fn start_on(
        listener: TcpListener,
        cfg: OriginConfig,
        backends: Option<Arc<dyn BackendLookup>>,
    ) -> Self {
        let addr = listener.local_addr().expect("a bound address");
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let config = cfg.clone();
        let task = tokio::spawn(async move {
            match backends {
                Some(backends) => {
                    starling_origin::run_with_backends(cfg, backends, listener, token).await
                }
                None => starling_origin::run(cfg, listener, token).await,
            }
        });
        Self {
            addr,
            config,
            shutdown,
            task: Some(task),
        }
    }

    /// `http://<addr><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// The `host:port` this origin advertises.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn client(&self) -> OriginClient {
        OriginClient::new(self.host())
    }

    /// Requests shutdown without waiting, as a crash would look to its peers once
    /// `run` returns and the listener closes.
    pub fn cancel(&self) {
        self.shutdown.cancel();
    }

    /// Requests shutdown and waits for `run` to return; panics if it failed or hung.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("stopped once");
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("run returns after shutdown")
            .expect("run does not panic");
        outcome.expect("run ends cleanly");
    }

    /// Waits until `/readiness` answers 200.
    pub async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let url = self.url("/readiness");
        wait_until("the origin to be ready", Duration::from_secs(30), || {
            let request = http.get(&url).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
    }

    /// The value of metric `name` (without labels) from `/metrics`.
    pub async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| {
                let value = line.strip_prefix(name)?.strip_prefix(' ')?;
                value.trim().parse().ok()
            })
            .unwrap_or_else(|| panic!("no metric {name} in:\n{text}"))
    }
}

impl Drop for OriginFixture {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
