//! Typed clients of Starling's servers, for every crate that talks to them: components
//! never import each other, so the client of a server lives here, below them all, and
//! the server and its clients share one set of paths and wire types.
//!
//! - [`origin`]: one origin ([`OriginClient`]), the ring of origins ([`OriginRing`]) and
//!   the cluster view with failover and active health checks ([`OriginCluster`]); also
//!   the paths the origin server routes and the `GET /peer` body;
//! - [`build_index`]: one build-index ([`BuildIndexClient`]) or a list of them
//!   ([`BuildIndexCluster`]), the API paths and bodies, paging, and the tag update
//!   replicas exchange;
//! - [`InternalHttp`]: the HTTP client both use, and whether hosts speak HTTPS.

pub mod build_index;
mod http;
pub mod origin;

pub use build_index::client::{BuildIndexClient, BuildIndexCluster, PutOutcome};
pub use build_index::error::{BuildIndexError, BuildIndexResult};
pub use build_index::paging::{Page, PageRequest};
pub use http::InternalHttp;
pub use origin::client::{BlobDownload, ClientError, ClientResult, OriginClient};
pub use origin::cluster::OriginCluster;
pub use origin::peer_identity::OriginPeer;
pub use origin::ring::OriginRing;
