//! What a local cluster is made of.

use std::path::PathBuf;

use starling_config::ByteRate;

/// Where the components listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// The dev-cluster ports of design.md, shifted by `base - 15000`: proxy `base`,
    /// origin peer `base+1`, origin `base+2`, tracker `base+3`, build-index `base+4`;
    /// agent k on `base+1000(k+1)` (registry), `+1` (peer), `+2` (admin).
    Fixed { base: u16 },
    /// Any free loopback ports (benchmarks, tests).
    Ephemeral,
}

impl PortPlan {
    /// The dev cluster of design.md.
    pub const DEV: PortPlan = PortPlan::Fixed { base: 15000 };

    /// The port of a cluster service (`offset` 0..=4) or of agent `k` (`offset` 0..=2).
    pub(crate) fn port(self, agent: Option<usize>, offset: u16) -> Option<u16> {
        let PortPlan::Fixed { base } = self else {
            return Some(0);
        };
        let agent_base = match agent {
            None => 0,
            Some(k) => 1000 * (k as u32 + 1),
        };
        u16::try_from(u32::from(base) + agent_base + u32::from(offset)).ok()
    }
}

/// Everything [`crate::LocalCluster::start`] needs.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Holds every component's data: stores, databases, the filesystem backend.
    pub data_dir: PathBuf,
    pub agents: usize,
    pub ports: PortPlan,
    /// Read blobs and tags through from this registry instead of the filesystem backend.
    pub upstream_registry: Option<String>,
    /// Ingress and egress cap of every agent (benchmarks).
    pub agent_rate: Option<ByteRate>,
    /// Egress cap of the origin's peer port (benchmarks).
    pub origin_rate: Option<ByteRate>,
}

impl ClusterSpec {
    /// A dev cluster under `data_dir` with `agents` agents on the design ports.
    pub fn dev(data_dir: impl Into<PathBuf>, agents: usize) -> Self {
        Self {
            data_dir: data_dir.into(),
            agents,
            ports: PortPlan::DEV,
            upstream_registry: None,
            agent_rate: None,
            origin_rate: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_ports_follow_the_design() {
        let plan = PortPlan::DEV;
        let cluster: Vec<_> = (0..5).map(|o| plan.port(None, o).unwrap()).collect();
        assert_eq!(cluster, [15000, 15001, 15002, 15003, 15004]);
        assert_eq!(plan.port(Some(0), 0), Some(16000));
        assert_eq!(plan.port(Some(0), 2), Some(16002));
        assert_eq!(plan.port(Some(3), 1), Some(19001));
        assert_eq!(plan.port(Some(60), 0), None, "past 65535");
        assert_eq!(PortPlan::Ephemeral.port(Some(60), 0), Some(0));
    }
}
