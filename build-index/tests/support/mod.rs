//! Test support: build-indexes served by `starling_build_index::run` on loopback
//! listeners, configs, addresses that refuse connections until they come up, and
//! `wait_until`; [`clusters`] adds origins and images for cross-cluster tests.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod clusters;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use starling_clients::BuildIndexClient;
use starling_config::{BuildIndexConfig, NamespaceBackend, RetryConfig};
use starling_core::{Digest, RepoName, Tag};
use tokio::net::{TcpListener, TcpSocket};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A loopback address reserved for a build-index that is not up yet: the socket is
/// bound but not listening, so connections are refused (never hang) until
/// [`Reserved::listen`] turns it into the listener, on the same port with no race.
pub struct Reserved {
    socket: TcpSocket,
    pub addr: SocketAddr,
}

impl Reserved {
    pub fn new() -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind("127.0.0.1:0".parse().unwrap())
            .expect("bind loopback");
        let addr = socket.local_addr().unwrap();
        Self { socket, addr }
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn listen(self) -> TcpListener {
        self.socket.listen(128).expect("listen")
    }
}

/// A build-index config over `dir`'s database, with quick retries for tests.
pub fn config(dir: &Path, advertise: &str, replicas: &[String]) -> BuildIndexConfig {
    BuildIndexConfig {
        database: dir.join("tags.db"),
        advertise: advertise.to_owned(),
        replicas: replicas.to_vec(),
        replication: RetryConfig {
            max_attempts: 0,
            initial_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_millis(200),
        },
        ..BuildIndexConfig::default()
    }
}

/// `cfg` with every repository's tags in a filesystem backend under `root`.
pub fn with_filesystem_backend(mut cfg: BuildIndexConfig, root: &Path) -> BuildIndexConfig {
    cfg.backends = vec![NamespaceBackend::filesystem(".*", root).unwrap()];
    cfg
}

/// A running build-index.
pub struct TestIndex {
    pub addr: SocketAddr,
    pub database: PathBuf,
    shutdown: CancellationToken,
    task: JoinHandle<starling_build_index::Result<()>>,
}

impl TestIndex {
    /// Serves `cfg` on `listener`.
    pub fn start_on(cfg: BuildIndexConfig, listener: TcpListener) -> Self {
        let addr = listener.local_addr().unwrap();
        let database = cfg.database.clone();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(starling_build_index::run(cfg, listener, shutdown.clone()));
        Self {
            addr,
            database,
            shutdown,
            task,
        }
    }

    /// Serves `cfg` on a fresh loopback port.
    pub async fn start(cfg: BuildIndexConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        Self::start_on(cfg, listener)
    }

    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn client(&self) -> BuildIndexClient {
        BuildIndexClient::new(&self.host())
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Requests shutdown and waits for `run` to return; panics if it failed or hung.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("run returns after shutdown")
            .expect("run does not panic");
        outcome.expect("run ends cleanly");
    }
}

pub fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

pub fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

pub fn digest(content: &str) -> Digest {
    Digest::of(content.as_bytes())
}

/// Polls until a condition holds or the timeout passes; returns whether it held.
#[allow(unused_imports)]
pub use starling_testkit::poll_until as wait_until;
