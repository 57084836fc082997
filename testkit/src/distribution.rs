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

impl DistributionRegistry {
    /// Starts the registry storing under `root/storage`; with `htpasswd`, every request
    /// needs basic auth from that file.
    pub async fn start(root: &Path, htpasswd: Option<&Path>) -> Self {
        require_program("docker-registry", "apt-get install -y docker-registry");
        std::fs::create_dir_all(root).expect("create the registry's directory");
        let root = root.to_owned();
        let htpasswd: Option<PathBuf> = htpasswd.map(Path::to_owned);
        let server = ServerProcess::start(
            "docker-registry",
            |port| {
                let config = root.join(format!("registry-config-{port}.yml"));
                std::fs::write(&config, config_yaml(&root, port, htpasswd.as_deref()))
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

fn config_yaml(root: &Path, port: u16, htpasswd: Option<&Path>) -> String {
    let auth = htpasswd.map_or(String::new(), |path| {
        format!(
            "auth:\n  htpasswd:\n    realm: starling-test\n    path: {}\n",
            path.display()
        )
    });
    format!(
        "version: 0.1\nlog:\n  level: info\nstorage:\n  filesystem:\n    rootdirectory: {}\n\
         http:\n  addr: 127.0.0.1:{port}\n{auth}",
        root.join("storage").display()
    )
}
