//! Debian's `docker-registry` (the CNCF distribution registry) on loopback, with
//! filesystem storage under a test's directory and optional htpasswd basic auth: the
//! upstream that registry-backend and mirror tests read from.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::process::{ServerProcess, require_program};

/// A running reference registry.
pub struct DistributionRegistry {
    pub server: ServerProcess,
}

/// How a registry is started beyond its directory.
#[derive(Debug, Clone, Default)]
pub struct RegistryOptions {
    /// Every request needs basic auth from this htpasswd file.
    pub htpasswd: Option<PathBuf>,
    /// Store under this directory instead of `root/storage` (two registries on one
    /// storage act as two instances of one registry).
    pub storage: Option<PathBuf>,
    /// Send push and pull events (`notifications.endpoints`) to this receiver.
    pub notify: Option<NotifyEndpoint>,
}

/// A receiver of the registry's notifications.
#[derive(Debug, Clone)]
pub struct NotifyEndpoint {
    pub url: String,
    /// Sent as `Authorization: Bearer <token>`.
    pub bearer: Option<String>,
}

impl DistributionRegistry {
    /// Starts the registry storing under `root/storage`; with `htpasswd`, every request
    /// needs basic auth from that file.
    pub async fn start(root: &Path, htpasswd: Option<&Path>) -> Self {
        let options = RegistryOptions {
            htpasswd: htpasswd.map(Path::to_owned),
            ..RegistryOptions::default()
        };
        Self::start_with(root, options).await
    }

    /// [`Self::start`] with every option.
    pub async fn start_with(root: &Path, options: RegistryOptions) -> Self {
        require_program("docker-registry", "apt-get install -y docker-registry");
        std::fs::create_dir_all(root).expect("create the registry's directory");
        let root = root.to_owned();
        let server = ServerProcess::start(
            "docker-registry",
            |port| {
                let config = root.join(format!("registry-config-{port}.yml"));
                std::fs::write(&config, config_yaml(&root, port, &options))
                    .expect("write the registry config");
                let mut command = Command::new("docker-registry");
                command.arg("serve").arg(config);
                command
            },
            |port| format!("listening on 127.0.0.1:{port}"),
        )
        .await;
        Self { server }
    }

    /// `127.0.0.1:<port>`, as image references name it.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.server.port)
    }

    pub fn url(&self) -> String {
        self.server.base_url()
    }
}

fn config_yaml(root: &Path, port: u16, options: &RegistryOptions) -> String {
    let auth = options.htpasswd.as_deref().map_or(String::new(), |path| {
        format!(
            "auth:\n  htpasswd:\n    realm: starling-test\n    path: {}\n",
            path.display()
        )
    });
    let storage = options
        .storage
        .clone()
        .unwrap_or_else(|| root.join("storage"));
    let notify = options.notify.as_ref().map_or(String::new(), |n| {
        let headers = n.bearer.as_ref().map_or(String::new(), |token| {
            format!("      headers:\n        Authorization: [\"Bearer {token}\"]\n")
        });
        let endpoint = format!(
            "    - name: starling\n      url: {}\n{headers}      timeout: 5s\n      threshold: 5\n      backoff: 1s\n",
            n.url
        );
        format!("notifications:\n  endpoints:\n{endpoint}")
    });
    format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: 127.0.0.1:{port}\n{auth}{notify}",
        storage.display()
    )
}
