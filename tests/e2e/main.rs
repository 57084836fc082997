//! End-to-end tests of a whole Starling cluster (`starling_cluster::LocalCluster`: proxy,
//! origin, tracker, build-index and agents on loopback) with real clients: pushes go to
//! the proxy, pulls go through an agent and so through the BitTorrent swarm.

mod agent_api;
mod conformance;
mod containerd;
mod disk_full;
mod docker;
mod mirrors;
mod oras;
mod podman;
mod preheat;
mod pull_auth;
mod referrers;
mod skopeo;
mod support;
mod tls;
