//! Tag resolution at the build-index, with a short cache.
//!
//! `docker pull` resolves the same tag several times in a few milliseconds (HEAD, then
//! GET of the manifest), and a rollout makes every container on the node do it at once.
//! A resolved tag is kept for `tag_cache_ttl` (default 5s), which bounds how long a
//! re-pushed tag can look stale to this node. Unknown tags are not cached, so a tag
//! pushed right after a failed pull is found on the next try.

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use starling_clients::BuildIndexCluster;
use starling_core::{Digest, RepoName, Tag};

use crate::error::{Error, Result};

/// Most resolved tags kept; the cache is cleared when it would grow past this.
const MAX_CACHED_TAGS: usize = 10_000;

pub struct TagResolver {
    build_index: BuildIndexCluster,
    ttl: Duration,
    cache: Mutex<HashMap<(RepoName, Tag), (Digest, Instant)>>,
}

impl TagResolver {
    pub fn new(build_index: BuildIndexCluster, ttl: Duration) -> Self {
        Self {
            build_index,
            ttl,
            cache: Mutex::default(),
        }
    }

    /// The digest `name:tag` points at, or `None` when the build-index does not know it.
    pub async fn resolve(&self, name: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let key = (name.clone(), tag.clone());
        if let Some(digest) = self.cached(&key, Instant::now()) {
            return Ok(Some(digest));
        }
        let found = self
            .build_index
            .get_tag(name, tag)
            .await
            .map_err(Error::build_index("resolve a tag"))?;
        if let Some(digest) = found {
            let mut cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
            if cache.len() >= MAX_CACHED_TAGS {
                cache.clear();
            }
            cache.insert(key, (digest, Instant::now()));
        }
        Ok(found)
    }

    /// The build-index cluster, for listings.
    pub fn build_index(&self) -> &BuildIndexCluster {
        &self.build_index
    }

    fn cached(&self, key: &(RepoName, Tag), now: Instant) -> Option<Digest> {
        let cache = self.cache.lock().unwrap_or_else(PoisonError::into_inner);
        let (digest, at) = cache.get(key)?;
        (now.duration_since(*at) < self.ttl).then_some(*digest)
    }
}
