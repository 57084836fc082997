//! Clusters of one origin and one build-index each, on loopback, for cross-cluster
//! replication tests; and images (Docker schema2, OCI, OCI index) to push into them.
//!
//! Every address is reserved before anything starts ([`Reserved`]), so a cluster's
//! config can name a remote that is not up yet: connections to it are refused until
//! it starts on the same port.

use std::time::Duration;

use bytes::Bytes;
use serde_json::json;
use starling_config::{BuildIndexConfig, ClusterConfig, RemoteConfig, pattern};
use starling_core::registry::media_type::{
    DOCKER_CONFIG, DOCKER_MANIFEST, OCI_CONFIG, OCI_INDEX, OCI_MANIFEST,
};
use starling_core::{Digest, RepoName};
use starling_testkit::{OriginFixture, origin_config, pseudo_random};
use tempfile::TempDir;

use super::{Reserved, TestIndex, config};

/// The addresses and directory of a cluster that has not started yet.
pub struct ClusterPlan {
    index: Reserved,
    origin: Reserved,
    dir: TempDir,
}

impl ClusterPlan {
    pub fn new() -> Self {
        Self {
            index: Reserved::new(),
            origin: Reserved::new(),
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// This cluster as the remote of another, for repositories matching `repo`.
    pub fn as_remote(&self, repo: &str) -> RemoteConfig {
        RemoteConfig {
            repo: pattern::anchored(repo).expect("a valid pattern"),
            url: format!("http://{}", self.index.addr),
            origins: ClusterConfig::with_hosts([self.origin.host()]),
            auth: Default::default(),
        }
    }

    /// Starts the origin and the build-index; the index sends tags to `remotes`.
    pub fn start(self, remotes: Vec<RemoteConfig>) -> TestCluster {
        let origin_addr = self.origin.addr;
        let origin_cfg =
            origin_config(&self.dir.path().join("origin"), origin_addr, &[origin_addr]);
        let origin = OriginFixture::start_on(self.origin.listen(), origin_cfg, None);
        let mut index_cfg = config(&self.dir.path().join("index"), &self.index.host(), &[]);
        index_cfg.origins = ClusterConfig::with_hosts([origin_addr.to_string()]);
        index_cfg.remotes = remotes;
        let index = TestIndex::start_on(index_cfg.clone(), self.index.listen());
        TestCluster {
            origin,
            index,
            index_cfg,
            _dir: self.dir,
        }
    }
}

/// A running cluster.
pub struct TestCluster {
    pub origin: OriginFixture,
    pub index: TestIndex,
    index_cfg: BuildIndexConfig,
    _dir: TempDir,
}

impl TestCluster {
    /// Stops the build-index and starts it again on a new port with the same database.
    pub async fn restart_index(self) -> Self {
        self.index.stop().await;
        let index = TestIndex::start(self.index_cfg.clone()).await;
        Self { index, ..self }
    }

    pub async fn upload(&self, repo: &RepoName, blob: &Blob) {
        self.origin
            .client()
            .upload(
                repo,
                &blob.digest,
                blob.bytes.len() as u64,
                starling_backend::stream::once(blob.bytes.clone()),
            )
            .await
            .unwrap_or_else(|e| panic!("upload {}: {e}", blob.digest));
    }

    /// Whether this cluster's origin holds `blob`.
    pub async fn has_blob(&self, repo: &RepoName, blob: &Blob) -> bool {
        let size = self.origin.client().stat(repo, &blob.digest).await;
        size.unwrap_or_else(|e| panic!("stat {}: {e}", blob.digest)) == Some(blob.len())
    }

    /// The value of the sample `series` (name and labels, as printed) in `/metrics`;
    /// 0 when it is not there yet.
    pub async fn index_metric(&self, series: &str) -> f64 {
        let text = reqwest::get(self.index.url("/metrics"))
            .await
            .expect("metrics answer")
            .text()
            .await
            .expect("metrics text");
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map_or(0.0, |value| value.trim().parse().expect("a number"))
    }

    /// Waits until this index has attempted a task for a remote cluster and failed.
    pub async fn wait_for_a_failed_remote_attempt(&self) {
        let failed = r#"starling_build_index_remote_tasks_total{outcome="failed"}"#;
        starling_testkit::wait_until(
            "a failed attempt to replicate to the remote cluster",
            Duration::from_secs(10),
            || async { self.index_metric(failed).await >= 1.0 },
        )
        .await;
    }
}

/// A blob and its digest.
#[derive(Clone)]
pub struct Blob {
    pub digest: Digest,
    pub bytes: Bytes,
}

impl Blob {
    pub fn new(bytes: impl Into<Bytes>) -> Self {
        let bytes = bytes.into();
        Self {
            digest: Digest::of(&bytes),
            bytes,
        }
    }

    pub fn len(&self) -> u64 {
        self.bytes.len() as u64
    }

    fn descriptor(&self, media_type: &str) -> serde_json::Value {
        json!({"mediaType": media_type, "digest": self.digest.to_string(), "size": self.len()})
    }
}

/// Which manifest format an [`Image`] uses.
#[derive(Clone, Copy)]
pub enum Format {
    Docker,
    Oci,
}

/// An image manifest with its config and layers.
pub struct Image {
    pub manifest: Blob,
    pub config: Blob,
    pub layers: Vec<Blob>,
}

impl Image {
    /// An image with `layers` layers of 256 KiB of pseudo-random bytes from `seed`.
    pub fn new(format: Format, seed: u64, layers: usize) -> Self {
        let layers: Vec<Blob> = (0..layers as u64)
            .map(|i| Blob::new(pseudo_random(256 << 10, seed * 100 + i)))
            .collect();
        Self::with_layers(format, seed, layers)
    }

    /// An image of the given layers (shared layers make images share blobs).
    pub fn with_layers(format: Format, seed: u64, layers: Vec<Blob>) -> Self {
        let (manifest_type, config_type, layer_type) = match format {
            Format::Docker => (
                DOCKER_MANIFEST,
                DOCKER_CONFIG,
                "application/vnd.docker.image.rootfs.diff.tar.gzip",
            ),
            Format::Oci => (
                OCI_MANIFEST,
                OCI_CONFIG,
                "application/vnd.oci.image.layer.v1.tar+gzip",
            ),
        };
        let config = Blob::new(
            serde_json::to_vec(&json!({"architecture": "amd64", "os": "linux", "seed": seed}))
                .unwrap(),
        );
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": manifest_type,
            "config": config.descriptor(config_type),
            "layers": layers.iter().map(|l| l.descriptor(layer_type)).collect::<Vec<_>>(),
        });
        Self {
            manifest: Blob::new(serde_json::to_vec(&manifest).unwrap()),
            config,
            layers,
        }
    }

    /// Config, layers, manifest: the order a registry push uploads them in.
    pub fn blobs(&self) -> Vec<&Blob> {
        std::iter::once(&self.config)
            .chain(&self.layers)
            .chain(std::iter::once(&self.manifest))
            .collect()
    }
}

/// An OCI index of `images`, one per platform.
pub fn oci_index(images: &[&Image]) -> Blob {
    let manifests: Vec<serde_json::Value> = images
        .iter()
        .enumerate()
        .map(|(i, image)| {
            let mut entry = image.manifest.descriptor(OCI_MANIFEST);
            entry["platform"] = json!({"architecture": format!("arch{i}"), "os": "linux"});
            entry
        })
        .collect();
    let index = json!({"schemaVersion": 2, "mediaType": OCI_INDEX, "manifests": manifests});
    Blob::new(serde_json::to_vec(&index).unwrap())
}
