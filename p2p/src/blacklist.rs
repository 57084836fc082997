//! Peers refused for a while after they misbehaved (sent a piece that failed its SHA-1
//! check), by peer id and by address.
//!
//! Both keys are needed: the address stops the engine from dialling the peer again when a
//! tracker hands it out, and the peer id catches it when it dials in from a new port.
//! Entries expire after the configured duration; expired entries are dropped lazily.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::SocketAddr;
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use starling_core::PeerId;

/// The engine-wide blacklist.
#[derive(Debug)]
pub struct Blacklist {
    ban_for: Duration,
    entries: Mutex<Entries>,
}

#[derive(Debug, Default)]
struct Entries {
    ids: HashMap<PeerId, Instant>,
    addrs: HashMap<SocketAddr, Instant>,
}

impl Blacklist {
    pub fn new(ban_for: Duration) -> Self {
        Self {
            ban_for,
            entries: Mutex::default(),
        }
    }

    /// Bans the peer (and the address it was reached at) from `now` on.
    pub fn ban(&self, peer_id: PeerId, addr: SocketAddr, now: Instant) {
        let until = now + self.ban_for;
        let mut entries = self.lock();
        entries.ids.insert(peer_id, until);
        entries.addrs.insert(addr, until);
    }

    pub fn is_banned_id(&self, peer_id: &PeerId, now: Instant) -> bool {
        banned(&mut self.lock().ids, peer_id, now)
    }

    pub fn is_banned_addr(&self, addr: &SocketAddr, now: Instant) -> bool {
        banned(&mut self.lock().addrs, addr, now)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // Map updates cannot leave the maps half-changed, so a poisoned lock is intact.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

fn banned<K: Eq + Hash>(map: &mut HashMap<K, Instant>, key: &K, now: Instant) -> bool {
    match map.get(key) {
        Some(&until) if until > now => true,
        Some(_) => {
            map.remove(key);
            false
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bans_by_id_and_address_until_expiry() {
        let list = Blacklist::new(Duration::from_secs(60));
        let (id, addr) = (PeerId::generate(), "127.0.0.1:7000".parse().unwrap());
        let other: SocketAddr = "127.0.0.1:7001".parse().unwrap();
        let t0 = Instant::now();
        assert!(!list.is_banned_id(&id, t0));
        list.ban(id, addr, t0);
        assert!(list.is_banned_id(&id, t0 + Duration::from_secs(59)));
        assert!(list.is_banned_addr(&addr, t0 + Duration::from_secs(59)));
        assert!(!list.is_banned_addr(&other, t0));
        assert!(!list.is_banned_id(&PeerId::generate(), t0));
        let later = t0 + Duration::from_secs(60);
        assert!(!list.is_banned_id(&id, later));
        assert!(!list.is_banned_addr(&addr, later));
        assert!(list.lock().ids.is_empty(), "expired entries are dropped");
    }
}
