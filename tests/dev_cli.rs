//! `starling dev` as a user runs it: the process starts a whole cluster, prints where
//! everything is, serves a push and a pull through an agent, and exits 0 on SIGTERM.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use starling_core::Digest;
use starling_testkit::{poll_until, random_port};

#[tokio::test]
async fn dev_starts_a_cluster_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    // Agent 0 sits 1000 ports above the base; keep the whole plan below 65535.
    let base = 20_000 + random_port() % 30_000;
    let mut child = Command::new(env!("CARGO_BIN_EXE_starling"))
        .args([
            "dev",
            "--agents",
            "1",
            "--base-port",
            &base.to_string(),
            "--data-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
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
    let proxy = format!("127.0.0.1:{base}");
    let agent = format!("127.0.0.1:{}", base + 1000);
    assert!(
        summary.contains(&format!("docker push {proxy}/team/app:1")),
        "{summary}"
    );
    assert!(
        summary.contains(&format!("docker pull {agent}/team/app:1")),
        "{summary}"
    );

    let http = reqwest::Client::new();
    let blob = b"pushed to the proxy, pulled from the swarm".to_vec();
    let digest = Digest::of(&blob);
    let upload = format!("http://{proxy}/v2/team/app/blobs/uploads/?digest={digest}");
    let pushed = http.post(upload).body(blob.clone()).send().await.unwrap();
    assert_eq!(pushed.status(), reqwest::StatusCode::CREATED);
    let pulled = http
        .get(format!("http://{agent}/v2/team/app/blobs/{digest}"))
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), reqwest::StatusCode::OK);
    assert_eq!(pulled.bytes().await.unwrap(), blob);
    assert!(
        dir.path().join("backend").exists(),
        "storage lives under --data-dir"
    );

    let pid = child.id().to_string();
    let killed = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
    assert!(killed.success());
    let exited = poll_until(Duration::from_secs(30), || {
        let status = child.try_wait().unwrap();
        async move { status.is_some() }
    })
    .await;
    assert!(exited, "starling dev stops within 30s of SIGTERM");
    let status = child.wait().unwrap();
    assert!(
        status.success(),
        "starling dev exits 0 on SIGTERM: {status}"
    );
}
