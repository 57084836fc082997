//! A tag update as it travels between build-indexes: which tag, which digest, and the
//! last-writer-wins stamp. Replicas and remote clusters receive it through
//! [`super::client::BuildIndexClient::forward`] and `put_from_cluster`.
//!
//! Timestamps order tag updates between replicas (last writer wins) and date read-through
//! cache entries, so they must survive restarts and be comparable across hosts: Unix
//! milliseconds, not `Instant`.

use std::fmt;
use std::time::Duration;

use starling_core::{Digest, RepoName, Tag};

/// Milliseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

impl Timestamp {
    pub fn as_millis(self) -> i64 {
        self.0
    }

    pub fn saturating_add(self, duration: Duration) -> Self {
        let millis = i64::try_from(duration.as_millis()).unwrap_or(i64::MAX);
        Self(self.0.saturating_add(millis))
    }

    /// Time from `earlier` to `self`; zero when `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    pub fn parse(value: &str) -> Option<Self> {
        value.parse().ok().filter(|v| *v >= 0).map(Self)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One tag assignment, as applied locally and forwarded to replicas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TagUpdate {
    pub repo: RepoName,
    pub tag: Tag,
    pub digest: Digest,
    /// The last-writer-wins stamp: among updates of one tag, the highest
    /// `(updated_at, digest)` wins on every replica, whatever order they arrive in.
    pub updated_at: Timestamp,
}
