//! The error of the build-index clients and of paging parameters: what a caller of
//! [`super::BuildIndexCluster`] can see. The build-index server converts it into its own
//! error (same variants, same messages), so its API error mapping is unchanged.

use starling_core::registry::RegistryError;
use thiserror::Error;

/// Errors from talking to build-indexes, or from parsing a page request.
#[derive(Debug, Error)]
pub enum BuildIndexError {
    /// A name, tag or digest failed validation.
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    /// The `n` or `last` paging parameter is not acceptable.
    #[error("invalid paging parameter {name}: {reason}")]
    InvalidPage {
        name: &'static str,
        reason: &'static str,
    },

    /// A request to a build-index could not be sent or its answer not read.
    #[error("request to {url} failed: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    /// A build-index answered with an unexpected status.
    #[error("HTTP {status} from {url}{}", .error.as_ref().map(|e| format!(": {e}")).unwrap_or_default())]
    Status {
        url: String,
        status: u16,
        error: Option<RegistryError>,
    },

    /// A build-index answered 2xx with a body that does not parse.
    #[error("invalid response from {url}: {reason}")]
    InvalidResponse { url: String, reason: String },

    /// A cluster client was built from an empty host list.
    #[error("no build-index hosts given")]
    NoHosts,
}

pub type BuildIndexResult<T> = std::result::Result<T, BuildIndexError>;
