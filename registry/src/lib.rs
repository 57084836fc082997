//! The parts of the Docker Registry HTTP API v2 (OCI distribution spec) that both of
//! Starling's registries serve alike: the agent (pulls on every node) and the proxy
//! (pushes and pulls for builders). Keeping them here is what lets the two answer a pull
//! with the same headers, bodies and errors without either depending on the other.
//!
//! - [`headers`]: header names and the one way to turn a validated value into a header;
//! - [`paths`]: the URLs handed out in `Location` and `Link` headers;
//! - [`query`]: a request's query parameters;
//! - [`listing`]: `tags/list` and `_catalog` from the build-index, paged, and the
//!   referrers of a manifest, with [`ListingError`];
//! - [`responses`]: typed answers (`GET /v2/`, a page, a referrers index, a blob's
//!   headers, a manifest);
//! - [`build_index_errors`]: which build-index failures are the client's mistake.
//!
//! Path parsing, names, digests and manifest checks are wire formats and live in
//! `starling_core::registry`; this crate adds what needs HTTP types and the clients.

pub mod build_index_errors;
pub mod headers;
pub mod listing;
pub mod paths;
pub mod query;
pub mod responses;

pub use listing::{Listed, ListingError, ListingService, Referrers};
pub use query::RegistryQuery;
pub use responses::{BlobStat, ManifestBody, StoredManifest, blob_headers, paged, ping};
