//! The proxy's error type: one enum for request handling and startup.
//!
//! Variants a registry client can cause (a bad digest, an unknown upload, a chunk out of
//! order, a manifest naming missing blobs, missing credentials) are distinct so that
//! [`crate::api_error`] can map each to the spec's code; failures of the origins and the
//! build-index keep their source and become 5xx answers.

use std::path::PathBuf;

use starling_clients::ClientError;
use starling_core::registry::{Reference, UploadRef};
use starling_core::{Digest, RepoName};
use thiserror::Error;

/// The error of a request body stream.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Everything that can go wrong inside the proxy.
#[derive(Debug, Error)]
pub enum Error {
    /// A name, tag, digest or upload id in the request failed validation.
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    #[error("the {action} request needs the digest query parameter (?digest=sha256:…)")]
    DigestMissing { action: &'static str },

    #[error("upload rejected: the content is {actual}, not {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error(
        "upload {id} is unknown (never started, finished, cancelled, idle too long or for another repository)"
    )]
    UploadUnknown { id: UploadRef },

    #[error("too many uploads open (at most {limit}{})", client.map(|c| format!(" for {c}")).unwrap_or_default())]
    TooManyUploads {
        client: Option<std::net::IpAddr>,
        limit: usize,
    },

    #[error("chunk must start at offset {offset} of upload {id}, not at {start}")]
    ChunkOutOfOrder {
        name: RepoName,
        id: UploadRef,
        offset: u64,
        start: u64,
    },

    #[error("invalid {header} header {value:?}: {reason}")]
    BadHeader {
        header: &'static str,
        value: String,
        reason: String,
    },

    #[error("body of {actual} bytes does not match the declared {expected} bytes")]
    BodyLength { expected: u64, actual: u64 },

    #[error("reading the request body failed after {received} bytes: {source}")]
    BodyRead {
        received: u64,
        #[source]
        source: BoxError,
    },

    #[error("blob {digest} of {name} is not in the origin cluster")]
    BlobUnknown { name: RepoName, digest: Digest },

    #[error("range is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },

    #[error("manifest {reference} of {name} is unknown")]
    ManifestUnknown {
        name: RepoName,
        reference: Reference,
    },

    #[error("manifest invalid: {reason}")]
    ManifestInvalid { reason: String },

    /// A descriptor that disagrees with what the origins store: a size other than the
    /// blob's, or an index child that is not a manifest.
    #[error("manifest invalid: {field} ({digest}): {reason}")]
    DescriptorInvalid {
        field: String,
        digest: Digest,
        reason: String,
    },

    #[error("manifest is larger than the limit of {limit} bytes")]
    ManifestTooLarge { limit: u64 },

    #[error("manifest references {digest}, which is not in the origin cluster")]
    ManifestBlobUnknown { digest: Digest },

    #[error("authentication required")]
    CredentialsMissing,

    #[error("invalid credentials for {user:?}")]
    CredentialsInvalid { user: String },

    #[error("{method} is not supported on {what}")]
    Unsupported { method: String, what: &'static str },

    #[error("origin cluster: cannot {action}: {source}")]
    Origin {
        action: &'static str,
        #[source]
        source: ClientError,
    },

    #[error("origin cluster: {action} broke off: {source}")]
    OriginStream {
        action: &'static str,
        #[source]
        source: std::io::Error,
    },

    #[error("build-index: cannot {action}: {source}")]
    BuildIndex {
        action: &'static str,
        #[source]
        source: starling_clients::BuildIndexError,
    },

    #[error("cannot {action} {}: {source}", .path.display())]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("htpasswd file {}: line {line}: {reason}", .path.display())]
    Htpasswd {
        path: PathBuf,
        line: usize,
        reason: String,
    },

    #[error("a blocking task to {action} failed: {source}")]
    Task {
        action: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },

    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),

    /// The `tls:` or `client_tls:` files cannot be used.
    #[error("TLS: {0}")]
    Tls(#[source] starling_runtime::TlsError),

    /// A `notifications.endpoints` entry cannot be used (a header or TLS setup).
    #[error("notifications: {0}")]
    Notifications(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub(crate) fn io(action: &'static str, path: PathBuf) -> impl FnOnce(std::io::Error) -> Self {
        move |source| Self::Io {
            action,
            path,
            source,
        }
    }

    pub(crate) fn origin(action: &'static str) -> impl FnOnce(ClientError) -> Self {
        move |source| Self::Origin { action, source }
    }

    pub(crate) fn build_index(
        action: &'static str,
    ) -> impl FnOnce(starling_clients::BuildIndexError) -> Self {
        move |source| Self::BuildIndex { action, source }
    }

    pub(crate) fn manifest(reason: impl Into<String>) -> Self {
        Self::ManifestInvalid {
            reason: reason.into(),
        }
    }
}
