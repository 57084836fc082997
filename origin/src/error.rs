//! The origin's error type: one enum for the service layer, the task queue and startup.
//!
//! Variants a client can cause (unknown blob or upload, digest mismatch, a chunk out of
//! order, a short body) are distinct so that [`crate::api_error`] can map each to its
//! registry error code; everything else keeps its source and becomes a 5xx.

use std::path::PathBuf;
use std::sync::Arc;

use starling_core::{Digest, RepoName};
use thiserror::Error;

use starling_clients::origin::client::ClientError;

/// Everything that can go wrong inside an origin.
#[derive(Debug, Error)]
pub enum Error {
    #[error("blob {digest} is not in this origin nor in the backend of {namespace}")]
    BlobUnknown { namespace: RepoName, digest: Digest },

    #[error("upload of {expected} rejected: its content is {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("invalid {header} header {value:?}: {reason}")]
    BadHeader {
        header: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("body of {actual} bytes does not match the declared {expected} bytes")]
    BodyLength { expected: u64, actual: u64 },

    #[error("reading the request body failed after {received} bytes: {source}")]
    BodyRead {
        received: u64,
        #[source]
        source: BoxError,
    },

    #[error("range is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },

    #[error("store: cannot {action}: {source}")]
    Store {
        action: &'static str,
        #[source]
        source: starling_store::Error,
    },

    #[error("backend of {namespace}: cannot {action}: {source}")]
    Backend {
        namespace: RepoName,
        action: &'static str,
        #[source]
        source: starling_backend::Error,
    },

    #[error("backend of {namespace} sent {digest} with the wrong content: {actual}")]
    BackendCorrupt {
        namespace: RepoName,
        digest: Digest,
        actual: Digest,
    },

    #[error("cannot build the backends: {0}")]
    BackendConfig(#[source] starling_backend::Error),

    #[error("task queue: cannot {action}: {source}")]
    Queue {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    #[error("metainfo of {digest}: {source}")]
    Metainfo {
        digest: Digest,
        #[source]
        source: starling_core::Error,
    },

    #[error("cannot {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("origin {host}: {source}")]
    Peer {
        host: String,
        #[source]
        source: ClientError,
    },

    #[error("invalid configuration: {0}")]
    Config(String),

    #[error("a blocking task to {action} failed: {source}")]
    Task {
        action: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },

    /// A failure shared by every request that waited on the same single-flight fetch.
    #[error("{0}")]
    Shared(Arc<Error>),

    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),

    /// The `tls:` or `client_tls:` files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[source] starling_runtime::TlsError),

    #[error("binding the peer listener on {addr}: {source}")]
    PeerListener {
        addr: std::net::SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("p2p engine: {0}")]
    Engine(#[source] starling_p2p::Error),

    #[error("the origin's p2p engine is not running")]
    NotSeeding,
}

pub type Result<T> = std::result::Result<T, Error>;

/// The error of a body stream (an HTTP request body, a backend download).
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl Error {
    /// A range header that core's parser rejected, as the same client error the origin
    /// has always reported (416 or a bad `Content-Range`).
    pub(crate) fn from_range(source: starling_core::Error) -> Self {
        match source {
            starling_core::Error::RangeNotSatisfiable { size } => {
                Self::RangeNotSatisfiable { size }
            }
            starling_core::Error::BadHeader {
                header,
                value,
                reason,
            } => Self::BadHeader {
                header,
                value,
                reason,
            },
            other => Self::BadHeader {
                header: "Range",
                value: other.to_string(),
                reason: "unparseable",
            },
        }
    }

    pub(crate) fn store(action: &'static str) -> impl FnOnce(starling_store::Error) -> Self {
        move |source| match source {
            starling_store::Error::DigestMismatch {
                expected, actual, ..
            } => Self::DigestMismatch { expected, actual },
            source => Self::Store { action, source },
        }
    }

    pub(crate) fn backend(
        namespace: &RepoName,
        action: &'static str,
    ) -> impl FnOnce(starling_backend::Error) -> Self {
        let namespace = namespace.clone();
        move |source| Self::Backend {
            namespace,
            action,
            source,
        }
    }

    pub(crate) fn queue(action: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| Self::Queue { action, source }
    }

    pub(crate) fn io(action: &'static str, path: PathBuf) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    /// The error itself, looking through a shared single-flight failure.
    pub fn root(&self) -> &Error {
        match self {
            Self::Shared(inner) => inner.root(),
            other => other,
        }
    }
}

impl From<starling_runtime::TaskFailed> for Error {
    fn from(failed: starling_runtime::TaskFailed) -> Self {
        let starling_runtime::TaskFailed { action, source } = failed;
        Self::Task { action, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_digest_mismatches_become_client_errors() {
        let (expected, actual) = (Digest::of(b"a"), Digest::of(b"b"));
        let err = Error::store("commit")(starling_store::Error::DigestMismatch {
            kind: starling_store::CommitKind::Upload,
            expected,
            actual,
        });
        assert!(matches!(err, Error::DigestMismatch { .. }), "{err}");
        let shared = Error::Shared(Arc::new(err));
        assert!(matches!(shared.root(), Error::DigestMismatch { .. }));
        assert!(shared.to_string().contains(&actual.to_string()));
    }
}
