//! A bounded map whose entries live a fixed time: the remembered decisions per
//! (credential hash, repository) and the tokens the agent issued.
//!
//! Every entry lives the same `ttl`, so insertion order is expiry order: a queue of
//! (key, inserted) beside the map drops expired entries from its front, and when the map
//! is full the oldest entry goes first — O(1) amortized, with no scan an attacker could
//! make slow by sending many credentials. A key inserted again gets a new queue slot;
//! the stale slot is skipped when it reaches the front. Time is passed in, so tests
//! control it.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub struct TtlCache<K, V> {
    ttl: Duration,
    capacity: usize,
    inner: Mutex<Inner<K, V>>,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// (key, inserted, slot number), oldest first.
    order: VecDeque<(K, Instant, u64)>,
    next_slot: u64,
}

struct Entry<V> {
    inserted: Instant,
    slot: u64,
    value: V,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    /// A cache of at most `capacity` (at least 1) entries, each living `ttl`.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            ttl,
            capacity: capacity.max(1),
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                next_slot: 0,
            }),
        }
    }

    pub fn ttl(&self) -> Duration {
        self.ttl
    }

    /// The live value of `key` at `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let inner = self.lock();
        let entry = inner.entries.get(key)?;
        (now.saturating_duration_since(entry.inserted) < self.ttl).then(|| entry.value.clone())
    }

    pub fn insert(&self, key: K, value: V, now: Instant) {
        let mut inner = self.lock();
        inner.expire(self.ttl, now);
        if !inner.entries.contains_key(&key) {
            while inner.entries.len() >= self.capacity {
                inner.drop_oldest();
            }
        }
        let slot = inner.next_slot;
        inner.next_slot += 1;
        let entry = Entry {
            inserted: now,
            slot,
            value,
        };
        inner.entries.insert(key.clone(), entry);
        inner.order.push_back((key, now, slot));
        // Re-inserted keys leave stale slots; never let them outgrow the map by much.
        if inner.order.len() > 2 * self.capacity {
            let Inner { entries, order, .. } = &mut *inner;
            order.retain(|(key, _, slot)| entries.get(key).is_some_and(|e| e.slot == *slot));
        }
    }

    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner<K, V>> {
        self.inner.lock().expect("cache lock poisoned")
    }
}

impl<K: Hash + Eq, V> Inner<K, V> {
    fn expire(&mut self, ttl: Duration, now: Instant) {
        while let Some((_, at, _)) = self.order.front() {
            if now.saturating_duration_since(*at) < ttl {
                break;
            }
            self.drop_oldest();
        }
    }

    /// Pops the front slot; removes its entry if the slot is the entry's current one.
    fn drop_oldest(&mut self) {
        let Some((key, _, slot)) = self.order.pop_front() else {
            return;
        };
        if self.entries.get(&key).is_some_and(|e| e.slot == slot) {
            self.entries.remove(&key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TTL: Duration = Duration::from_secs(60);

    #[test]
    fn entries_live_the_ttl() {
        let cache = TtlCache::new(TTL, 10);
        let t0 = Instant::now();
        cache.insert("a", 1, t0);
        assert_eq!(
            cache.get(&"a", t0 + TTL - Duration::from_millis(1)),
            Some(1)
        );
        assert_eq!(cache.get(&"a", t0 + TTL), None);
        cache.insert("b", 2, t0 + TTL);
        assert_eq!(cache.len(), 1, "the expired entry went on the next insert");
    }

    #[test]
    fn a_full_cache_drops_its_oldest_entry() {
        let cache = TtlCache::new(TTL, 2);
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        cache.insert("a", 1, at(0));
        cache.insert("b", 2, at(1));
        cache.insert("c", 3, at(2));
        assert_eq!(cache.len(), 2);
        assert_eq!(cache.get(&"a", at(2)), None);
        assert_eq!(cache.get(&"b", at(2)), Some(2));
        assert_eq!(cache.get(&"c", at(2)), Some(3));
    }

    #[test]
    fn reinserting_renews_an_entry_and_its_stale_slot_is_skipped() {
        let cache = TtlCache::new(TTL, 2);
        let t0 = Instant::now();
        let at = |s| t0 + Duration::from_secs(s);
        cache.insert("a", 1, at(0));
        cache.insert("b", 2, at(1));
        cache.insert("a", 10, at(50));
        // a's first slot expires at 60 and must not take the renewed a with it.
        assert_eq!(cache.get(&"a", at(100)), Some(10));
        cache.insert("c", 3, at(100));
        assert_eq!(cache.get(&"a", at(100)), Some(10));
        assert_eq!(cache.get(&"b", at(100)), None);
        for i in 0..100 {
            cache.insert("a", i, at(100));
        }
        assert!(cache.lock().order.len() <= 4, "stale slots are bounded");
        assert_eq!(cache.len(), 2);
    }
}
