//! The real proxy server on a loopback port, with origins and build-index at a closed
//! port (uploads in progress never reach them), for the upload limit tests.

use std::net::SocketAddr;

use starling_config::{ClusterConfig, ProxyConfig};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// A port nothing listens on.
const CLOSED: &str = "127.0.0.1:9";

pub struct Proxy {
    addr: SocketAddr,
    dir: tempfile::TempDir,
    stop: CancellationToken,
    served: tokio::task::JoinHandle<starling_proxy::Result<()>>,
}

impl Proxy {
    pub async fn start(adjust: impl FnOnce(&mut ProxyConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = ProxyConfig {
            origins: ClusterConfig::with_hosts([CLOSED]),
            build_index: vec![CLOSED.to_owned()],
            upload_dir: dir.path().join("uploads"),
            ..ProxyConfig::default()
        };
        adjust(&mut cfg);
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = CancellationToken::new();
        let served = tokio::spawn(starling_proxy::run(cfg, listener, stop.clone()));
        let proxy = Self {
            addr,
            dir,
            stop,
            served,
        };
        proxy.wait_until_serving().await;
        proxy
    }

    async fn wait_until_serving(&self) {
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        for _ in 0..100 {
            if let Ok(response) = client.get(self.url("/health")).send().await
                && response.status().is_success()
            {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        panic!("the proxy did not start");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    pub async fn try_start_upload(&self, client: &reqwest::Client) -> reqwest::Response {
        client
            .post(self.url("/v2/team/app/blobs/uploads/"))
            .send()
            .await
            .unwrap()
    }

    /// Starts an upload and returns its `Location` path.
    pub async fn start_upload(&self, client: &reqwest::Client) -> String {
        let response = self.try_start_upload(client).await;
        assert_eq!(response.status(), reqwest::StatusCode::ACCEPTED);
        let location = response.headers()["location"].to_str().unwrap();
        location
            .strip_prefix(&format!("http://{}", self.addr))
            .unwrap_or(location)
            .to_owned()
    }

    /// Upload temp files on disk.
    pub fn upload_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("uploads"))
            .unwrap()
            .count()
    }

    pub async fn stop(self) {
        self.stop.cancel();
        self.served.await.unwrap().unwrap();
    }
}
