//! An agent in its own process, so that its memory is its own: the pull bench reads the
//! child's peak resident set (`VmHWM` in `/proc/<pid>/status`) after the pull.
//!
//! The child is this binary run as `starling agent --config <yaml>`, joined to the
//! benchmark's cluster. It binds port 0 for every listener and its "agent serving" log
//! line says where it landed, so no port is picked here and released for the child to
//! take (a race). Its stderr is drained for its whole life, keeping the last lines for
//! error messages; the child is killed if the benchmark drops it without stopping it.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use starling_config::AgentConfig;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStderr, Command};
use tokio::sync::oneshot;

/// How long the child may take to listen and to become ready.
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long the child may take to stop after SIGTERM before it is killed.
const STOP_TIMEOUT: Duration = Duration::from_secs(10);
/// Log lines of the child kept for error messages.
const LOG_TAIL: usize = 20;

/// A running agent child process.
pub struct AgentProcess {
    child: Child,
    pid: u32,
    pub registry: SocketAddr,
    log_tail: Arc<Mutex<VecDeque<String>>>,
}

/// Where the child says it listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Serving {
    registry: SocketAddr,
    admin: SocketAddr,
}

impl AgentProcess {
    /// Writes `config` to `dir/agent.yaml`, starts the agent on it and waits until its
    /// admin port answers ready.
    pub async fn start(config: &AgentConfig, dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let config_path = dir.join("agent.yaml");
        let yaml = serde_norway::to_string(config).context("writing the agent's config")?;
        std::fs::write(&config_path, yaml)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let exe = std::env::current_exe().context("finding the starling binary")?;
        let mut child = Command::new(exe)
            .arg("agent")
            .arg("--config")
            .arg(&config_path)
            .env("RUST_LOG", "warn,starling_agent=info")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .context("starting `starling agent`")?;
        let pid = child.id().context("the agent exited at once")?;
        let stderr = child.stderr.take().context("the agent's stderr is piped")?;
        let log_tail = Arc::new(Mutex::new(VecDeque::new()));
        let (serving_tx, serving_rx) = oneshot::channel();
        tokio::spawn(drain_log(stderr, serving_tx, log_tail.clone()));
        let mut agent = Self {
            child,
            pid,
            registry: SocketAddr::from(([127, 0, 0, 1], 0)),
            log_tail,
        };
        let serving = match tokio::time::timeout(START_TIMEOUT, serving_rx).await {
            Ok(Ok(serving)) => serving,
            Ok(Err(_)) => bail!("the agent exited before listening: {}", agent.log()),
            Err(_) => bail!(
                "the agent did not listen within {START_TIMEOUT:?}: {}",
                agent.log()
            ),
        };
        agent.registry = serving.registry;
        agent.wait_ready(serving.admin).await?;
        Ok(agent)
    }

    /// The child's peak resident set so far, in bytes.
    pub fn peak_rss_bytes(&self) -> anyhow::Result<u64> {
        let path = format!("/proc/{}/status", self.pid);
        let status = std::fs::read_to_string(&path).with_context(|| format!("reading {path}"))?;
        vm_hwm_bytes(&status).with_context(|| format!("{path} has no VmHWM line"))
    }

    /// Stops the child with SIGTERM, killing it if it lingers; fails if it exited with
    /// an error.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        let pid = libc::pid_t::try_from(self.pid).context("the agent's pid fits a pid_t")?;
        // SAFETY: kill only sends a signal, to our own child, which has not been reaped.
        unsafe { libc::kill(pid, libc::SIGTERM) };
        let status = match tokio::time::timeout(STOP_TIMEOUT, self.child.wait()).await {
            Ok(status) => status.context("waiting for the agent")?,
            Err(_) => {
                self.child.kill().await.context("killing the agent")?;
                bail!("the agent did not stop within {STOP_TIMEOUT:?} of SIGTERM");
            }
        };
        if !status.success() {
            bail!("the agent exited with {status}: {}", self.log());
        }
        Ok(())
    }

    async fn wait_ready(&mut self, admin: SocketAddr) -> anyhow::Result<()> {
        let http = starling_runtime::default_http_client();
        let url = format!("http://{admin}/readiness");
        let deadline = tokio::time::Instant::now() + START_TIMEOUT;
        loop {
            if let Some(status) = self.child.try_wait().context("checking the agent")? {
                bail!("the agent exited with {status}: {}", self.log());
            }
            let last = match http.get(&url).send().await {
                Ok(response) if response.status().is_success() => return Ok(()),
                Ok(response) => format!("{url} answered {}", response.status()),
                Err(error) => format!("{url}: {error}"),
            };
            if tokio::time::Instant::now() > deadline {
                return Err(anyhow!(
                    "the agent was not ready within {START_TIMEOUT:?}: {last}"
                ));
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The child's last log lines, for error messages.
    fn log(&self) -> String {
        let tail = self.log_tail.lock().unwrap_or_else(PoisonError::into_inner);
        let lines: Vec<&str> = tail.iter().map(String::as_str).collect();
        format!("last log lines:\n{}", lines.join("\n"))
    }
}

/// Reads the child's stderr to its end: reports the "agent serving" line once and
/// keeps the last lines.
async fn drain_log(
    stderr: ChildStderr,
    serving_tx: oneshot::Sender<Serving>,
    tail: Arc<Mutex<VecDeque<String>>>,
) {
    let mut serving_tx = Some(serving_tx);
    let mut lines = BufReader::new(stderr).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        if let Some(serving) = parse_serving(&line)
            && let Some(tx) = serving_tx.take()
        {
            let _ = tx.send(serving);
        }
        let mut tail = tail.lock().unwrap_or_else(PoisonError::into_inner);
        if tail.len() == LOG_TAIL {
            tail.pop_front();
        }
        tail.push_back(line);
    }
}

/// The addresses in the agent's `agent serving registry=… admin=… peer=…` log line.
fn parse_serving(line: &str) -> Option<Serving> {
    if !line.contains("agent serving") {
        return None;
    }
    let field = |name: &str| {
        line.split_whitespace()
            .find_map(|token| token.strip_prefix(name)?.strip_prefix('='))
            .and_then(|value| value.parse().ok())
    };
    Some(Serving {
        registry: field("registry")?,
        admin: field("admin")?,
    })
}

/// `VmHWM` of a `/proc/<pid>/status` text, in bytes.
fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    match words.next()? {
        "kB" => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_addresses_in_the_serving_line() {
        let line = "2026-11-24T08:00:00.000001Z  INFO starling_agent::server: agent serving \
                    registry=127.0.0.1:40001 admin=127.0.0.1:40002 peer=127.0.0.1:40003";
        assert_eq!(
            parse_serving(line),
            Some(Serving {
                registry: "127.0.0.1:40001".parse().unwrap(),
                admin: "127.0.0.1:40002".parse().unwrap(),
            })
        );
        assert_eq!(parse_serving("INFO agent stopped"), None);
        assert_eq!(parse_serving("agent serving registry=nowhere"), None);
    }

    #[test]
    fn reads_vm_hwm_in_bytes() {
        let status =
            "Name:\tstarling\nVmPeak:\t  900000 kB\nVmHWM:\t   51200 kB\nVmRSS:\t 40000 kB\n";
        assert_eq!(vm_hwm_bytes(status), Some(50 << 20));
        assert_eq!(vm_hwm_bytes("Name:\tstarling\n"), None);
        let own = std::fs::read_to_string("/proc/self/status").unwrap();
        assert!(vm_hwm_bytes(&own).unwrap() > 0);
    }
}
