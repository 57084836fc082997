//! The engine's error type: every variant names the operation that failed and keeps its
//! source.
//!
//! Misbehaving peers are not errors of the engine: a connection that breaks the protocol
//! ends with a [`PeerError`], which is logged on the connection's span and never reaches
//! a caller of the engine.

use std::net::SocketAddr;

use starling_core::{Digest, InfoHash};
use thiserror::Error;

/// Errors returned by the engine's public API.
#[derive(Debug, Error)]
pub enum Error {
    #[error("binding the peer listener: {0}")]
    Listener(#[source] std::io::Error),

    #[error("invalid tracker URL {value:?}: {reason}")]
    InvalidTrackerUrl { value: String, reason: String },

    #[error("peer.advertise {value:?}: {reason}")]
    Advertise { value: String, reason: String },

    #[error("no tracker configured")]
    NoTrackers,

    #[error("announce to {tracker}: {reason}")]
    Announce { tracker: String, reason: String },

    #[error("every tracker failed for {info_hash}; last error: {last}")]
    AllTrackersFailed {
        info_hash: InfoHash,
        #[source]
        last: Box<Error>,
    },

    #[error("metainfo of {digest}: {source}")]
    MetaInfo {
        digest: Digest,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The metainfo source answered that no such blob exists (a tracker's 404).
    #[error("no blob {digest}: {reason}")]
    MetaInfoNotFound { digest: Digest, reason: String },

    #[error("metainfo names {actual}, but {expected} was asked for")]
    MetaInfoMismatch { expected: Digest, actual: Digest },

    #[error("cannot seed {digest}: the blob is not committed in the store")]
    NotInStore { digest: Digest },

    #[error("offset {offset} is past the end of {digest} ({length} bytes)")]
    OffsetPastEnd {
        digest: Digest,
        offset: u64,
        length: u64,
    },

    #[error("download of {digest} failed: {reason}")]
    DownloadFailed { digest: Digest, reason: String },

    #[error("the engine is shutting down")]
    ShuttingDown,

    #[error("store: {0}")]
    Store(#[from] starling_store::Error),

    #[error("reading {digest} from the store: {source}")]
    StoreRead {
        digest: Digest,
        #[source]
        source: std::io::Error,
    },

    #[error("core: {0}")]
    Core(#[from] starling_core::Error),

    #[error("blocking task to {action} failed: {source}")]
    Task {
        action: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}

impl Error {
    /// Whether the blob does not exist at all (as opposed to a failure to find out).
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::MetaInfoNotFound { .. })
    }

    /// Whether the local store has no disk space for the blob (after making room).
    pub fn is_no_space(&self) -> bool {
        matches!(self, Self::Store(e) if e.is_no_space())
    }

    /// Wraps an error from a [`crate::MetaInfoSource`] implementation.
    pub fn metainfo(
        digest: Digest,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        Self::MetaInfo {
            digest,
            source: source.into(),
        }
    }
}

pub type Result<T> = std::result::Result<T, Error>;

/// Why a peer connection ended; logged on the connection's span.
#[derive(Debug, Error)]
pub enum PeerError {
    #[error("connecting to {addr}: {source}")]
    Connect {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },

    #[error("no handshake within {0:?}")]
    HandshakeTimeout(std::time::Duration),

    #[error("handshake refused: {0}")]
    Refused(&'static str),

    #[error("peer wire: {0}")]
    Wire(#[from] starling_core::Error),

    #[error("protocol violation: {0}")]
    Protocol(String),

    #[error("nothing received for {0:?}")]
    Idle(std::time::Duration),

    #[error("the peer closed the connection")]
    Closed,

    #[error("reading or writing verified data: {0}")]
    Data(#[from] Box<Error>),

    #[error("store: {0}")]
    Store(#[from] starling_store::Error),

    #[error("blocking task failed: {0}")]
    Task(#[from] tokio::task::JoinError),
}

impl From<starling_runtime::TaskFailed> for Error {
    fn from(failed: starling_runtime::TaskFailed) -> Self {
        let starling_runtime::TaskFailed { action, source } = failed;
        Self::Task { action, source }
    }
}
