//! The build-index's error type, shared by the server side and [`starling_clients::build_index::client`].
//!
//! Variants say which operation failed and keep the source. How each maps to an HTTP
//! response is decided once, in [`crate::api_error`].

use starling_clients::BuildIndexError;
use thiserror::Error;

use starling_core::Digest;
use starling_core::registry::RegistryError;

/// Everything that can go wrong in the build-index and its client.
#[derive(Debug, Error)]
pub enum Error {
    /// A name, tag or digest sent by a client failed validation.
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    /// The `n` or `last` paging parameter is not acceptable.
    #[error("invalid paging parameter {name}: {reason}")]
    InvalidPage {
        name: &'static str,
        reason: &'static str,
    },

    /// A request header of the replication protocol is missing or malformed.
    #[error("invalid header {name}: {reason}")]
    InvalidHeader {
        name: &'static str,
        reason: &'static str,
    },

    /// The SQLite database failed.
    #[error("database: {action}: {source}")]
    Database {
        action: &'static str,
        #[source]
        source: rusqlite::Error,
    },

    /// The directory of the database file could not be created.
    #[error("creating {}: {source}", .path.display())]
    CreateDir {
        path: std::path::PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// A database task panicked or was cancelled.
    #[error("database task: {0}")]
    DatabaseTask(#[source] tokio::task::JoinError),

    /// The database holds a row that no longer parses (edited by hand, or corrupted).
    #[error("database row of {what} is corrupt: {reason}")]
    Corrupt { what: String, reason: String },

    /// A tag backend failed.
    #[error("tag backend: {action}: {source}")]
    Backend {
        action: &'static str,
        #[source]
        source: starling_backend::Error,
    },

    /// A request to another build-index could not be sent or its answer not read.
    #[error("request to {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// Another build-index answered with an unexpected status.
    #[error("HTTP {status} from {url}{}", .error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        error: Option<RegistryError>,
    },

    /// Another build-index answered 2xx with a body that does not parse.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },

    /// An origin (of this cluster or a remote one) failed while a tag was replicated to
    /// a remote cluster.
    #[error("origin: {action} {digest}: {source}")]
    Origin {
        action: &'static str,
        digest: Digest,
        /// Boxed: an origin error is large, and this enum is every `Result` here.
        #[source]
        source: Box<starling_clients::ClientError>,
    },

    /// A blob's body broke off while it was read from this cluster's origins.
    #[error("reading blob {digest} from the origins: {source}")]
    ReadBlob {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },

    /// A blob the tag needs is on none of this cluster's origins (nor their backends).
    #[error("blob {digest} is not on this cluster's origins")]
    BlobMissing { digest: Digest },

    /// The tag's digest, or a manifest an index lists, is no manifest that can be
    /// followed. Content-addressed, so retrying cannot help.
    #[error("manifest {digest}: {reason}")]
    Manifest { digest: Digest, reason: String },

    /// A cluster client was built from an empty host list.
    #[error("no build-index hosts given")]
    NoHosts,

    /// The HTTP server failed while accepting or serving connections.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),

    /// The `tls:` or `client_tls:` files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[source] starling_runtime::TlsError),
}

impl Error {
    /// Builds the [`Error::Database`] mapper for one action.
    pub(crate) fn db(action: &'static str) -> impl FnOnce(rusqlite::Error) -> Self {
        move |source| Self::Database { action, source }
    }

    /// Builds the [`Error::Backend`] mapper for one action.
    pub(crate) fn backend(action: &'static str) -> impl FnOnce(starling_backend::Error) -> Self {
        move |source| Self::Backend { action, source }
    }
}

impl From<BuildIndexError> for Error {
    fn from(source: BuildIndexError) -> Self {
        match source {
            BuildIndexError::Invalid(core) => Self::Invalid(core),
            BuildIndexError::InvalidPage { name, reason } => Self::InvalidPage { name, reason },
            BuildIndexError::Request { url, source } => Self::Request { url, source },
            BuildIndexError::Status { url, status, error } => Self::Status { url, status, error },
            BuildIndexError::InvalidResponse { url, reason } => {
                Self::InvalidResponse { url, reason }
            }
            BuildIndexError::NoHosts => Self::NoHosts,
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;
