//! The store's error type: every variant names the operation that failed and keeps its
//! source (i/o errors carry the path they were about).

use std::fmt;
use std::path::{Path, PathBuf};

use starling_core::Digest;
use thiserror::Error;

/// Which kind of write was being committed when its digest did not verify.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CommitKind {
    /// A streamed [`Upload`](crate::Upload).
    Upload,
    /// A swarm download assembled piece by piece in a [`PartialBlob`](crate::PartialBlob).
    Partial,
}

impl fmt::Display for CommitKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Upload => "upload",
            Self::Partial => "partial download",
        })
    }
}

/// Errors from the local blob store.
#[derive(Debug, Error)]
pub enum Error {
    #[error("store i/o: failed to {action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("{kind} rejected: expected {expected}, got {actual}")]
    DigestMismatch {
        kind: CommitKind,
        expected: Digest,
        actual: Digest,
    },

    #[error("invalid store options: {reason}")]
    InvalidOptions { reason: String },

    #[error("upload {upload} is unusable after an earlier write error")]
    UploadBroken { upload: String },

    #[error("invalid upload id {value:?}: must be 32 lowercase hex characters")]
    InvalidUploadId { value: String },

    #[error(
        "partial download {digest}: length {length} with piece length {piece_length}: {reason}"
    )]
    InvalidGeometry {
        digest: Digest,
        length: u64,
        piece_length: u64,
        reason: &'static str,
    },

    #[error("partial download {digest} was dropped after a write failed")]
    PartialBroken { digest: Digest },

    #[error("partial download {digest} is already open")]
    PartialBusy { digest: Digest },

    #[error("partial download {digest}: piece {piece} is out of range ({piece_count} pieces)")]
    PieceOutOfRange {
        digest: Digest,
        piece: u32,
        piece_count: u32,
    },

    #[error("partial download {digest}: piece {piece} must be {expected} bytes, got {actual}")]
    PieceSize {
        digest: Digest,
        piece: u32,
        expected: u64,
        actual: u64,
    },

    #[error("partial download {digest}: piece {piece} is not downloaded yet")]
    PieceMissing { digest: Digest, piece: u32 },

    #[error("partial download {digest} cannot commit: {have} of {total} pieces")]
    Incomplete {
        digest: Digest,
        have: u32,
        total: u32,
    },

    #[error("read of {len} bytes at {offset} is past the end of {digest} ({size} bytes)")]
    OutOfRange {
        digest: Digest,
        offset: u64,
        len: u64,
        size: u64,
    },

    #[error("cannot delete {digest}: {readers} reader(s) hold it open")]
    BlobInUse { digest: Digest, readers: u32 },

    #[error("blocking store task to {action} failed: {source}")]
    Task {
        action: &'static str,
        #[source]
        source: tokio::task::JoinError,
    },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// Whether a write failed because the filesystem (or a quota) has no room left.
    pub fn is_no_space(&self) -> bool {
        matches!(self, Self::Io { source, .. } if crate::space::is_no_space(source))
    }
}

/// Attaches the action and the path to an `io::Result`.
pub(crate) trait IoContext<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn ctx(self, action: &'static str, path: &Path) -> Result<T> {
        self.map_err(|source| Error::Io {
            action,
            path: path.to_path_buf(),
            source,
        })
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
    fn io_errors_name_the_action_and_path() {
        let err = std::fs::File::open("/nonexistent/starling/blob")
            .ctx("open blob", Path::new("/nonexistent/starling/blob"))
            .unwrap_err();
        let text = err.to_string();
        assert!(
            text.contains("open blob /nonexistent/starling/blob"),
            "{text}"
        );
        assert!(std::error::Error::source(&err).is_some());
    }

    #[test]
    fn no_space_is_an_io_error_of_its_kind() {
        let full = Err::<(), _>(std::io::Error::from_raw_os_error(libc::ENOSPC))
            .ctx("write piece of", Path::new("/x"))
            .unwrap_err();
        assert!(full.is_no_space());
        let other = Err::<(), _>(std::io::Error::from_raw_os_error(libc::EIO))
            .ctx("write piece of", Path::new("/x"))
            .unwrap_err();
        assert!(!other.is_no_space());
        assert!(
            !Error::PartialBroken {
                digest: Digest::of(b"x")
            }
            .is_no_space()
        );
    }

    #[test]
    fn digest_mismatch_names_both_digests() {
        let (expected, actual) = (Digest::of(b"a"), Digest::of(b"b"));
        let text = Error::DigestMismatch {
            kind: CommitKind::Upload,
            expected,
            actual,
        }
        .to_string();
        assert!(text.contains(&expected.to_string()) && text.contains(&actual.to_string()));
    }
}
