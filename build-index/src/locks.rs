//! Striped async locks that serialize puts of the same tag.
//!
//! A put reads the current row, writes the tag backend, then writes the row; two puts of
//! one tag interleaving there could leave the backend and the database disagreeing.
//! Holding the tag's stripe across those steps prevents it. Stripes (rather than a lock
//! per tag) keep memory constant; unrelated tags sharing a stripe only wait for each
//! other's short backend write. A put holds exactly one stripe, so there is no lock order.

use std::hash::BuildHasher;

use starling_core::{RepoName, Tag};
use tokio::sync::{Mutex, MutexGuard};

const STRIPES: usize = 64;

pub struct TagLocks {
    stripes: Vec<Mutex<()>>,
    hasher: std::collections::hash_map::RandomState,
}

impl TagLocks {
    pub fn new() -> Self {
        Self {
            stripes: (0..STRIPES).map(|_| Mutex::new(())).collect(),
            hasher: Default::default(),
        }
    }

    /// Waits for and holds the stripe of `repo:tag`.
    pub async fn lock(&self, repo: &RepoName, tag: &Tag) -> MutexGuard<'_, ()> {
        let index = (self.hasher.hash_one((repo, tag)) % STRIPES as u64) as usize;
        self.stripes[index].lock().await
    }
}

impl Default for TagLocks {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_same_tag_waits_for_its_holder() {
        let locks = TagLocks::new();
        let repo = RepoName::parse("a").unwrap();
        let tag = Tag::parse("v1").unwrap();
        let held = locks.lock(&repo, &tag).await;
        let second = locks.lock(&repo, &tag);
        tokio::pin!(second);
        assert!(
            futures::poll!(second.as_mut()).is_pending(),
            "a second put of the same tag must wait"
        );
        drop(held);
        drop(second.await);
    }
}
