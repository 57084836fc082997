//! The docker CLI as the suite drives it: commands, the engine check, networks of the
//! test's own with a fixed subnet, and removal of what earlier runs left behind.
//!
//! Every object the suite creates is named `starling-mh-<pid>-…` after the test
//! process, so a run can tell its own objects from those of runs still going (another
//! engineer's) and from those of runs that died without cleaning up (their pid is gone),
//! which [`sweep_stale`] removes.

use std::net::Ipv4Addr;
use std::process::Command;

use starling_testkit::clients::{self, Output};

/// The first part of every name the suite gives a docker object.
pub const PREFIX: &str = "starling-mh";

/// `starling-mh-<pid>`: this process's prefix.
pub fn run_prefix() -> String {
    format!("{PREFIX}-{}", std::process::id())
}

/// Runs `docker args…`.
pub async fn docker(args: &[&str]) -> Output {
    clients::run("docker", args, &[]).await
}

/// Runs `docker args…`, failing the test with its output unless it succeeds.
pub async fn docker_ok(args: &[&str]) -> String {
    clients::run_ok("docker", args, &[]).await
}

/// Why the engine cannot be used, or `None` when it answers.
pub async fn engine_unavailable() -> Option<String> {
    let output = tokio::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .await;
    match output {
        Err(e) => Some(format!("cannot run docker: {e}")),
        Ok(out) if !out.status.success() => Some(format!(
            "the docker engine is not reachable: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )),
        Ok(_) => None,
    }
}

/// A user-defined bridge network without a route out (`--internal`) on a /24 subnet
/// chosen here, so containers get fixed addresses that survive restarts and
/// reconnections. The host is the gateway, `.1`.
pub struct Network {
    pub name: String,
    /// The third octet: the subnet is `10.213.<octet>.0/24`.
    octet: u8,
}

impl Network {
    /// Creates `name` on the first free subnet among random `10.213.x.0/24`.
    pub async fn create(name: &str) -> Self {
        let mut failures = Vec::new();
        for _ in 0..16 {
            let octet = (starling_testkit::random_port() % 256) as u8;
            let subnet = format!("10.213.{octet}.0/24");
            let gateway = format!("10.213.{octet}.1");
            let out = docker(&[
                "network",
                "create",
                "--internal",
                "--subnet",
                &subnet,
                "--gateway",
                &gateway,
                name,
            ])
            .await;
            if out.success {
                return Self {
                    name: name.to_owned(),
                    octet,
                };
            }
            failures.push(format!("{subnet}: {}", out.text.trim()));
        }
        panic!("cannot create network {name}:\n{}", failures.join("\n"));
    }

    /// Host `n` of the subnet; `host(1)` is the gateway, the host's own address.
    pub fn host(&self, n: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 213, self.octet, n)
    }
}

/// Removes containers (with their anonymous volumes), volumes, networks and images of
/// runs whose process is gone. Objects of live runs are left alone.
pub fn sweep_stale() {
    let listings: [(&[&str], &[&str]); 4] = [
        (&["ps", "-a", "--format", "{{.Names}}"], &["rm", "-f", "-v"]),
        (
            &["volume", "ls", "--format", "{{.Name}}"],
            &["volume", "rm", "-f"],
        ),
        (
            &["network", "ls", "--format", "{{.Name}}"],
            &["network", "rm"],
        ),
        (
            &["images", "--format", "{{.Repository}}-{{.Tag}}"],
            &["rmi", "-f"],
        ),
    ];
    for (list, remove) in listings {
        for name in blocking(list).lines() {
            let Some(pid) = stale_pid(name) else { continue };
            let object = if list[0] == "images" {
                format!("{PREFIX}:{pid}")
            } else {
                name.to_owned()
            };
            let mut args = remove.to_vec();
            args.push(&object);
            blocking(&args);
        }
    }
}

/// The pid in a `starling-mh-<pid>…` name when that process no longer exists.
fn stale_pid(name: &str) -> Option<u32> {
    let rest = name.strip_prefix(PREFIX)?.strip_prefix('-')?;
    let pid: u32 = rest.split(['-', ':']).next()?.parse().ok()?;
    let alive = std::path::Path::new(&format!("/proc/{pid}")).exists();
    (!alive).then_some(pid)
}

/// Runs `docker args…` from a non-async context (drop guards, exit hooks), ignoring
/// failures (the object may be gone already); returns stdout.
pub fn blocking(args: &[&str]) -> String {
    Command::new("docker")
        .args(args)
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned())
        .unwrap_or_default()
}
