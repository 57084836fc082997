//! The Starling agent, one per node: the Docker Registry v2 read API that docker and
//! containerd pull from on localhost, backed by the P2P swarm.
//!
//! A pull resolves a tag at the build-index ([`tags`]), then fetches the manifest and
//! every blob by digest through the node's BitTorrent engine (`starling_p2p::Engine`):
//! metainfo from the tracker, pieces from other agents and the origins, each piece
//! checked against its SHA-1 and the whole blob against its sha256 before it enters the
//! node's cache. Blob bodies stream to the client while pieces arrive, so the first
//! bytes leave long before the blob is complete; `Range` requests are answered 206.
//!
//! Layout, top-down:
//! - [`server`]: [`run`], the registry and admin routers, shutdown order;
//! - [`access`]: the client allow-list of the registry port;
//! - [`pull_auth`]: credentials for private repositories, checked with a registry;
//! - [`dispatch`]: the registry catch-all (path parser, `?ns=`, (method, endpoint) table);
//! - services: [`manifests`], [`blobs`], [`tags`] (build-index lookups with a short cache);
//! - [`preheat`]: preloading images ahead of the runtime (on demand and on push);
//! - plumbing: [`namespace`] (containerd's `?ns=`), [`state`], [`error`], [`metrics`],
//!   [`responses`].
//!
//! The API is documented in `docs/agent-api.md`.

pub mod access;
mod api_error;
pub mod blobs;
pub mod dispatch;
pub mod error;
pub mod manifests;
pub mod metrics;
pub mod namespace;
pub mod preheat;
pub mod pull_auth;
pub mod responses;
pub mod server;
pub mod state;
pub mod tags;

pub use error::{Error, Result};
pub use server::{AgentListeners, run};
pub use state::AgentState;
