//! The client side: a random one-layer OCI image pushed through the proxy with skopeo,
//! pulled back through agents with skopeo (checking every blob's sha256), and blob
//! downloads over an agent's registry API whose progress a fault test can watch.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use starling_core::Digest;
use starling_testkit::BlobFixture;
use starling_testkit::clients::{arg, run_ok};
use starling_testkit::oci::{Image, Layout, has_blob};
use tempfile::TempDir;
use tokio::task::JoinHandle;

use crate::cluster::Cluster;

/// The repository every test pushes to.
pub const REPO: &str = "mh/app";

static IMAGES: AtomicUsize = AtomicUsize::new(0);

/// An OCI layout of one image whose layer holds `layer_size` random bytes, different on
/// every call, tagged uniquely for this run.
pub struct TestImage {
    pub dir: TempDir,
    pub tag: String,
    pub image: Image,
    /// The gzipped layer's size.
    pub layer_len: u64,
}

impl TestImage {
    pub fn random(layer_size: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let n = IMAGES.fetch_add(1, Ordering::Relaxed);
        let tag = format!("run-{}-{n}", std::process::id());
        let mut layout = Layout::new(dir.path());
        let contents = BlobFixture::random(layer_size).data;
        let image = layout.image("linux", "amd64", "random.bin", &contents);
        layout.tag_image(&tag, &image);
        layout.finish();
        let layer_path = dir
            .path()
            .join("blobs/sha256")
            .join(image.layer_digest.hex());
        let layer_len = std::fs::metadata(layer_path).unwrap().len();
        Self {
            dir,
            tag,
            image,
            layer_len,
        }
    }

    /// Manifest, config and layer.
    pub fn blobs(&self) -> [&Digest; 3] {
        [
            &self.image.manifest_digest,
            &self.image.config_digest,
            &self.image.layer_digest,
        ]
    }

    /// `oci:<dir>:<tag>`.
    fn oci_ref(dir: &Path, tag: &str) -> String {
        format!("oci:{}:{tag}", arg(dir))
    }
}

/// `skopeo copy` of the image to the proxy.
pub async fn push(cluster: &Cluster, image: &TestImage) {
    let dest = format!("docker://{}/{REPO}:{}", cluster.proxy_registry(), image.tag);
    let src = TestImage::oci_ref(image.dir.path(), &image.tag);
    run_ok(
        "skopeo",
        &["copy", "--dest-tls-verify=false", &src, &dest],
        &[],
    )
    .await;
}

/// `skopeo copy` of the image from agent `k` into the layout `out`, then checks that
/// every blob arrived with its digest.
pub async fn skopeo_pull(cluster: &Cluster, k: usize, image: &TestImage, out: &Path) {
    let src = format!(
        "docker://{}/{REPO}:{}",
        cluster.agent_registry(k),
        image.tag
    );
    let dest = TestImage::oci_ref(out, &image.tag);
    run_ok(
        "skopeo",
        &["copy", "--src-tls-verify=false", &src, &dest],
        &[],
    )
    .await;
    for digest in image.blobs() {
        assert!(
            has_blob(out, digest),
            "agent-{k}: {digest} missing in {out:?}"
        );
        let blob = std::fs::read(out.join("blobs/sha256").join(digest.hex())).unwrap();
        assert_eq!(&Digest::of(&blob), digest, "agent-{k}: blob content");
    }
}

/// `http://<agent k>:16000/v2/<repo>/blobs/<digest>`.
pub fn blob_url(cluster: &Cluster, k: usize, digest: &Digest) -> String {
    format!(
        "http://{}/v2/{REPO}/blobs/{digest}",
        cluster.agent_registry(k)
    )
}

/// A blob download running in the background, counting the bytes received.
pub struct BlobPull {
    pub received: Arc<AtomicU64>,
    task: JoinHandle<Result<Vec<u8>, String>>,
}

impl BlobPull {
    /// Starts `GET url`. No read timeout: a stalled agent must end the response itself.
    pub fn start(http: &reqwest::Client, url: String) -> Self {
        let received = Arc::new(AtomicU64::new(0));
        let task = tokio::spawn(download(http.clone(), url, received.clone()));
        Self { received, task }
    }

    pub fn received(&self) -> u64 {
        self.received.load(Ordering::Relaxed)
    }

    /// The whole body, or why it failed.
    pub async fn finish(self) -> Result<Vec<u8>, String> {
        self.task.await.expect("the download task does not panic")
    }
}

async fn download(
    http: reqwest::Client,
    url: String,
    received: Arc<AtomicU64>,
) -> Result<Vec<u8>, String> {
    let mut response = http
        .get(&url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    if !response.status().is_success() {
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        return Err(format!("GET {url}: {status} {body}"));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                body.extend_from_slice(&chunk);
                received.fetch_add(chunk.len() as u64, Ordering::Relaxed);
            }
            Ok(None) => return Ok(body),
            Err(e) => {
                return Err(format!(
                    "GET {url}: body broke off after {} bytes: {e}",
                    body.len()
                ));
            }
        }
    }
}
