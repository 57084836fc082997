//! What every benchmark needs before it measures: a data directory, enough open files
//! for many agents in one process, and a cluster on ephemeral loopback ports.

use std::path::{Path, PathBuf};

use anyhow::Context;
use starling_cluster::{ClusterSpec, LocalCluster, PortPlan};
use starling_config::ByteRate;
use tempfile::TempDir;

use crate::bench::args::{DataDirArg, TopologyArg};

/// The benchmark's data directory: the one given, or a temporary one removed on drop.
pub struct DataDir {
    path: PathBuf,
    _temp: Option<TempDir>,
}

impl DataDir {
    pub fn new(arg: &DataDirArg) -> anyhow::Result<Self> {
        match &arg.data_dir {
            Some(path) => {
                std::fs::create_dir_all(path)
                    .with_context(|| format!("creating the data directory {}", path.display()))?;
                Ok(Self {
                    path: path.clone(),
                    _temp: None,
                })
            }
            None => {
                let temp = tempfile::Builder::new()
                    .prefix("starling-bench-")
                    .tempdir()
                    .context("creating a temporary data directory")?;
                Ok(Self {
                    path: temp.path().to_owned(),
                    _temp: Some(temp),
                })
            }
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// Rate caps of the cluster's peer ports (the origin cap is per origin); `None` is
/// unlimited.
#[derive(Debug, Clone, Copy, Default)]
pub struct Rates {
    pub agent: Option<ByteRate>,
    pub origin: Option<ByteRate>,
}

/// Starts proxy, the origins of `topology`, tracker, build-index and `agents` agents
/// under `dir/cluster`.
pub async fn start_cluster(
    dir: &Path,
    agents: usize,
    topology: TopologyArg,
    rates: Rates,
) -> anyhow::Result<LocalCluster> {
    let spec = ClusterSpec {
        data_dir: dir.join("cluster"),
        agents,
        origins: topology.origins,
        replicas: topology.replicas(),
        ports: PortPlan::Ephemeral,
        upstream_registry: None,
        upstream_mirror_of: None,
        agent_rate: rates.agent,
        origin_rate: rates.origin,
        tls: false,
        proxy_notifications: false,
        preheat: None,
        proxy_htpasswd: None,
        private_repositories: Vec::new(),
    };
    LocalCluster::start(spec)
        .await
        .context("starting the local cluster")
}

pub const OPEN_FILES_CEILING: u64 = 1 << 20;

/// Raises the soft limit on open files to the hard limit: every agent of an in-process
/// cluster holds listeners, peer connections (both ends live in this process) and store
/// files. Returns the soft limit now in force. An unlimited hard limit is met at
/// [`OPEN_FILES_CEILING`], Linux's default `nr_open`, above which the call would fail.
pub fn raise_open_files_limit() -> std::io::Result<u64> {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes into the struct passed, which we own.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    let wanted = limit.rlim_max.min(OPEN_FILES_CEILING);
    if limit.rlim_cur < wanted {
        limit.rlim_cur = wanted;
        // SAFETY: setrlimit only reads the struct passed.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &limit) } != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(limit.rlim_cur)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn open_files_limit_ends_at_the_hard_limit_or_the_ceiling() {
        let soft = raise_open_files_limit().unwrap();
        let mut limit = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: as in raise_open_files_limit.
        assert_eq!(
            unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) },
            0
        );
        assert_eq!(soft, limit.rlim_cur);
        assert!(limit.rlim_cur >= limit.rlim_max.min(OPEN_FILES_CEILING));
    }
}
