//! The agent's errors; their registry error responses are in [`crate::api_error`].

use std::net::IpAddr;

use starling_core::registry::Reference;
use starling_core::{Digest, RepoName};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    #[error(
        "registry {ns:?} (from ?ns=) is not a registry host or host:port; list it in the \
         agent's cluster_registries if it is this cluster's proxy"
    )]
    MirrorNamespace { ns: String },

    #[error("building the HTTP client: {0}")]
    HttpClient(String),

    #[error("client {client} is not in the agent's allowed_clients")]
    Denied { client: IpAddr },

    #[error("manifest {reference} of {name} is unknown")]
    ManifestUnknown {
        name: RepoName,
        reference: Reference,
    },

    #[error("blob {digest} of {name} is unknown")]
    BlobUnknown { name: RepoName, digest: Digest },

    #[error("no disk space in the node's blob cache for {digest}: {source}")]
    OutOfSpace {
        digest: Digest,
        #[source]
        source: starling_p2p::Error,
    },

    #[error("the range is outside the blob's {size} bytes")]
    RangeNotSatisfiable { size: u64 },

    #[error("{method} is not supported on {what}: the agent serves pulls only")]
    Unsupported { method: String, what: &'static str },

    #[error("build-index: {action}: {source}")]
    BuildIndex {
        action: &'static str,
        #[source]
        source: starling_clients::BuildIndexError,
    },

    #[error(transparent)]
    Listing(#[from] starling_registry::ListingError),

    #[error("swarm: {action}: {source}")]
    Swarm {
        action: &'static str,
        #[source]
        source: starling_p2p::Error,
    },

    #[error("reading {digest} from the swarm: {source}")]
    SwarmStream {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },

    #[error("opening the blob cache: {0}")]
    Store(#[from] starling_store::Error),

    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),

    /// The `tls:` or `client_tls:` files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[source] starling_runtime::TlsError),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn swarm(action: &'static str) -> impl FnOnce(starling_p2p::Error) -> Self {
        move |source| Self::Swarm { action, source }
    }

    pub(crate) fn build_index(
        action: &'static str,
    ) -> impl FnOnce(starling_clients::BuildIndexError) -> Self {
        move |source| Self::BuildIndex { action, source }
    }
}
