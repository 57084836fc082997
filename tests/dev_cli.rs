//! `starling dev` as a user runs it: the process starts a whole cluster (two origins
//! with replicas 2 by default, `--origins 1` for one), prints where everything is,
//! serves a push and a pull through an agent, and exits 0 on SIGTERM; with `--tls`, all
//! of it over HTTPS with the certificates it made under the data directory.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use starling_core::Digest;
use starling_testkit::{poll_until, random_port, restartable_ports};

/// A `starling dev` process and where it listens.
struct Dev {
    child: Child,
    base: u16,
    summary: String,
    _dir: tempfile::TempDir,
}

impl Dev {
    /// Starts `starling dev --agents 1 <extra>` on a random base port and waits for its
    /// summary (the line that says how to stop it ends it). The dev cluster's ports
    /// are a fixed plan above the base, so one of them may be taken by a socket of
    /// another process by chance: then (and only then) another base is tried.
    async fn start(extra: &[&str]) -> Self {
        for _ in 0..5 {
            if let Some(dev) = Self::try_start(extra).await {
                return dev;
            }
        }
        panic!("no free port plan for starling dev in 5 tries");
    }

    /// One attempt; `None` if a port of the plan was in use.
    async fn try_start(extra: &[&str]) -> Option<Self> {
        let dir = tempfile::tempdir().unwrap();
        // Agent 0 sits 1000 ports above the base; keep the whole plan out of the
        // ephemeral range, where outgoing connections could hold a port of it.
        let ports = restartable_ports();
        let base = ports.start + random_port() % (ports.end - ports.start - 1_100);
        let log = dir.path().join("stderr.log");
        let mut child = Command::new(env!("CARGO_BIN_EXE_starling"))
            .args(["dev", "--agents", "1", "--base-port", &base.to_string()])
            .args(extra)
            .arg("--data-dir")
            .arg(dir.path())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .expect("starling dev starts");
        let stdout = child.stdout.take().unwrap();
        let summary = tokio::task::spawn_blocking(move || {
            let mut lines = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let line = line.unwrap();
                let done = line.contains("Ctrl-C");
                lines.push(line);
                if done {
                    break;
                }
            }
            lines.join("\n")
        })
        .await
        .unwrap();
        if !summary.contains("Ctrl-C") {
            let status = child.wait().unwrap();
            let errors = std::fs::read_to_string(&log).unwrap_or_default();
            if errors.contains("Address already in use") {
                return None;
            }
            panic!("starling dev ended before its summary ({status}):\n{errors}");
        }
        assert!(
            dir.path().join("backend").exists(),
            "storage under --data-dir"
        );
        Some(Self {
            child,
            base,
            summary,
            _dir: dir,
        })
    }

    fn addr(&self, offset: u16) -> String {
        format!("127.0.0.1:{}", self.base + offset)
    }

    /// Whether `GET http://127.0.0.1:<base+offset>/health` answers 200.
    async fn healthy(&self, offset: u16) -> bool {
        let url = format!("http://{}/health", self.addr(offset));
        reqwest::get(url)
            .await
            .is_ok_and(|r| r.status().is_success())
    }

    /// Pushes a blob to the proxy and pulls it back through agent 0.
    async fn push_and_pull(&self) {
        let (proxy, agent) = (self.addr(0), self.addr(1000));
        let http = reqwest::Client::new();
        let blob = format!("pushed to {proxy}, pulled from the swarm").into_bytes();
        let digest = Digest::of(&blob);
        let upload = format!("http://{proxy}/v2/team/app/blobs/uploads/?digest={digest}");
        let pushed = http.post(upload).body(blob.clone()).send().await.unwrap();
        assert_eq!(pushed.status(), reqwest::StatusCode::CREATED);
        let pull = http
            .get(format!("http://{agent}/v2/team/app/blobs/{digest}"))
            .send();
        let pulled = tokio::time::timeout(Duration::from_secs(60), pull)
            .await
            .expect("the pull through the agent answers within 60s")
            .unwrap();
        assert_eq!(pulled.status(), reqwest::StatusCode::OK);
        assert_eq!(pulled.bytes().await.unwrap(), blob);
    }

    /// Sends SIGTERM and checks the process exits 0 soon after.
    async fn stop(mut self) {
        let pid = self.child.id().to_string();
        let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(killed.success());
        let child = &mut self.child;
        let exited = poll_until(Duration::from_secs(30), || {
            let status = child.try_wait().unwrap();
            async move { status.is_some() }
        })
        .await;
        assert!(exited, "starling dev stops within 30s of SIGTERM");
        let status = self.child.wait().unwrap();
        let log = std::fs::read_to_string(self._dir.path().join("stderr.log")).unwrap_or_default();
        let tail: Vec<&str> = log.lines().rev().take(40).collect();
        assert!(
            status.success(),
            "starling dev exits 0 on SIGTERM: {status}; its last log lines, newest first:\n{}",
            tail.join("\n")
        );
    }
}

#[tokio::test]
async fn dev_starts_two_origins_and_stops_on_sigterm() {
    let dev = Dev::start(&[]).await;
    let summary = &dev.summary;
    let (proxy, agent) = (dev.addr(0), dev.addr(1000));
    assert!(
        summary.contains(&format!("docker push {proxy}/team/app:1")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("docker pull {agent}/team/app:1")),
        "{summary}"
    );
    assert!(summary.contains("2 origins, each blob on 2"), "{summary}");
    for (origin, http, peer) in [(0, 2, 1), (1, 102, 101)] {
        let line = format!("origin {origin}");
        let line = summary
            .lines()
            .find(|l| l.trim_start().starts_with(&line))
            .unwrap_or_else(|| panic!("no {line} in the summary:\n{summary}"));
        assert!(
            line.contains(&format!("http://{}", dev.addr(http))),
            "{line}"
        );
        assert!(line.contains(&format!("peer {}", dev.addr(peer))), "{line}");
        assert!(dev.healthy(http).await, "origin {origin} answers /health");
    }
    dev.push_and_pull().await;
    dev.stop().await;
}

#[tokio::test]
async fn dev_runs_one_origin_when_told() {
    let dev = Dev::start(&["--origins", "1"]).await;
    let summary = &dev.summary;
    assert!(summary.contains("1 origin, each blob on 1"), "{summary}");
    assert!(!summary.contains("origin 1"), "{summary}");
    assert!(dev.healthy(2).await, "origin 0 answers /health");
    assert!(!dev.healthy(102).await, "no second origin");
    dev.push_and_pull().await;
    dev.stop().await;
}

#[test]
fn dev_refuses_zero_origins() {
    let output = Command::new(env!("CARGO_BIN_EXE_starling"))
        .args(["dev", "--origins", "0"])
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("--origins"), "{stderr}");
}

/// Issue 14's first finding, replayed: a stranger on the network PUTs a blob straight to
/// an origin and a tag straight to the build-index, bypassing the proxy. A default dev
/// cluster refuses both; its own token (`<data dir>/auth-token`) is what lets a writer in.
#[tokio::test]
async fn dev_refuses_writes_to_origins_and_build_index_without_its_token() {
    let dev = Dev::start(&[]).await;
    let (origin, index) = (dev.addr(2), dev.addr(4));
    let http = reqwest::Client::new();
    let blob = b"an attacker's layer".to_vec();
    let digest = Digest::of(&blob);
    let blob_url = format!("http://{origin}/namespace/team%2Fapp/blobs/{digest}");
    let tag_url = format!("http://{index}/tags/team%2Fapp/v1");
    let token = std::fs::read_to_string(dev._dir.path().join("auth-token")).unwrap();
    let token = token.trim();
    assert!(dev.summary.contains("auth-token"), "{}", dev.summary);

    let put_blob = http.put(&blob_url).body(blob.clone()).send().await.unwrap();
    assert_eq!(put_blob.status(), reqwest::StatusCode::UNAUTHORIZED);
    assert!(put_blob.headers().contains_key("www-authenticate"));
    let wrong = http
        .put(&blob_url)
        .bearer_auth("not-the-cluster-token")
        .body(blob.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), reqwest::StatusCode::UNAUTHORIZED);
    let tag = http
        .put(&tag_url)
        .body(digest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(tag.status(), reqwest::StatusCode::UNAUTHORIZED);
    let forged_replica = http
        .put(&tag_url)
        .header("starling-replicated-from", "127.0.0.1:1")
        .header("starling-tag-updated-at", i64::MAX.to_string())
        .body(digest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(forged_replica.status(), reqwest::StatusCode::UNAUTHORIZED);
    let stamped_with_token = http
        .put(&tag_url)
        .bearer_auth(token)
        .header("starling-replicated-from", "127.0.0.1:1")
        .header("starling-tag-updated-at", i64::MAX.to_string())
        .body(digest.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(
        stamped_with_token.status(),
        reqwest::StatusCode::BAD_REQUEST,
        "even with the token, a stamp from the far future is refused"
    );
    let agent_sees = http
        .get(format!(
            "http://{}/v2/team/app/manifests/v1",
            dev.addr(1000)
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(agent_sees.status(), reqwest::StatusCode::NOT_FOUND);

    let with_token = http
        .put(&blob_url)
        .bearer_auth(token)
        .body(blob)
        .send()
        .await
        .unwrap();
    assert_eq!(with_token.status(), reqwest::StatusCode::CREATED);
    dev.push_and_pull().await;
    dev.stop().await;
}

#[tokio::test]
async fn dev_with_tls_serves_https_with_the_certificates_it_made() {
    let dev = Dev::start(&["--tls"]).await;
    let summary = &dev.summary;
    let tls_dir = dev._dir.path().join("tls");
    assert!(
        summary.contains(&format!("proxy        https://{}", dev.addr(0))),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("trust {}", tls_dir.join("ca.pem").display())),
        "{summary}"
    );
    let client_tls = starling_config::ClientTlsConfig {
        enabled: true,
        ca_file: Some(tls_dir.join("ca.pem")),
        cert_file: Some(tls_dir.join("client.pem")),
        key_file: Some(tls_dir.join("client.key")),
    };
    let tls = starling_runtime::ClientTls::from_config(&client_tls).unwrap();
    let http = starling_runtime::build_http_client(|b| {
        starling_runtime::tls::with_client_tls(b, tls.as_ref())
    })
    .unwrap();
    let origin = format!("https://{}/health", dev.addr(2));
    let answer = http.get(&origin).send().await.unwrap();
    assert!(answer.status().is_success(), "origin 0 over mutual TLS");
    assert!(
        reqwest::get(format!("http://{}/health", dev.addr(2)))
            .await
            .is_err(),
        "no plain HTTP"
    );

    let (proxy, agent) = (dev.addr(0), dev.addr(1000));
    let blob = b"pushed and pulled over HTTPS".to_vec();
    let digest = Digest::of(&blob);
    let upload = format!("https://{proxy}/v2/team/app/blobs/uploads/?digest={digest}");
    let pushed = http.post(upload).body(blob.clone()).send().await.unwrap();
    assert_eq!(pushed.status(), reqwest::StatusCode::CREATED);
    let pull = http
        .get(format!("https://{agent}/v2/team/app/blobs/{digest}"))
        .send();
    let pulled = tokio::time::timeout(Duration::from_secs(60), pull)
        .await
        .expect("the pull through the agent answers within 60s")
        .unwrap();
    assert_eq!(pulled.bytes().await.unwrap(), blob);
    dev.stop().await;
}
