//! The agent's errors and their registry error responses.
//!
//! Every variant converts into the shared [`ApiError`] (`{"errors":[{code,message,
//! detail}]}`): client mistakes keep the spec's code, an unknown manifest or blob is a
//! 404 with `MANIFEST_UNKNOWN` / `BLOB_UNKNOWN`, and a failure of the build-index, the
//! tracker or the swarm is a 503 `UNAVAILABLE` (logged once by the request middleware).

use std::net::IpAddr;

use axum::http::header;
use starling_core::registry::{ErrorCode, Reference};
use starling_core::{Digest, RepoName};
use starling_runtime::ApiError;
use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    #[error(
        "registry {ns:?} (from ?ns=) is no repository name component; list it in the agent's \
         cluster_registries if it is this cluster's proxy"
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

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        match error {
            Error::Invalid(core) => ApiError::from(core),
            Error::Listing(proxy) => ApiError::from(proxy),
            other => own_error(other),
        }
    }
}

/// The agent's own errors: the code by variant, the error's text as the detail.
fn own_error(error: Error) -> ApiError {
    use ErrorCode as C;
    let (code, message) = match &error {
        Error::MirrorNamespace { .. } | Error::Invalid(_) => {
            (C::NameInvalid, "invalid repository name")
        }
        Error::Denied { .. } => (C::Denied, "requested access to the resource is denied"),
        Error::ManifestUnknown { .. } => (C::ManifestUnknown, "manifest unknown"),
        Error::BlobUnknown { .. } => (C::BlobUnknown, "blob unknown to registry"),
        Error::RangeNotSatisfiable { .. } => (C::RangeInvalid, "invalid content range"),
        Error::Unsupported { .. } => (C::Unsupported, "the operation is unsupported"),
        Error::BuildIndex { .. }
        | Error::Listing(_)
        | Error::Swarm { .. }
        | Error::SwarmStream { .. }
        | Error::Store(_)
        | Error::HttpClient(_)
        | Error::Serve(_) => (
            C::Unavailable,
            "the swarm or the build-index is unavailable",
        ),
    };
    let api = ApiError::new(code, message).with_detail(error.to_string());
    match error {
        Error::RangeNotSatisfiable { size } => api.with_header(
            header::CONTENT_RANGE,
            header::HeaderValue::from_str(&format!("bytes */{size}"))
                .expect("a number is a header value"),
        ),
        _ => api,
    }
}
