//! Where the engine gets a blob's metainfo before downloading it.
//!
//! Agents implement [`MetaInfoSource`] by asking the tracker (which asks the origin that
//! owns the digest); tests and tools use [`MemoryMetaInfo`]. The engine checks that the
//! metainfo it gets names the digest it asked for, so a source cannot make it download
//! the wrong blob.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use async_trait::async_trait;
use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};

/// Looks up the trusted metainfo of a blob.
#[async_trait]
pub trait MetaInfoSource: Send + Sync {
    async fn metainfo(&self, namespace: &RepoName, digest: &Digest) -> Result<MetaInfo>;
}

/// An in-memory source, keyed by digest (the namespace is ignored).
#[derive(Debug, Default)]
pub struct MemoryMetaInfo {
    by_digest: Mutex<HashMap<Digest, MetaInfo>>,
}

impl MemoryMetaInfo {
    /// Adds `metainfo` under the digest it names.
    pub fn insert(&self, metainfo: MetaInfo) -> Result<()> {
        let digest = metainfo.digest()?;
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(digest, metainfo);
        Ok(())
    }
}

#[async_trait]
impl MetaInfoSource for MemoryMetaInfo {
    async fn metainfo(&self, _namespace: &RepoName, digest: &Digest) -> Result<MetaInfo> {
        self.by_digest
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(digest)
            .cloned()
            .ok_or_else(|| Error::MetaInfoNotFound {
                digest: *digest,
                reason: "not in the in-memory metainfo source".into(),
            })
    }
}
