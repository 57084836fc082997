//! A [`Backend`] over the `object_store` crate: local filesystem, S3, GCS, Azure and HTTP.
//!
//! Keys map to paths through [`Layout`]; blobs are content-addressed, so every namespace
//! shares one copy and a blob listing ignores the namespace. Uploads go through
//! [`upload::upload`], which streams and checks the body before the object appears.

pub mod build;
pub mod layout;
pub mod upload;

use std::collections::BTreeSet;
use std::sync::Arc;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use starling_config::backend::BackendConfig;
use starling_core::Tag;
use tracing::debug;

use crate::Backend;
use crate::error::{Error, Result};
use crate::key::{Key, ListScope};
use crate::stream::ByteStream;

pub use layout::Layout;

/// Blobs and tags in an object store, below a key prefix.
#[derive(Debug, Clone)]
pub struct ObjectStoreBackend {
    store: Arc<dyn ObjectStore>,
    layout: Layout,
}

impl ObjectStoreBackend {
    /// Wraps any object store; `prefix` is the key prefix inside it ("" for none).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Result<Self> {
        Ok(Self {
            store,
            layout: Layout::new(prefix)?,
        })
    }

    /// Builds the client an object-storage config describes.
    pub fn from_config(config: &BackendConfig) -> Result<Self> {
        let spec = build::store_for(config)?;
        Self::new(spec.store, &spec.prefix)
    }

    /// A backend in a local directory, created if missing.
    pub fn filesystem(root: &std::path::Path) -> Result<Self> {
        Self::new(Arc::new(build::filesystem(root)?), "")
    }

    async fn list_blobs(&self) -> Result<Vec<String>> {
        let root = self.layout.blobs_root();
        let digests: BTreeSet<String> = self
            .store
            .list(Some(&root))
            .try_filter_map(|meta| {
                let digest = self.layout.digest_of(&meta.location);
                std::future::ready(Ok(digest.map(|d| d.to_string())))
            })
            .try_collect()
            .await?;
        Ok(digests.into_iter().collect())
    }

    async fn list_repos(&self) -> Result<Vec<String>> {
        let root = self.layout.tags_root();
        let repos: BTreeSet<String> = self
            .store
            .list(Some(&root))
            .try_filter_map(|meta| {
                let repo = self.layout.repo_of(&meta.location);
                std::future::ready(Ok(repo.map(|r| r.to_string())))
            })
            .try_collect()
            .await?;
        Ok(repos.into_iter().collect())
    }

    async fn list_tags(&self, dir: &Path) -> Result<Vec<String>> {
        // The delimiter keeps the listing to this repository's own tags: a nested
        // repository's tags sit below another `_tags` directory, never directly here.
        let listing = self.store.list_with_delimiter(Some(dir)).await?;
        let mut tags: Vec<String> = listing
            .objects
            .iter()
            .filter_map(|meta| meta.location.filename())
            // Skips what is not a tag, such as a filesystem store's in-progress write.
            .filter(|name| Tag::parse(name).is_ok())
            .map(str::to_owned)
            .collect();
        tags.sort();
        Ok(tags)
    }
}

#[async_trait]
impl Backend for ObjectStoreBackend {
    async fn stat(&self, key: &Key) -> Result<Option<u64>> {
        match self.store.head(&self.layout.path(key)).await {
            Ok(meta) => Ok(Some(meta.size)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn download(&self, key: &Key) -> Result<ByteStream> {
        let result = match self.store.get(&self.layout.path(key)).await {
            Ok(result) => result,
            Err(object_store::Error::NotFound { .. }) => {
                return Err(Error::NotFound { key: key.clone() });
            }
            Err(e) => return Err(e.into()),
        };
        debug!(%key, size = result.meta.size, "streaming object");
        Ok(result.into_stream().map_err(std::io::Error::from).boxed())
    }

    async fn upload(&self, key: &Key, size: u64, body: ByteStream) -> Result<()> {
        let path = self.layout.path(key);
        upload::upload(self.store.as_ref(), &path, key, size, body).await
    }

    async fn list(&self, scope: &ListScope) -> Result<Vec<String>> {
        match scope {
            ListScope::Blobs { .. } => self.list_blobs().await,
            ListScope::Tags { repo } => self.list_tags(&self.layout.tags_dir(repo)).await,
            ListScope::Repos => self.list_repos().await,
        }
    }
}

#[cfg(test)]
mod tests;
