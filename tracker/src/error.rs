//! The tracker's error type.
//!
//! Announce errors are shown to BitTorrent clients verbatim as the bencoded
//! `failure reason`, so their messages are short, stable and name the parameter
//! ("missing info_hash", "info_hash must be 20 bytes", "invalid port: ..."); the query
//! errors come from the shared codec (`starling_core::announce::QueryError`).
//!
//! Metainfo errors are shared by every caller of one single-flight fetch, so the type is
//! `Clone` (non-`Clone` sources are held in an `Arc`); `crate::api_error` maps them to
//! registry error bodies.

use std::sync::Arc;

use starling_clients::ClientError;
use starling_core::Digest;
use starling_core::announce::{QueryError, ResponseError};
use thiserror::Error;

/// Everything that can go wrong in the tracker.
#[derive(Debug, Clone, Error)]
pub enum Error {
    /// The announce query did not decode (the shared codec names the parameter).
    #[error(transparent)]
    Query(#[from] QueryError),

    /// A parameter decoded fine but the tracker does not accept it (an `ip` no peer
    /// can be at).
    #[error("invalid {name}: {reason}")]
    InvalidParam {
        name: &'static str,
        reason: &'static str,
    },

    /// The announce response could not be bencoded (a bug, never a client's fault).
    #[error(transparent)]
    Encode(ResponseError),

    /// No origin owning the digest holds the blob, and neither does its backend.
    #[error("blob {digest} is unknown to its origins")]
    BlobUnknown { digest: Digest },

    /// The origins owning the digest are unreachable or failed to answer.
    #[error("origins could not serve the metainfo of {digest}: {source}")]
    OriginUnavailable {
        digest: Digest,
        source: Arc<ClientError>,
    },

    /// An origin answered with the torrent of another blob (named `found`).
    #[error("origin sent metainfo named {found:?} for {digest}")]
    WrongMetainfo { digest: Digest, found: String },

    /// A shared metainfo fetch ended without a result (its task panicked).
    #[error("the metainfo fetch of {digest} ended without a result")]
    FetchAbandoned { digest: Digest },

    /// The HTTP server failed while accepting or serving connections.
    #[error("serving HTTP: {0}")]
    Serve(#[source] Arc<std::io::Error>),

    /// The `tls:` or `client_tls:` files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[source] Arc<starling_runtime::TlsError>),
}

impl Error {
    /// `Error::Serve` from an I/O error.
    pub fn serve(error: std::io::Error) -> Self {
        Self::Serve(Arc::new(error))
    }

    /// `Error::Tls` from a TLS setup error.
    pub fn tls(error: starling_runtime::TlsError) -> Self {
        Self::Tls(Arc::new(error))
    }
}

pub type Result<T> = std::result::Result<T, Error>;
