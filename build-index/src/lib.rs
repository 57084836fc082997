//! The Starling build-index: maps `repo:tag` to a manifest digest for pushers (the
//! proxy) and pullers (agents).
//!
//! Tags live in a local SQLite database (the source of truth), are written through to
//! the tag backend chosen per repository, and are read through from it on a local miss
//! (which is how an upstream-registry backend serves tags). Every put is forwarded to the
//! other build-index replicas of the cluster; failed forwards are retried from a
//! persistent queue. A client put of a repository matching a `remotes` entry is sent to
//! that remote cluster, once every blob the tag needs is on the remote origins. The
//! HTTP API is described in `docs/build-index-api.md`.
//!
//! Layout, top-down: [`server`] (routes, `run`, shutdown order) -> [`handlers`] (thin
//! HTTP wrappers) -> [`service`] (put, get, list: the rules) and [`referrers`] (the
//! manifests pushed with a `subject`) -> [`store`] (SQLite tags, referrers and the two
//! task queues), [`replication`] (forwards to replicas and the retry loop),
//! [`remotes`] (cross-cluster replication, blobs first); plus [`api_error`],
//! [`metrics`], [`clock`] and [`locks`]. The client, the paths, headers and bodies it
//! shares with the server, and paging live in `starling_clients::build_index`.

pub mod api_error;
pub mod clock;
pub mod error;
pub mod handlers;
pub mod locks;
pub mod metrics;
pub mod referrers;
pub mod remotes;
pub mod replication;
pub mod server;
pub mod service;
pub mod state;
pub mod store;

pub use error::{Error, Result};
pub use server::{router, run};
pub use state::BuildIndexState;
