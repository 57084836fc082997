//! An agent whose disk fills up survives it: with its store on a real small tmpfs
//! (mounted here; the test needs root, as CI has, and fails where it cannot mount), a
//! pull of a blob larger than the free space gets the registry's error body saying the
//! agent is out of disk space, no partial download is left, `/readiness` answers 503;
//! once space is freed readiness comes back and the same pull succeeds, and restarts
//! find no partial download to resume.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::Value;
use starling_agent::AgentListeners;
use starling_core::Digest;
use starling_testkit::{pseudo_random, wait_until};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::support::Cluster;

const MIB: usize = 1024 * 1024;

/// A tmpfs of a fixed size at a fresh temp dir, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_mib: usize) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "cannot mount a {size_mib} MiB tmpfs at {} ({status:?}): the disk-full test needs \
             root (CI runs it as root)",
            dir.path().display()
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Bytes free, from `df`'s point of view (what the agent sees).
    fn free(&self) -> usize {
        let out = Command::new("df")
            .args(["--output=avail", "-B1"])
            .arg(self.path())
            .output()
            .unwrap();
        let text = String::from_utf8(out.stdout).unwrap();
        text.lines().nth(1).unwrap().trim().parse().unwrap()
    }

    /// Fills the filesystem until `leave` bytes are free; returns the filler's path.
    fn fill_leaving(&self, leave: usize) -> PathBuf {
        let filler = self.path().join("filler");
        std::fs::write(&filler, vec![1u8; self.free() - leave]).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(self.path()).status();
    }
}

/// One run of an agent of `cluster` with its store at `store`.
struct Agent {
    registry: String,
    admin: String,
    stop: CancellationToken,
    task: JoinHandle<starling_agent::Result<()>>,
}

impl Agent {
    async fn start(cluster: &Cluster, store: &Path) -> Self {
        let loopback = || TcpListener::bind("127.0.0.1:0");
        let listeners = AgentListeners {
            registry: loopback().await.unwrap(),
            admin: loopback().await.unwrap(),
            peer: loopback().await.unwrap(),
        };
        let addr = |l: &TcpListener| l.local_addr().unwrap();
        let listen = [
            addr(&listeners.registry),
            addr(&listeners.peer),
            addr(&listeners.admin),
        ];
        let mut cfg = cluster.cluster.agent_config(0, listen);
        cfg.store.root = store.to_path_buf();
        let stop = CancellationToken::new();
        let task = tokio::spawn(starling_agent::run(cfg, listeners, stop.clone()));
        let agent = Self {
            registry: format!("http://{}", listen[0]),
            admin: format!("http://{}", listen[2]),
            stop,
            task,
        };
        wait_until("the agent is ready", Duration::from_secs(20), || async {
            agent.readiness(&cluster.http).await.0 == StatusCode::OK
        })
        .await;
        agent
    }

    async fn readiness(&self, http: &reqwest::Client) -> (StatusCode, String) {
        match http.get(format!("{}/readiness", self.admin)).send().await {
            Ok(r) => (r.status(), r.text().await.unwrap_or_default()),
            Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()),
        }
    }

    async fn metrics(&self, http: &reqwest::Client) -> String {
        let url = format!("{}/metrics", self.admin);
        http.get(url).send().await.unwrap().text().await.unwrap()
    }

    async fn stop(self) {
        self.stop.cancel();
        self.task.await.unwrap().expect("the agent stops cleanly");
    }
}

/// Files of the store's temp area that belong to a partial download.
fn partials(store: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(store.join("tmp")) else {
        return Vec::new();
    };
    entries
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".part"))
        .collect()
}

#[tokio::test]
async fn a_full_disk_fails_pulls_clearly_and_the_agent_recovers_by_itself() {
    let disk = Tmpfs::mount(24);
    let store = disk.path().join("store");
    let cluster = Cluster::start(0).await;
    let layer = pseudo_random(8 * MIB, 41);
    let digest = Digest::of(&layer);
    cluster.push_blob("team/app", &layer).await;
    let http = &cluster.http;
    let blob_url = |agent: &Agent| format!("{}/v2/team/app/blobs/{digest}", agent.registry);

    let agent = Agent::start(&cluster, &store).await;
    let filler = disk.fill_leaving(4 * MIB);
    let response = http.get(blob_url(&agent)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
    let body: Value = response.json().await.expect("a registry error body");
    let error = &body["errors"][0];
    assert_eq!(error["code"], "UNAVAILABLE", "{body}");
    assert_eq!(error["message"], "the agent is out of disk space", "{body}");
    let text = body.to_string();
    let root = disk.path().to_string_lossy().into_owned();
    assert!(!text.contains(&root) && !text.contains(".part"), "{text}");
    assert_eq!(
        partials(&store),
        Vec::<String>::new(),
        "the partial is gone"
    );
    let (status, why) = agent.readiness(http).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{why}");
    assert!(why.contains("out of disk space"), "{why}");
    let metrics = agent.metrics(http).await;
    for line in [
        "starling_agent_out_of_space_total 1",
        "starling_store_out_of_space_total 1",
        "starling_store_short_of_space 1",
    ] {
        assert!(metrics.contains(line), "{line} in:\n{metrics}");
    }

    // A restart with the disk still full: nothing to resume, and the pull fails again
    // as clearly, without retrying.
    agent.stop().await;
    assert_eq!(partials(&store), Vec::<String>::new());
    let agent = Agent::start(&cluster, &store).await;
    let again = http.get(blob_url(&agent)).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(partials(&store), Vec::<String>::new());
    assert_eq!(
        agent.readiness(http).await.0,
        StatusCode::SERVICE_UNAVAILABLE
    );

    // Space comes back: readiness follows without a restart, and the pull succeeds.
    std::fs::remove_file(filler).unwrap();
    wait_until(
        "readiness after space is freed",
        Duration::from_secs(10),
        || async { agent.readiness(http).await.0 == StatusCode::OK },
    )
    .await;
    let pulled = http.get(blob_url(&agent)).send().await.unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    assert!(pulled.bytes().await.unwrap() == layer, "the layer's bytes");
    assert!(
        agent
            .metrics(http)
            .await
            .contains("starling_store_short_of_space 0")
    );

    agent.stop().await;
    assert_eq!(partials(&store), Vec::<String>::new());
    let agent = Agent::start(&cluster, &store).await;
    let cached = http.get(blob_url(&agent)).send().await.unwrap();
    assert_eq!(cached.status(), StatusCode::OK);
    assert!(cached.bytes().await.unwrap() == layer);
    agent.stop().await;
    cluster.stop().await;
}
