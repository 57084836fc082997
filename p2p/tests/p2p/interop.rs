//! Interoperability with a standard BitTorrent client: libtorrent (Debian's
//! python3-libtorrent, driven by `libtorrent_peer.py` under /usr/bin/python3), on real
//! loopback sockets, with DHT, local peer discovery, UPnP, NAT-PMP and peer exchange off.
//!
//! - libtorrent, given the `.torrent` a running tracker serves, downloads a blob from a
//!   running origin that never announced (the tracker hands it out from the origin ring);
//! - an agent-class engine downloads a blob that only libtorrent seeds.
//!
//! Skipped, with a message, only when /usr/bin/python3 cannot `import libtorrent`.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use starling_core::Digest;
use starling_p2p::MetaInfoSource;
use starling_testkit::{BlobFixture, OriginFixture};
use tokio::sync::mpsc;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, metric_value, namespace,
    settings, source_for,
};

const PYTHON: &str = "/usr/bin/python3";

/// Whether libtorrent is importable; prints why the test is skipped if not.
fn libtorrent_available(test: &str) -> bool {
    let imported = Command::new(PYTHON)
        .args(["-c", "import libtorrent"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !imported {
        eprintln!(
            "SKIPPED {test}: {PYTHON} cannot import libtorrent (apt-get install python3-libtorrent)"
        );
    }
    imported
}

/// The libtorrent process; killed if the test fails half-way.
struct Client {
    child: Child,
    stdin: Option<ChildStdin>,
    lines: mpsc::UnboundedReceiver<String>,
}

impl Client {
    /// Runs `libtorrent_peer.py <mode> <torrent> <save_dir>`.
    fn start(mode: &str, torrent: &Path, save_dir: &Path) -> Self {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/p2p/libtorrent_peer.py");
        let mut child = Command::new(PYTHON)
            .arg(script)
            .arg(mode)
            .arg(torrent)
            .arg(save_dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("/usr/bin/python3 runs");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().expect("piped stdout");
        let (lines_tx, lines) = mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if lines_tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self {
            child,
            stdin,
            lines,
        }
    }

    async fn next_line(&mut self, what: &str) -> String {
        tokio::time::timeout(Duration::from_secs(120), self.lines.recv())
            .await
            .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
            .unwrap_or_else(|| panic!("libtorrent exited before {what} (see its stderr)"))
    }

    /// Closes stdin (the seeder stops) and waits for a clean exit.
    async fn finish(mut self) {
        drop(self.stdin.take());
        let child = &mut self.child;
        let exited = tokio::task::block_in_place(|| child.wait()).expect("libtorrent exits");
        assert!(exited.success(), "libtorrent exit status {exited}");
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_downloads_from_an_origin_through_the_tracker() {
    if !libtorrent_available("libtorrent_downloads_from_an_origin_through_the_tracker") {
        return;
    }
    init_tracing();
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let blob = BlobFixture::random((4 << 20) + 4321);
    let ns = BlobFixture::namespace();
    origin
        .client()
        .upload(&ns, &blob.digest, blob.len(), blob.stream(1 << 20))
        .await
        .unwrap();
    let tracker = TestTracker::with_origins(&[origin.host()]);

    // The `.torrent` exactly as a user would download it from the tracker.
    let url = format!(
        "{}/namespace/{}/blobs/{}/metainfo",
        tracker.url(),
        ns.as_str().replace('/', "%2F"),
        blob.digest
    );
    let torrent = reqwest::get(url).await.unwrap().bytes().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let torrent_path = dir.path().join("blob.torrent");
    std::fs::write(&torrent_path, &torrent).unwrap();
    let save_dir = dir.path().join("download");
    std::fs::create_dir(&save_dir).unwrap();

    let mut client = Client::start("download", &torrent_path, &save_dir);
    let line = client.next_line("the download to finish").await;
    assert!(line.starts_with("finished "), "unexpected output: {line}");
    client.finish().await;

    let downloaded = std::fs::read(save_dir.join(blob.digest.hex())).unwrap();
    assert_eq!(Digest::of(&downloaded), blob.digest, "sha256 of the file");
    let metrics = reqwest::get(origin.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        metric_value(
            &metrics,
            r#"starling_p2p_uploaded_bytes_total{class="other"}"#
        ) >= blob.len() as f64,
        "the origin counts libtorrent as another client: {metrics}"
    );
    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_downloads_what_only_libtorrent_seeds() {
    if !libtorrent_available("an_agent_downloads_what_only_libtorrent_seeds") {
        return;
    }
    init_tracing();
    let tracker = TestTracker::start().await;
    let blob = Blob::random((4 << 20) + 777).await;
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join(blob.digest.hex()), &blob.data).unwrap();
    let announce = format!("{}/announce", tracker.url());
    let torrent_path = dir.path().join("blob.torrent");
    std::fs::write(
        &torrent_path,
        blob.meta.clone().with_announce(announce).to_bytes(),
    )
    .unwrap();

    let mut seeder = Client::start("seed", &torrent_path, dir.path());
    let line = seeder.next_line("libtorrent to announce").await;
    let words: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(
        words.first(),
        Some(&"announced"),
        "unexpected output: {line}"
    );
    assert_eq!(words[1], blob.meta.info_hash().hex());

    let source: Arc<dyn MetaInfoSource> = source_for(&blob);
    let agent = Node::start_custom(settings(false), &[tracker.url()], source, None).await;
    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download from libtorrent completes")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    let stored = agent.store.stat(&blob.digest).unwrap().expect("committed");
    assert_eq!(stored.size, blob.data.len() as u64);
    assert!(
        metric_value(
            &agent.metrics_text(),
            r#"starling_p2p_downloaded_bytes_total{class="other"}"#
        ) >= blob.data.len() as f64
    );

    agent.stop().await;
    seeder.finish().await;
    tracker.stop().await;
}
