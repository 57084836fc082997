//! What a local cluster is made of, and where each part listens.

use std::path::PathBuf;

use starling_config::{ByteRate, PreheatConfig};

/// Origins a cluster runs unless told otherwise: the topology of a deployment.
pub const DEFAULT_ORIGINS: usize = 2;

/// Origins that fit between the cluster's services and agent 0 in a [`PortPlan::Fixed`]
/// (origin k at `base+100k+1`, so origin 10 would take agent 0's peer port).
pub const MAX_FIXED_ORIGINS: usize = 10;

/// The replicas of a ring of `origins` origins: two copies of every blob, or one when
/// there is only one origin.
pub fn default_replicas(origins: usize) -> usize {
    origins.min(2)
}

/// Where the components listen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PortPlan {
    /// The dev-cluster ports of ARCHITECTURE.md, shifted by `base - 15000`: proxy `base`,
    /// origin 0 peer `base+1` and HTTP `base+2`, tracker `base+3`, build-index `base+4`;
    /// origin k peer `base+100k+1` and HTTP `base+100k+2` (origin 1: 15101, 15102);
    /// agent k on `base+1000(k+1)` (registry), `+1` (peer), `+2` (admin).
    Fixed { base: u16 },
    /// Any free loopback ports (benchmarks, tests).
    Ephemeral,
}

/// One listener of the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Slot {
    Proxy,
    Tracker,
    BuildIndex,
    OriginPeer(usize),
    OriginHttp(usize),
    /// Agent k's registry (0), peer (1) or admin (2) port.
    Agent(usize, u16),
}

impl PortPlan {
    /// The dev cluster of ARCHITECTURE.md ("Ports").
    pub const DEV: PortPlan = PortPlan::Fixed { base: 15000 };

    /// The port of `slot`: 0 (any) in an ephemeral plan, `None` past 65535.
    pub(crate) fn port(self, slot: Slot) -> Option<u16> {
        let PortPlan::Fixed { base } = self else {
            return Some(0);
        };
        let offset = match slot {
            Slot::Proxy => 0,
            Slot::Tracker => 3,
            Slot::BuildIndex => 4,
            Slot::OriginPeer(k) => 100 * k as u64 + 1,
            Slot::OriginHttp(k) => 100 * k as u64 + 2,
            Slot::Agent(k, offset) => 1000 * (k as u64 + 1) + u64::from(offset),
        };
        u16::try_from(u64::from(base) + offset).ok()
    }
}

/// Everything [`crate::LocalCluster::start`] needs.
#[derive(Debug, Clone)]
pub struct ClusterSpec {
    /// Holds every component's data: stores, databases, the filesystem backend.
    pub data_dir: PathBuf,
    pub agents: usize,
    /// Origins on the ring (at least 1; at most [`MAX_FIXED_ORIGINS`] on fixed ports).
    pub origins: usize,
    /// Origins that hold each blob (1 to `origins`).
    pub replicas: usize,
    pub ports: PortPlan,
    /// Read blobs and tags through from this registry instead of the filesystem backend.
    pub upstream_registry: Option<String>,
    /// The registry `upstream_registry` mirrors (`docker.io`): only repositories under
    /// that name (`docker.io/library/alpine`) are read through, with the name stripped
    /// upstream; everything else stays on the filesystem backend. Unset: the upstream
    /// holds every repository under its own names.
    pub upstream_mirror_of: Option<String>,
    /// Ingress and egress cap of every agent (benchmarks).
    pub agent_rate: Option<ByteRate>,
    /// Egress cap of every origin's peer port (benchmarks).
    pub origin_rate: Option<ByteRate>,
    /// Every HTTP listener and client on HTTPS, mutual TLS between the cluster's
    /// services, with certificates made under `<data_dir>/tls` ([`crate::tls`]).
    pub tls: bool,
    /// The proxy posts every manifest push to origin 0's `POST /notifications`, which
    /// warms the image on its owners.
    pub proxy_notifications: bool,
    /// Every agent's `preheat:` (pull-ahead of pushed tags); `None` leaves it off.
    pub preheat: Option<PreheatConfig>,
    /// Apache htpasswd file (bcrypt) whose users the proxy requires on pushes and
    /// listings.
    pub proxy_htpasswd: Option<PathBuf>,
    /// Repository regexes whose pulls through the agents need credentials the proxy
    /// accepts: the agents' `pull_auth`, checked against the proxy.
    pub private_repositories: Vec<String>,
}

impl ClusterSpec {
    /// A dev cluster under `data_dir` with `agents` agents on the design ports: two
    /// origins with replicas 2, as a deployment runs them.
    pub fn dev(data_dir: impl Into<PathBuf>, agents: usize) -> Self {
        Self {
            data_dir: data_dir.into(),
            agents,
            origins: DEFAULT_ORIGINS,
            replicas: default_replicas(DEFAULT_ORIGINS),
            ports: PortPlan::DEV,
            upstream_registry: None,
            upstream_mirror_of: None,
            agent_rate: None,
            origin_rate: None,
            tls: false,
            proxy_notifications: false,
            preheat: None,
            proxy_htpasswd: None,
            private_repositories: Vec::new(),
        }
    }

    /// This spec with `origins` origins and [`default_replicas`] of them per blob.
    pub fn with_origins(self, origins: usize) -> Self {
        Self {
            origins,
            replicas: default_replicas(origins),
            ..self
        }
    }

    /// Why this spec cannot run, if it cannot.
    pub fn check(&self) -> Result<(), String> {
        if self.origins == 0 {
            return Err("a cluster needs at least 1 origin".into());
        }
        if self.replicas == 0 || self.replicas > self.origins {
            return Err(format!(
                "replicas must be between 1 and the number of origins ({}), not {}",
                self.origins, self.replicas
            ));
        }
        if matches!(self.ports, PortPlan::Fixed { .. }) && self.origins > MAX_FIXED_ORIGINS {
            return Err(format!(
                "at most {MAX_FIXED_ORIGINS} origins fit below agent 0's ports, not {}",
                self.origins
            ));
        }
        for pattern in &self.private_repositories {
            starling_config::pattern::anchored(pattern)
                .map_err(|e| format!("private repository pattern {pattern:?}: {e}"))?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_ports_follow_the_design() {
        let plan = PortPlan::DEV;
        let cluster: Vec<_> = [
            Slot::Proxy,
            Slot::OriginPeer(0),
            Slot::OriginHttp(0),
            Slot::Tracker,
            Slot::BuildIndex,
        ]
        .into_iter()
        .map(|slot| plan.port(slot).unwrap())
        .collect();
        assert_eq!(cluster, [15000, 15001, 15002, 15003, 15004]);
        assert_eq!(plan.port(Slot::OriginPeer(1)), Some(15101));
        assert_eq!(plan.port(Slot::OriginHttp(1)), Some(15102));
        assert_eq!(plan.port(Slot::OriginHttp(9)), Some(15902));
        assert_eq!(plan.port(Slot::Agent(0, 0)), Some(16000));
        assert_eq!(plan.port(Slot::Agent(0, 2)), Some(16002));
        assert_eq!(plan.port(Slot::Agent(3, 1)), Some(19001));
        assert_eq!(plan.port(Slot::Agent(60, 0)), None, "past 65535");
        assert_eq!(PortPlan::Ephemeral.port(Slot::Agent(60, 0)), Some(0));
    }

    #[test]
    fn the_default_topology_is_two_origins_with_two_replicas() {
        let spec = ClusterSpec::dev("/data", 1);
        assert_eq!((spec.origins, spec.replicas), (2, 2));
        assert_eq!(spec.check(), Ok(()));
        let one = spec.clone().with_origins(1);
        assert_eq!((one.origins, one.replicas), (1, 1));
        let three = spec.clone().with_origins(3);
        assert_eq!((three.origins, three.replicas), (3, 2));
        assert!(spec.clone().with_origins(0).check().is_err());
        assert!(
            spec.clone().with_origins(11).check().is_err(),
            "fixed ports"
        );
        let many = ClusterSpec {
            ports: PortPlan::Ephemeral,
            ..spec.clone().with_origins(11)
        };
        assert_eq!(many.check(), Ok(()));
        let over = ClusterSpec {
            replicas: 3,
            ..spec
        };
        assert!(over.check().is_err());
    }
}
