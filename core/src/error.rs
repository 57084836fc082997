//! The error type of the core crate: every variant names what failed to parse or verify.

use thiserror::Error;

use crate::digest::Digest;

/// Errors from parsing and validating core types and wire formats.
#[derive(Debug, Error)]
pub enum Error {
    #[error("invalid digest {value:?}: {reason}")]
    InvalidDigest { value: String, reason: &'static str },

    #[error("invalid repository name {value:?}: {reason}")]
    InvalidRepoName { value: String, reason: &'static str },

    #[error("invalid tag {value:?}: {reason}")]
    InvalidTag { value: String, reason: &'static str },

    #[error("invalid upload id {value:?}: {reason}")]
    InvalidUploadRef { value: String, reason: &'static str },

    #[error("not a registry API path: {path:?}")]
    UnknownRegistryPath { path: String },

    #[error("invalid info hash: {reason}")]
    InvalidInfoHash { reason: &'static str },

    #[error("invalid peer id: {reason}")]
    InvalidPeerId { reason: &'static str },

    #[error("invalid piece length policy: {reason}")]
    InvalidPiecePolicy { reason: String },

    #[error("invalid metainfo: {reason}")]
    InvalidMetaInfo { reason: String },

    #[error("content digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch { expected: Digest, actual: Digest },

    #[error("content length mismatch: expected {expected} bytes, got {actual}")]
    LengthMismatch { expected: u64, actual: u64 },

    #[error("bad handshake: {reason}")]
    BadHandshake { reason: String },

    #[error("peer message of {length} bytes exceeds the limit of {max}")]
    FrameTooLong { length: u64, max: u64 },

    #[error("unknown peer message id {id}")]
    UnknownMessage { id: u8 },

    #[error("malformed peer message (id {id}): {reason}")]
    MalformedMessage { id: u8, reason: String },

    #[error("range is not satisfiable for a blob of {size} bytes")]
    RangeNotSatisfiable { size: u64 },

    #[error("invalid {header} header {value:?}: {reason}")]
    BadHeader {
        header: &'static str,
        value: String,
        reason: &'static str,
    },

    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

pub type Result<T> = std::result::Result<T, Error>;
