//! The Starling origin: the blob store of a cluster. It takes uploads (chunked and
//! monolithic, verified against their digest), reads blobs through from each
//! namespace's storage backend on a miss, generates and keeps each blob's `.torrent`,
//! writes uploads back to the backends through a persistent queue, copies them to
//! every owner on the origin hash ring, and seeds them to the swarm with the P2P engine.
//!
//! Layout, top-down:
//! - [`server`]: routes, request middleware, [`run`] and its shutdown order;
//! - [`handlers`]: thin HTTP wrappers (path parsing in [`handlers::extract`]);
//! - services: [`blobs`] (stat, read, read-through with [`single_flight`]),
//!   [`uploads`] (with [`sessions`] and [`ingest`]), [`metainfo`], [`tasks`]
//!   (SQLite queue, pins, runner: write-back and replication), [`seeding`] (the P2P
//!   engine, seeding on demand) with [`peer_identity`] (`GET /peer`);
//! - cluster: [`ring`] (owners of a digest), [`client`] (one origin),
//!   [`cluster`] (the ring with failover and [`health`] checks) — the public API that
//!   tracker, proxy and agents use;
//! - plumbing: [`state`], [`metrics`], [`error`], [`api_error`], [`paths`], [`backends`]
//!   (range parsing is `starling_core::range`).
//!
//! The HTTP API is documented in `docs/origin-api.md`.

pub mod api_error;
pub mod backends;
pub mod blobs;
pub mod client;
pub mod cluster;
pub mod error;
pub mod handlers;
pub mod health;
pub mod ingest;
pub mod metainfo;
pub mod metrics;
pub mod paths;
pub mod peer_identity;
pub mod ring;
pub mod seeding;
pub mod server;
pub mod sessions;
pub mod single_flight;
pub mod state;
pub mod tasks;
pub mod uploads;

pub use backends::BackendLookup;
pub use client::{BlobDownload, ClientError, ClientResult, OriginClient};
pub use cluster::OriginCluster;
pub use error::{Error, Result};
pub use peer_identity::OriginPeer;
pub use ring::OriginRing;
pub use server::{router, run, run_with_backends};
pub use state::OriginState;
