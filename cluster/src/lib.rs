//! A whole Starling cluster in one process: proxy, a ring of origins (two with replicas 2
//! by default, the topology of a deployment), tracker, build-index and N agents on
//! loopback, sharing one data directory.
//!
//! `starling dev` runs it on the ports of ARCHITECTURE.md (proxy 15000, origin 0 on
//! 15001/15002, tracker 15003, build-index 15004, origin k on 15001+100k/15002+100k,
//! agent k on 16000+1000k..16002+1000k); the benchmarks run it on ephemeral ports with
//! rate caps. Each component is the same `run` function its own `starling <component>`
//! process calls, on listeners bound here first, so every address is known before any
//! component starts and a port already in use is reported before anything runs.
//!
//! - [`spec`]: what to start ([`ClusterSpec`]) and the port plan;
//! - [`configs`]: the configuration of every component for a spec;
//! - [`running`]: [`LocalCluster`], start, readiness, shutdown;
//! - [`token`]: the cluster's bearer token, `<data dir>/auth-token`.

pub mod configs;
pub mod running;
pub mod spec;
pub mod tls;
pub mod token;

pub use configs::ClusterConfigs;
pub use running::{AgentAddrs, ClusterError, LocalCluster};
pub use spec::{ClusterSpec, DEFAULT_ORIGINS, MAX_FIXED_ORIGINS, PortPlan, default_replicas};
pub use tls::TlsLayout;
