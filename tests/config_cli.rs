//! The `starling` binary as deployment tooling drives it: `--check` on good and bad
//! configs (field names, unset `${VAR}`s, nothing started), the log formats a pod's
//! `kubectl logs` shows, and a SIGTERM drain: readiness 503 while the listener still
//! accepts, then the listener closes and the process exits cleanly.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

const STARLING: &str = env!("CARGO_BIN_EXE_starling");

fn starling(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(STARLING)
        .args(args)
        .envs(env.iter().copied())
        .env_remove("STARLING_LOG_FORMAT")
        .output()
        .expect("starling runs")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    std::fs::File::create(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .unwrap();
    path
}

fn check(component: &str, path: &Path, env: &[(&str, &str)]) -> Output {
    starling(
        &[component, "--config", path.to_str().unwrap(), "--check"],
        env,
    )
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_example_config_checks_ok() {
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/config");
    for component in ["agent", "origin", "tracker", "build-index", "proxy"] {
        let path = examples.join(format!("{component}.yaml"));
        let out = check(component, &path, &[]);
        assert!(out.status.success(), "{component}: {}", text(&out.stderr));
        assert_eq!(
            text(&out.stdout),
            format!("starling {component}: {} OK\n", path.display())
        );
    }
}

const AGENT: &str = "store: {root: /tmp/starling-check-test}\n\
                     trackers: ['tracker:15003']\nbuild_index: ['build-index:15004']\n";

#[test]
fn check_binds_nothing_and_reports_the_bad_field() {
    let dir = tempfile::tempdir().unwrap();
    // A port this test holds: a component that started would fail to bind it.
    let held = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = held.local_addr().unwrap().port();
    let good = write(
        dir.path(),
        "good.yaml",
        &format!("{AGENT}registry_listen: 127.0.0.1:{port}\n"),
    );
    let out = check("agent", &good, &[]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        !Path::new("/tmp/starling-check-test").exists(),
        "no store was opened"
    );

    let bad = write(
        dir.path(),
        "bad.yaml",
        &format!("{AGENT}peer: {{listen: 127.0.0.1:16001, pipeline_depth: 0}}\n"),
    );
    let out = check("agent", &bad, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "starling agent: agent.peer.pipeline_depth: must be at least 1\n"
    );
    assert!(out.stdout.is_empty());

    let typo = write(
        dir.path(),
        "typo.yaml",
        &format!("{AGENT}alowed_clients: []\n"),
    );
    let err = text(&check("agent", &typo, &[]).stderr);
    assert!(err.contains("unknown field `alowed_clients`"), "{err}");
}

#[test]
fn check_expands_variables_and_names_an_unset_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "agent.yaml",
        &format!(
            "{AGENT}peer: {{listen: '0.0.0.0:16001', advertise: '${{HOST_IP}}:16001'}}\n\
             allowed_clients: [127.0.0.1, 10.244.0.0/16]\nzone: ${{STARLING_ZONE:-}}\n"
        ),
    );
    let out = check("agent", &path, &[("HOST_IP", "10.0.3.17")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = check(
        "agent",
        &path,
        &[("HOST_IP", "10.0.3.17"), ("STARLING_ZONE", "bad zone")],
    );
    assert!(
        text(&out.stderr).contains("agent.zone: \"bad zone\" must be"),
        "{}",
        text(&out.stderr)
    );
    let out = Command::new(STARLING)
        .args(["agent", "--config", path.to_str().unwrap(), "--check"])
        .env_remove("HOST_IP")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.contains("line 4: environment variable HOST_IP is not set"),
        "{err}"
    );
}

#[test]
fn a_bad_log_format_variable_is_named() {
    let out = Command::new(STARLING)
        .args(["containerd-hosts", "--help"])
        .env("STARLING_LOG_FORMAT", "xml")
        .output()
        .unwrap();
    // --help exits before logging is set up; a real command reports the variable.
    assert!(out.status.success());
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(STARLING)
        .args(["agent", "--config", "/nonexistent.yaml"])
        .env("STARLING_LOG_FORMAT", "xml")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("STARLING_LOG_FORMAT=\"xml\" is not a log format"),
        "{}",
        text(&out.stderr)
    );
}

/// A tracker process whose stderr lines arrive on a channel.
struct Tracker {
    child: Child,
    lines: mpsc::Receiver<String>,
}

impl Tracker {
    fn start(config: &Path, format: &str) -> Self {
        let mut child = Command::new(STARLING)
            .args(["--log-format", format, "tracker", "--config"])
            .arg(config)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// The first line containing `needle`, within 20s.
    fn line_with(&self, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.lines.recv_timeout(left) {
                Ok(line) if line.contains(needle) => return line,
                Ok(_) => {}
                Err(_) => break,
            }
        }
        panic!("no log line with {needle:?}");
    }
}

impl Drop for Tracker {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn tracker_config(dir: &Path, delay: &str) -> PathBuf {
    write(
        dir,
        "tracker.yaml",
        &format!(
            "listen: 127.0.0.1:0\nadvertise: 127.0.0.1:15003\norigins: {{hosts: ['127.0.0.1:9']}}\n\
             drain: {{delay: {delay}, timeout: 5s}}\n"
        ),
    )
}

async fn status(http: &reqwest::Client, url: &str) -> Option<u16> {
    http.get(url)
        .timeout(Duration::from_secs(2))
        .send()
        .await
        .ok()
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn sigterm_turns_readiness_503_then_closes_after_the_delay() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start(&tracker_config(dir.path(), "2s"), "json");
    let line = tracker.line_with("tracker serving");
    let log: serde_json::Value = serde_json::from_str(&line).expect("a JSON log line");
    assert_eq!(log["level"], "INFO");
    let listen = log["fields"]["listen"].as_str().expect("the listen field");
    let http = reqwest::Client::builder().no_proxy().build().unwrap();
    let base = format!("http://{listen}");

    let metrics = http.get(format!("{base}/metrics")).send().await.unwrap();
    let metrics = metrics.text().await.unwrap();
    let build_info = format!(
        "starling_build_info{{version=\"{}\"}} 1",
        env!("CARGO_PKG_VERSION")
    );
    assert!(metrics.lines().any(|l| l == build_info), "{metrics}");

    // SAFETY: kill(2) on the child we spawned.
    unsafe { libc::kill(tracker.child.id() as i32, libc::SIGTERM) };
    let signalled = Instant::now();
    tracker.line_with("tracker shutting down");
    assert_eq!(status(&http, &format!("{base}/readiness")).await, Some(503));
    assert_eq!(
        status(&http, &format!("{base}/health")).await,
        Some(200),
        "the listener still accepts during the delay"
    );
    assert!(
        signalled.elapsed() < Duration::from_secs(2),
        "checked within the delay"
    );

    let mut tracker = tracker;
    let deadline = Instant::now() + Duration::from_secs(15);
    let exit = loop {
        if let Some(exit) = tracker.child.try_wait().unwrap() {
            break exit;
        }
        assert!(Instant::now() < deadline, "the tracker did not exit");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    assert!(
        signalled.elapsed() >= Duration::from_secs(2),
        "closed only after the delay"
    );
    assert_eq!(status(&http, &format!("{base}/health")).await, None);
}

#[test]
fn text_logs_carry_no_colour_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let tracker = Tracker::start(&tracker_config(dir.path(), "0s"), "text");
    let line = tracker.line_with("tracker serving");
    assert!(!line.contains('\u{1b}'), "{line:?}");
    assert!(line.contains("INFO"), "{line}");
}
