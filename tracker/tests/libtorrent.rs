//! A real BitTorrent client (libtorrent, driven by tests/support/libtorrent_announce.py
//! under /usr/bin/python3) announces a `mktorrent` torrent to the tracker; a second
//! announce must list it, and its `stopped` on exit must remove it.
//!
//! Needs Debian's python3-libtorrent and mktorrent. Loopback only: the client listens on
//! 127.0.0.1 with DHT, LSD, UPnP, NAT-PMP and peer exchange off.

mod support;

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use starling_core::InfoHash;
use support::{TestTracker, announce_path, get_reply, peer_id, test_config, wait_until};
use tokio::sync::mpsc;

const PYTHON: &str = "/usr/bin/python3";

/// Kills the client if the test fails half-way.
struct ClientGuard(Child);

impl Drop for ClientGuard {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

fn make_torrent(dir: &Path, announce_url: &str) -> std::path::PathBuf {
    let payload: Vec<u8> = (0..300 * 1024u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("blob"), payload).unwrap();
    let torrent = dir.join("blob.torrent");
    let status = Command::new("mktorrent")
        .args(["-a", announce_url, "-l", "15", "-d", "-o"])
        .arg(&torrent)
        .arg("blob")
        .current_dir(dir)
        .stdout(Stdio::null())
        .status()
        .expect("mktorrent is installed");
    assert!(status.success(), "mktorrent failed");
    torrent
}

/// Starts the client; its stdout lines arrive on the returned channel.
fn start_client(
    torrent: &Path,
    save_dir: &Path,
) -> (ClientGuard, ChildStdin, mpsc::UnboundedReceiver<String>) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/libtorrent_announce.py");
    let mut child = Command::new(PYTHON)
        .arg(script)
        .arg(torrent)
        .arg(save_dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("/usr/bin/python3 runs");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();
    let (lines_tx, lines) = mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if lines_tx.send(line).is_err() {
                break;
            }
        }
    });
    (ClientGuard(child), stdin, lines)
}

async fn next_line(lines: &mut mpsc::UnboundedReceiver<String>, what: &str) -> String {
    tokio::time::timeout(Duration::from_secs(90), lines.recv())
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
        .unwrap_or_else(|| panic!("the client exited before {what} (see its stderr)"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn libtorrent_announces_and_is_handed_out() {
    let tracker = TestTracker::start(test_config()).await;
    let dir = tempfile::tempdir().unwrap();
    let torrent = make_torrent(dir.path(), &tracker.url("/announce"));
    let (mut client, stdin, mut lines) = start_client(&torrent, dir.path());

    let line = next_line(&mut lines, "the first announce").await;
    let words: Vec<&str> = line.split_whitespace().collect();
    let ["announced", hash_hex, port] = words[..] else {
        panic!("unexpected client output: {line}");
    };
    let info_hash = *InfoHash::from_hex(hash_hex).unwrap().as_bytes();
    let client_port: u16 = port.parse().unwrap();

    let http = reqwest::Client::new();
    let me = announce_path(&info_hash, &peer_id(42), 6881, 1, "&event=started");
    let reply = get_reply(&http, &tracker.url(&me)).await;
    assert_eq!(reply.failure, None);
    assert_eq!(
        reply.peers,
        [format!("127.0.0.1:{client_port}").parse().unwrap()]
    );
    assert!(
        reply.peer_ids[0].starts_with(b"-LT"),
        "a libtorrent peer id"
    );
    assert_eq!(reply.complete, 1, "the client has the data, so it seeds");

    drop(stdin);
    let line = next_line(&mut lines, "the client to stop").await;
    assert_eq!(line, "stopped");
    let me = announce_path(&info_hash, &peer_id(42), 6881, 1, "");
    let gone = wait_until(Duration::from_secs(15), || async {
        get_reply(&http, &tracker.url(&me)).await.peers.is_empty()
    })
    .await;
    assert!(gone, "event=stopped removed the client");
    let exit = client.0.wait().expect("the client exits");
    assert!(exit.success(), "client exit status {exit}");
    tracker.stop().await;
}
