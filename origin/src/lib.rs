//! The Starling origin: the blob store of a cluster. It takes uploads (chunked and
//! monolithic, verified against their digest), reads blobs through from each
//! namespace's storage backend on a miss, generates and keeps each blob's `.torrent`,
//! writes uploads back to the backends through a persistent queue, copies them to
//! every owner on the origin hash ring, and seeds them to the swarm with the P2P engine.
//!
//! Layout, top-down:
//! - [`server`]: routes, request middleware, [`run`] and its shutdown order;
//! - [`handlers`]: thin HTTP wrappers (path parsing in [`handlers::extract`]);
//! - services: [`blobs`] (stat, read, read-through with [`flights`]),
//!   [`uploads`] (whole blobs only, with [`ingest`]), [`metainfo`], [`tasks`]
//!   (SQLite queue, pins, runner: write-back and replication), [`seeding`] (the P2P
//!   engine, seeding on demand), whose identity `GET /peer` reports; [`warming`]
//!   (push notifications turned into prefetches on the owners);
//! - the cluster as clients see it (ring, one-origin client, failover, health checks)
//!   and the paths the routes share with it live in `starling_clients::origin`, below
//!   every component that talks to origins;
//! - plumbing: [`state`], [`metrics`], [`error`], [`api_error`], [`paths`], [`backends`]
//!   (range parsing is `starling_core::range`).
//!
//! The HTTP API is documented in `docs/origin-api.md`.

pub mod api_error;
pub mod backends;
pub mod blobs;
pub mod error;
pub mod flights;
pub mod handlers;
pub mod ingest;
pub mod metainfo;
pub mod metrics;
pub mod seeding;
pub mod server;
pub mod state;
pub mod tasks;
pub mod uploads;
pub mod warming;

pub use backends::BackendLookup;
pub use error::{Error, Result};
pub use server::{router, run, run_with_backends};
pub use state::OriginState;
