//! Test support: external server processes on loopback, polling waits and test data.
//!
//! Servers that cannot take a pre-bound listener (moto_server, docker-registry) are started
//! on a random high port; a server counts as started only once its own log says it is
//! listening on that port, so a port already held by someone else is detected by the
//! process exiting and another port is tried.

#![allow(dead_code)]

pub mod oci;

use std::collections::hash_map::RandomState;
use std::future::Future;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures::StreamExt;
use futures::stream;
use starling_backend::ByteStream;

const START_ATTEMPTS: usize = 5;
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Polls `condition` until it holds, failing the test after `timeout`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

/// A random port in 20000..60000, away from the usual ephemeral range start.
pub fn random_port() -> u16 {
    let random = RandomState::new().build_hasher().finish();
    20_000 + (random % 40_000) as u16
}

/// Fails with an install hint when `program` is not on the PATH.
pub fn require_program(program: &str, install: &str) {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {program}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    assert!(
        found,
        "{program} is not installed; install it with: {install}"
    );
}

/// A child process that is killed when the test ends.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Runs `command(port)` until one attempt logs `ready(port)`; retries on a new port
    /// when the process exits first (typically: the port was taken).
    pub async fn start<C, R>(name: &str, command: C, ready: R) -> Self
    where
        C: Fn(u16) -> Command,
        R: Fn(u16) -> String,
    {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            let port = random_port();
            let mut cmd = command(port);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd
                .spawn()
                .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
            let log = Arc::new(Mutex::new(String::new()));
            capture(child.stdout.take().unwrap(), log.clone());
            capture(child.stderr.take().unwrap(), log.clone());
            let mut server = Self { child, port, log };
            let marker = ready(port);
            let deadline = Instant::now() + START_TIMEOUT;
            loop {
                if server.log().contains(&marker) {
                    return server;
                }
                if let Ok(Some(status)) = server.child.try_wait() {
                    failures.push(format!("port {port}: {status}\n{}", server.log()));
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{name} did not start:\n{}",
                    server.log()
                );
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
        }
        panic!(
            "{name} failed to start {START_ATTEMPTS} times:\n{}",
            failures.join("\n")
        );
    }

    /// Everything the process printed so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Copies a pipe into `log` line by line on a thread, so the child never blocks on it.
fn capture(pipe: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut log = log.lock().unwrap();
            log.push_str(&line);
            log.push('\n');
        }
    });
}

/// Deterministic incompressible bytes (xorshift), different for each seed.
pub fn pseudo_random(len: usize, seed: u64) -> Bytes {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    data.into()
}

/// `data` as a stream of `chunk`-sized pieces, as a network body would arrive.
pub fn chunked(data: Bytes, chunk: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = (0..data.len())
        .step_by(chunk)
        .map(|i| Ok(data.slice(i..data.len().min(i + chunk))))
        .collect();
    stream::iter(chunks).boxed()
}

/// Runs a command to completion, failing the test with its output if it fails.
pub fn run(command: &mut Command) -> String {
    let output = command
        .output()
        .unwrap_or_else(|e| panic!("cannot run {command:?}: {e}"));
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(
        output.status.success(),
        "{command:?} failed: {}\n{text}",
        output.status
    );
    text
}
