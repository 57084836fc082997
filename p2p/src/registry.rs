//! The engine's torrents, by info hash (for incoming handshakes) and by digest (for
//! downloads and seeding), with at most one torrent per digest.
//!
//! Concurrent first requests for one digest share one creation: each digest being
//! created has an async gate, the first caller creates while holding it and the others
//! find the torrent when they get the gate. A torrent that is no longer active (stopped,
//! failed) is invisible to lookups, so a new request makes a fresh one; the old driver
//! removes only its own entry.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use starling_core::{Digest, InfoHash};

use crate::error::Result;
use crate::torrent::Torrent;

#[derive(Debug, Default)]
pub struct Registry {
    maps: Mutex<Maps>,
}

#[derive(Debug, Default)]
struct Maps {
    by_hash: HashMap<InfoHash, Arc<Torrent>>,
    by_digest: HashMap<Digest, Arc<Torrent>>,
    gates: HashMap<Digest, Arc<tokio::sync::Mutex<()>>>,
}

impl Registry {
    fn lock(&self) -> MutexGuard<'_, Maps> {
        // Map updates only: a poisoned lock still holds consistent maps.
        self.maps.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn by_info_hash(&self, info_hash: &InfoHash) -> Option<Arc<Torrent>> {
        self.lock()
            .by_hash
            .get(info_hash)
            .filter(|t| t.is_active())
            .cloned()
    }

    pub fn by_digest(&self, digest: &Digest) -> Option<Arc<Torrent>> {
        self.lock()
            .by_digest
            .get(digest)
            .filter(|t| t.is_active())
            .cloned()
    }

    /// The active torrent for `digest`, or the one `create` makes.
    pub async fn get_or_create<F, Fut>(&self, digest: Digest, create: F) -> Result<Arc<Torrent>>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Arc<Torrent>>>,
    {
        if let Some(torrent) = self.by_digest(&digest) {
            return Ok(torrent);
        }
        let gate = self.lock().gates.entry(digest).or_default().clone();
        let created = {
            let _creating = gate.lock().await;
            match self.by_digest(&digest) {
                Some(torrent) => Ok(torrent),
                None => create()
                    .await
                    .inspect(|torrent| self.insert(torrent.clone())),
            }
        };
        let mut maps = self.lock();
        if maps
            .gates
            .get(&digest)
            .is_some_and(|g| Arc::ptr_eq(g, &gate))
            && Arc::strong_count(&gate) <= 2
        {
            maps.gates.remove(&digest);
        }
        created
    }

    fn insert(&self, torrent: Arc<Torrent>) {
        let mut maps = self.lock();
        maps.by_hash.insert(torrent.info_hash, torrent.clone());
        maps.by_digest.insert(torrent.digest, torrent);
    }

    /// Removes `torrent` if it is still the registered one.
    pub fn remove(&self, torrent: &Arc<Torrent>) -> usize {
        let mut maps = self.lock();
        if maps
            .by_hash
            .get(&torrent.info_hash)
            .is_some_and(|t| Arc::ptr_eq(t, torrent))
        {
            maps.by_hash.remove(&torrent.info_hash);
        }
        if maps
            .by_digest
            .get(&torrent.digest)
            .is_some_and(|t| Arc::ptr_eq(t, torrent))
        {
            maps.by_digest.remove(&torrent.digest);
        }
        maps.by_hash.len()
    }

    pub fn len(&self) -> usize {
        self.lock().by_hash.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
