//! External server processes on loopback.
//!
//! Servers that cannot take a pre-bound listener (moto_server, docker-registry) are
//! started on a random high port; a server counts as started only once its own log says
//! it is listening on that port, so a port already held by someone else is detected by
//! the process exiting, and another port is tried.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const START_ATTEMPTS: usize = 5;
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// Ports outside the kernel's ephemeral range (`net.ipv4.ip_local_port_range`).
///
/// A server restarted on its old port must find it free; inside the ephemeral range any
/// outgoing connection on the machine may have taken it as its source port meanwhile (a
/// client retrying the stopped server can even connect to itself), and the restart
/// fails with "Address already in use". CI saw exactly that with moto_server.
pub fn restartable_ports() -> std::ops::Range<u16> {
    const FLOOR: u16 = 10_000;
    let ephemeral_start = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range")
        .ok()
        .and_then(|range| range.split_whitespace().next()?.parse::<u16>().ok())
        .unwrap_or(32_768);
    if ephemeral_start > FLOOR + 5_000 {
        FLOOR..ephemeral_start
    } else {
        // An unusual machine whose ephemeral range starts low: fall back to a fixed band.
        FLOOR..FLOOR + 5_000
    }
}

/// A random port from [`restartable_ports`].
pub fn random_port() -> u16 {
    let ports = restartable_ports();
    let random = RandomState::new().build_hasher().finish();
    ports.start + (random % u64::from(ports.end - ports.start)) as u16
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

/// Runs a command to completion, failing the test with its output if it fails.
pub fn run_command(command: &mut Command) -> String {
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

/// A child process that is killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub port: u16,
    log: Arc<Mutex<String>>,
}

impl ServerProcess {
    /// Runs `command(port)` on random ports until one attempt logs `ready(port)`.
    pub async fn start<C, R>(name: &str, command: C, ready: R) -> Self
    where
        C: Fn(u16) -> Command,
        R: Fn(u16) -> String,
    {
        let mut failures = Vec::new();
        for _ in 0..START_ATTEMPTS {
            match Self::start_on(name, random_port(), &command, &ready).await {
                Ok(server) => return server,
                Err(failure) => failures.push(failure),
            }
        }
        panic!(
            "{name} failed to start {START_ATTEMPTS} times:\n{}",
            failures.join("\n")
        );
    }

    /// Runs `command(port)` on exactly `port` (to restart a server where its clients
    /// expect it); `Err` carries the log when the process exits before it is ready.
    pub async fn start_on<C, R>(name: &str, port: u16, command: C, ready: R) -> Result<Self, String>
    where
        C: Fn(u16) -> Command,
        R: Fn(u16) -> String,
    {
        let mut cmd = command(port);
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot run {name}: {e}"));
        let log = Arc::new(Mutex::new(String::new()));
        capture(child.stdout.take().expect("piped"), log.clone());
        capture(child.stderr.take().expect("piped"), log.clone());
        let mut server = Self { child, port, log };
        let marker = ready(port);
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if server.log().contains(&marker) {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("port {port}: {status}\n{}", server.log()));
            }
            assert!(
                Instant::now() < deadline,
                "{name} did not start:\n{}",
                server.log()
            );
            tokio::time::sleep(crate::POLL_INTERVAL).await;
        }
    }

    /// Everything the process printed so far.
    pub fn log(&self) -> String {
        self.log.lock().expect("log lock poisoned").clone()
    }

    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Kills the process and waits for it to exit.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Copies a pipe into `log` line by line on a thread, so the child never blocks on it.
fn capture(pipe: impl Read + Send + 'static, log: Arc<Mutex<String>>) {
    std::thread::spawn(move || {
        for line in BufReader::new(pipe).lines().map_while(Result::ok) {
            let mut log = log.lock().expect("log lock poisoned");
            log.push_str(&line);
            log.push('\n');
        }
    });
}
