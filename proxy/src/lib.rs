//! The Starling proxy: the Docker Registry HTTP API v2 (OCI distribution spec) for CI
//! and builders — the push side (uploads, monolithic and chunked, cross-repository
//! mounts, manifests by tag and digest) and pulls for machines without an agent. Blobs
//! and manifests go to the origin ring, tags to the build-index; the proxy itself keeps
//! only uploads in progress.
//!
//! Layout, top-down:
//! - [`server`]: the router, [`run`] and its shutdown order;
//! - [`dispatch`]: the catch-all registry route — authorization ([`auth`]), the path
//!   parser, the (method, endpoint) table;
//! - [`handlers`]: thin wrappers with typed responses; [`request`] reads query and
//!   headers into typed values;
//! - services: [`uploads`] (temp files and sessions), [`blobs`], [`manifests`] (with the
//!   pure manifest checks of `starling_core::registry::manifest`); listings, headers,
//!   URLs and the read-side answers are `starling_registry`'s, shared with the agent;
//! - [`notify`]: push events to the configured endpoints, in the background;
//! - plumbing: [`state`], [`error`], [`api_error`], [`metrics`].
//!
//! The HTTP API is documented in `docs/proxy-api.md`.

pub mod api_error;
pub mod auth;
pub mod blobs;
pub mod dispatch;
pub mod error;
pub mod handlers;
pub mod manifests;
pub mod metrics;
pub mod notify;
pub mod request;
pub mod server;
pub mod state;
pub mod uploads;

pub use error::{Error, Result};
pub use server::{router, run};
pub use state::ProxyState;
