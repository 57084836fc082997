//! The error type of the backend crate: every variant says which operation failed on what.
//!
//! [`Error::NotFound`] is its own variant because callers branch on it (a read-through
//! cache miss is not a failure); everything else is reported, not matched on.

use thiserror::Error;

use starling_core::RepoName;

use crate::key::Key;

/// Errors from choosing, configuring and using a storage backend.
#[derive(Debug, Error)]
pub enum Error {
    #[error("{key} not found in the backend")]
    NotFound { key: Key },

    #[error("backend is read-only: cannot upload {key}")]
    ReadOnly { key: Key },

    #[error("the {backend} backend cannot {operation}")]
    Unsupported {
        backend: &'static str,
        operation: &'static str,
    },

    #[error("no backend is configured for namespace {namespace}")]
    NoBackend { namespace: RepoName },

    #[error("invalid backend configuration {field}: {reason}")]
    Config { field: &'static str, reason: String },

    #[error("object store: {0}")]
    ObjectStore(#[from] object_store::Error),

    #[error("HTTP {status} from {url}")]
    Http { url: String, status: u16 },

    #[error("request to {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("not authorized at {url}: {reason}")]
    Unauthorized { url: String, reason: String },

    #[error("invalid response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },

    #[error("uploaded body of {key} was rejected: {source}")]
    BodyMismatch {
        key: Key,
        #[source]
        source: Box<starling_core::Error>,
    },

    #[error("{key} holds an invalid digest: {source}")]
    InvalidTagContent {
        key: Key,
        #[source]
        source: Box<starling_core::Error>,
    },

    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

impl Error {
    /// True when the object does not exist, as opposed to the backend failing.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }
}

pub type Result<T> = std::result::Result<T, Error>;
