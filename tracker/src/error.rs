//! The tracker's error type.
//!
//! Announce errors are shown to BitTorrent clients verbatim as the bencoded
//! `failure reason`, so their messages are short, stable and name the parameter
//! ("missing info_hash", "info_hash must be 20 bytes", "invalid port: ...").

use thiserror::Error;

/// Everything that can go wrong in the tracker.
#[derive(Debug, Error)]
pub enum Error {
    /// A required announce parameter is absent.
    #[error("missing {name}")]
    MissingParam { name: &'static str },

    /// A raw-bytes parameter (`info_hash`, `peer_id`) decoded to the wrong length.
    #[error("{name} must be 20 bytes")]
    WrongLength { name: &'static str },

    /// A parameter value contains a `%` not followed by two hex digits.
    #[error("invalid percent-encoding in {name}")]
    BadEncoding { name: &'static str },

    /// A parameter decoded fine but its value is not acceptable.
    #[error("invalid {name}: {reason}")]
    InvalidParam {
        name: &'static str,
        reason: &'static str,
    },

    /// The announce response could not be bencoded (a bug, never a client's fault).
    #[error("encoding the announce response: {0}")]
    Encode(String),

    /// The HTTP server failed while accepting or serving connections.
    #[error("serving HTTP: {0}")]
    Serve(#[source] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
