//! Why an announce query or response did not decode.
//!
//! A tracker shows [`QueryError`] to the client verbatim as the bencoded `failure
//! reason`, so its messages are short, stable and name the parameter ("missing
//! info_hash", "info_hash must be 20 bytes", "invalid port: ..."). [`ResponseError`]
//! says which key of a tracker's answer was wrong.

use thiserror::Error;

/// A query parameter that is missing or unacceptable; every variant names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
pub enum QueryError {
    /// A required parameter is absent.
    #[error("missing {name}")]
    Missing { name: &'static str },

    /// A raw-bytes parameter (`info_hash`, `peer_id`) decoded to the wrong length.
    #[error("{name} must be 20 bytes")]
    WrongLength { name: &'static str },

    /// A value contains a `%` not followed by two hex digits.
    #[error("invalid percent-encoding in {name}")]
    BadEncoding { name: &'static str },

    /// A value decoded fine but is not acceptable.
    #[error("invalid {name}: {reason}")]
    Invalid {
        name: &'static str,
        reason: &'static str,
    },
}

impl QueryError {
    /// The parameter at fault.
    pub fn param(&self) -> &'static str {
        match *self {
            Self::Missing { name }
            | Self::WrongLength { name }
            | Self::BadEncoding { name }
            | Self::Invalid { name, .. } => name,
        }
    }
}

/// A tracker answer that is not a usable announce response.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ResponseError {
    /// The body, or a value inside it, is not valid (canonical) bencode.
    #[error("not bencode: {reason}")]
    NotBencode { reason: String },

    #[error("empty response")]
    Empty,

    #[error("the response is not a dictionary")]
    NotADictionary,

    #[error("{key} is not an integer")]
    NotAnInteger { key: &'static str },

    #[error("{key} {raw} is not a non-negative integer")]
    Negative { key: &'static str, raw: String },

    #[error("{key} is not a byte string")]
    NotAString { key: &'static str },

    /// A compact peer string whose length is not a whole number of entries.
    #[error("compact {key} of {len} bytes, not a multiple of {entry}")]
    CompactLength {
        key: &'static str,
        len: usize,
        entry: usize,
    },

    #[error("peers is neither a string nor a list")]
    PeersNeitherStringNorList,

    /// Bencoding a response failed (a bug in the caller's data, never the network's).
    #[error("encoding the announce response: {reason}")]
    Encode { reason: String },
}

impl From<bendy::decoding::Error> for ResponseError {
    fn from(error: bendy::decoding::Error) -> Self {
        Self::NotBencode {
            reason: error.to_string(),
        }
    }
}
