//! `moto_server` (PyPI `moto[server]`): an in-memory S3-compatible server on loopback.
//!
//! Moto keeps everything in memory, so a restart (on the same port, where the
//! origin's configuration points) starts with no buckets; [`MotoServer::restart`]
//! creates the bucket again.

use std::process::Command;
use std::time::Duration;

use starling_config::BackendConfig;

use crate::process::{ServerProcess, require_program};
use crate::wait_until;

const RESTART_ATTEMPTS: usize = 5;

/// A running (or stopped) moto_server with one bucket.
pub struct MotoServer {
    process: Option<ServerProcess>,
    port: u16,
    bucket: String,
}

fn command(port: u16) -> Command {
    let mut command = Command::new("moto_server");
    command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
    command
}

fn ready(port: u16) -> String {
    format!("Running on http://127.0.0.1:{port}")
}

impl MotoServer {
    /// Starts moto_server on a free random port and creates `bucket`.
    pub async fn start(bucket: &str) -> Self {
        require_program("moto_server", "pip install 'moto[server]'");
        let process = ServerProcess::start("moto_server", command, ready).await;
        let server = Self {
            port: process.port,
            process: Some(process),
            bucket: bucket.to_owned(),
        };
        server.create_bucket().await;
        server
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn bucket(&self) -> &str {
        &self.bucket
    }

    /// An S3 backend on this server's bucket under `prefix`.
    pub fn backend_config(&self, prefix: &str) -> BackendConfig {
        BackendConfig::S3 {
            bucket: self.bucket.clone(),
            region: "us-east-1".to_owned(),
            endpoint: Some(self.endpoint()),
            access_key_id: Some("testing".to_owned()),
            secret_access_key: Some("testing".to_owned()),
            secret_access_key_file: None,
            allow_http: true,
            prefix: prefix.to_owned(),
        }
    }

    /// Kills the server: clients see connection refused, and its data is gone.
    pub fn stop(&mut self) {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
    }

    pub fn is_running(&self) -> bool {
        self.process.is_some()
    }

    /// Starts the server again on the same port and recreates the bucket.
    pub async fn restart(&mut self) {
        self.stop();
        // The port is outside the ephemeral range (see `restartable_ports`), so nothing
        // should hold it; a few spaced tries still cover a socket the kernel is releasing.
        let mut failures = Vec::new();
        for _ in 0..RESTART_ATTEMPTS {
            match ServerProcess::start_on("moto_server", self.port, command, ready).await {
                Ok(process) => {
                    self.process = Some(process);
                    break;
                }
                Err(log) => failures.push(log),
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        assert!(
            self.process.is_some(),
            "moto_server cannot restart on its port:\n{}",
            failures.join("\n")
        );
        self.create_bucket().await;
    }

    async fn create_bucket(&self) {
        let http = reqwest::Client::new();
        let url = format!("{}/{}", self.endpoint(), self.bucket);
        wait_until("moto to create the bucket", Duration::from_secs(30), || {
            let request = http.put(&url).send();
            async move { request.await.is_ok_and(|r| r.status().is_success()) }
        })
        .await;
    }
}
