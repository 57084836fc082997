//! A cluster on ephemeral loopback ports in a temp dir, with the topology of a
//! deployment (two origins, replicas 2), and a minimal registry push client
//! (monolithic blob upload, manifest PUT) for tests that need content without an
//! external tool.

use std::net::SocketAddr;
use std::path::Path;

use reqwest::StatusCode;
use serde_json::json;
use starling_cluster::{ClusterSpec, LocalCluster, PortPlan};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use tempfile::TempDir;

/// A running cluster and its data directory.
pub struct Cluster {
    pub dir: TempDir,
    pub cluster: LocalCluster,
    pub http: reqwest::Client,
}

impl Cluster {
    pub async fn start(agents: usize) -> Self {
        Self::start_with(agents, |spec| spec).await
    }

    /// [`Self::start`] with every listener and client on HTTPS
    /// (`starling_cluster::tls`); [`Self::http`] then trusts the cluster's CA.
    pub async fn start_tls(agents: usize) -> Self {
        Self::start_with(agents, |spec| ClusterSpec { tls: true, ..spec }).await
    }

    /// A cluster whose dev spec `adjust` changes (an upstream registry, TLS).
    pub async fn start_with(
        agents: usize,
        adjust: impl FnOnce(ClusterSpec) -> ClusterSpec,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let spec = adjust(ClusterSpec {
            ports: PortPlan::Ephemeral,
            ..ClusterSpec::dev(dir.path().join("data"), agents)
        });
        assert!(
            spec.origins >= 2 && spec.replicas >= 2,
            "end-to-end tests run the real topology: {spec:?}"
        );
        let cluster = LocalCluster::start(spec).await.expect("the cluster starts");
        let http = cluster.http_client().expect("a client for the cluster");
        Self { dir, cluster, http }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// `127.0.0.1:<port>` of the proxy, as image references name it.
    pub fn proxy(&self) -> String {
        self.cluster.proxy.to_string()
    }

    /// `127.0.0.1:<port>` of agent `k`'s registry API.
    pub fn agent(&self, k: usize) -> String {
        self.cluster.agents[k].registry.to_string()
    }

    pub fn agent_url(&self, k: usize, path: &str) -> String {
        let base = self.cluster.base_url(self.cluster.agents[k].registry);
        format!("{base}{path}")
    }

    /// Agent `k`'s Prometheus text.
    pub async fn agent_metrics(&self, k: usize) -> String {
        let url = format!(
            "{}/metrics",
            self.cluster.base_url(self.cluster.agents[k].admin)
        );
        self.http
            .get(url)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap()
    }

    /// Uploads `bytes` to `repo` through the proxy in one request.
    pub async fn push_blob(&self, repo: &str, bytes: &[u8]) -> Digest {
        let digest = Digest::of(bytes);
        let url = format!(
            "{}/v2/{repo}/blobs/uploads/?digest={digest}",
            self.cluster.base_url(self.cluster.proxy)
        );
        let response = self
            .http
            .post(url)
            .body(bytes.to_vec())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "blob upload");
        digest
    }

    /// Pushes an OCI image of `layers` as `repo:tag`; returns the manifest's bytes.
    pub async fn push_image(&self, repo: &str, tag: &str, layers: &[&[u8]]) -> Vec<u8> {
        let config =
            br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
        let config_digest = self.push_blob(repo, config).await;
        let mut descriptors = Vec::new();
        for layer in layers {
            let digest = self.push_blob(repo, layer).await;
            descriptors.push(json!({
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": digest.to_string(),
                "size": layer.len(),
            }));
        }
        let manifest = serde_json::to_vec(&json!({
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest.to_string(), "size": config.len()},
            "layers": descriptors,
        }))
        .unwrap();
        let url = format!(
            "{}/v2/{repo}/manifests/{tag}",
            self.cluster.base_url(self.cluster.proxy)
        );
        let response = self
            .http
            .put(url)
            .header("content-type", OCI_MANIFEST)
            .body(manifest.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "manifest push");
        manifest
    }

    pub async fn stop(self) {
        self.cluster
            .stop()
            .await
            .expect("every component stops cleanly");
    }
}

/// A loopback address other than the agents' allowed `127.0.0.1`.
pub const OTHER_LOOPBACK: [u8; 4] = [127, 0, 0, 2];

pub fn other_loopback() -> SocketAddr {
    SocketAddr::from((OTHER_LOOPBACK, 0))
}
