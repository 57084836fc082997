//! [`BuildIndexFixture`]: a build-index served by `starling_build_index::run` on a
//! loopback listener, its tag database in a directory the test owns, for tests of the
//! components that resolve and store tags through it (the proxy, the agent).

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use starling_clients::BuildIndexClient;
use starling_config::{BuildIndexConfig, ClusterConfig};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::origin::loopback_listener;

/// A build-index running in this process.
pub struct BuildIndexFixture {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<starling_build_index::Result<()>>>,
}

impl BuildIndexFixture {
    /// Starts a build-index with its database under `dir`, checking manifests against
    /// the origins at `origins` (`host:port` each).
    pub async fn start(dir: &Path, origins: impl IntoIterator<Item = String>) -> Self {
        let listener = loopback_listener().await;
        let addr = listener.local_addr().expect("a bound address");
        let cfg = BuildIndexConfig {
            listen: addr,
            database: dir.join("tags.db"),
            advertise: addr.to_string(),
            origins: ClusterConfig::with_hosts(origins),
            ..BuildIndexConfig::default()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(starling_build_index::run(cfg, listener, shutdown.clone()));
        Self {
            addr,
            shutdown,
            task: Some(task),
        }
    }

    /// The `host:port` it listens on.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    pub fn client(&self) -> BuildIndexClient {
        BuildIndexClient::new(&self.host())
    }

    /// Requests shutdown and waits for `run` to return; panics if it failed or hung.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        let task = self.task.take().expect("stopped once");
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .expect("the build-index stops within 30s")
            .expect("the build-index does not panic");
        outcome.expect("the build-index ends cleanly");
    }
}

impl Drop for BuildIndexFixture {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
