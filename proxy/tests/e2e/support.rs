//! A registry stack on loopback for the end-to-end tests: one origin
//! (`starling_testkit::OriginFixture`), one build-index (`BuildIndexFixture`) and
//! the proxy (`starling_proxy::run`), each on a listener bound to `127.0.0.1:0` before it
//! starts. The real clients are run with `starling_testkit::clients`.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use starling_config::{ClusterConfig, HealthCheckConfig, ProxyConfig};
use starling_core::{Digest, RepoName, Tag};
use starling_testkit::{BuildIndexFixture, OriginFixture, loopback_listener, wait_until};
use tempfile::TempDir;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A component served by `run` in this process.
struct Served<E> {
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<Result<(), E>>>,
}

impl<E: std::fmt::Display + Send + 'static> Served<E> {
    async fn stop(mut self, what: &str) {
        self.shutdown.cancel();
        let task = self.task.take().expect("stopped once");
        let outcome = tokio::time::timeout(Duration::from_secs(30), task)
            .await
            .unwrap_or_else(|_| panic!("{what} stops within 30s"))
            .unwrap_or_else(|e| panic!("{what} panicked: {e}"));
        if let Err(e) = outcome {
            panic!("{what} failed: {e}");
        }
    }
}

impl<E> Drop for Served<E> {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

/// Origin, build-index and proxy, wired together.
pub struct Stack {
    pub dir: TempDir,
    pub origin: OriginFixture,
    build_index: BuildIndexFixture,
    proxy: Served<starling_proxy::Error>,
}

impl Stack {
    pub async fn start() -> Self {
        Self::start_with(|_| {}).await
    }

    /// Starts the stack with the proxy's configuration adjusted by `adjust`.
    pub async fn start_with(adjust: impl FnOnce(&mut ProxyConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let origin = OriginFixture::start_alone(&dir.path().join("origin")).await;
        origin.wait_ready().await;
        let build_index =
            BuildIndexFixture::start(&dir.path().join("build-index"), [origin.host()]).await;
        let mut cfg = proxy_config(dir.path(), &origin, build_index.addr);
        adjust(&mut cfg);
        let listener = loopback_listener().await;
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(starling_proxy::run(cfg, listener, shutdown.clone()));
        let stack = Self {
            dir,
            origin,
            build_index,
            proxy: Served {
                addr,
                shutdown,
                task: Some(task),
            },
        };
        stack.wait_ready().await;
        stack
    }

    /// `127.0.0.1:<port>` of the proxy, as image references name it.
    pub fn registry(&self) -> String {
        self.proxy.addr.to_string()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.proxy.addr)
    }

    /// Whether the origin holds the blob (a HEAD straight to the origin).
    pub async fn origin_has(&self, name: &str, digest: &Digest) -> bool {
        let name = RepoName::parse(name).unwrap();
        self.origin
            .client()
            .stat(&name, digest)
            .await
            .unwrap()
            .is_some()
    }

    /// What the build-index says the tag points at.
    pub async fn tag(&self, name: &str, tag: &str) -> Option<Digest> {
        let client = self.build_index.client();
        let (name, tag) = (RepoName::parse(name).unwrap(), Tag::parse(tag).unwrap());
        client.get_tag(&name, &tag).await.unwrap()
    }

    /// Files in the proxy's upload directory.
    pub fn upload_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("uploads"))
            .unwrap()
            .count()
    }

    /// Stops the proxy, then the build-index, then the origin; each must end cleanly.
    pub async fn stop(self) {
        let Self {
            dir,
            origin,
            build_index,
            proxy,
        } = self;
        proxy.stop("proxy").await;
        assert_eq!(
            std::fs::read_dir(dir.path().join("uploads"))
                .unwrap()
                .count(),
            0,
            "the proxy leaves no upload files behind"
        );
        build_index.stop().await;
        origin.stop().await;
    }

    async fn wait_ready(&self) {
        let http = reqwest::Client::new();
        let url = self.url("/readiness");
        wait_until("the proxy to be ready", Duration::from_secs(30), || {
            let request = http.get(&url).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
    }
}

fn proxy_config(dir: &Path, origin: &OriginFixture, build_index: SocketAddr) -> ProxyConfig {
    let mut origins = ClusterConfig::with_hosts([origin.host()]);
    origins.health_check = HealthCheckConfig {
        interval: Duration::from_millis(200),
        timeout: Duration::from_millis(200),
        fails: 2,
        passes: 1,
    };
    ProxyConfig {
        origins,
        build_index: vec![build_index.to_string()],
        upload_dir: dir.join("uploads"),
        ..ProxyConfig::default()
    }
}
