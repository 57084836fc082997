//! A small expiring cache with a bound on entries and on total weight (bytes).
//!
//! Entries live for `ttl` after insertion and are evicted oldest-first when a bound is
//! exceeded. Oldest-first rather than LRU: every entry expires after `ttl` anyway, so
//! recency buys little, and insertion order needs no bookkeeping on reads.
//!
//! Invariants: `order` lists every live entry's `(key, seq)` oldest first, plus stale
//! records of entries since replaced or removed, told apart by `seq`; stale records are
//! dropped when they reach the front or when they outnumber live entries, so `order`
//! stays within twice the entry bound. One lock, held only for map updates.

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// How much a value counts against the weight bound.
pub type Weigher<V> = fn(&V) -> usize;

/// Bounds of a [`TtlCache`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheLimits {
    /// How long an entry is served after insertion.
    pub ttl: Duration,
    /// Most entries held.
    pub max_entries: usize,
    /// Most total weight held; a single heavier value is not cached at all.
    pub max_weight: usize,
}

/// An expiring, bounded map from `K` to cloneable `V`.
pub struct TtlCache<K, V> {
    limits: CacheLimits,
    weigh: Weigher<V>,
    inner: Mutex<Inner<K, V>>,
}

struct Entry<V> {
    value: V,
    expires: Instant,
    weight: usize,
    seq: u64,
}

struct Inner<K, V> {
    entries: HashMap<K, Entry<V>>,
    order: VecDeque<(K, u64)>,
    weight: usize,
    next_seq: u64,
}

impl<K: Hash + Eq + Clone, V: Clone> TtlCache<K, V> {
    pub fn new(limits: CacheLimits, weigh: Weigher<V>) -> Self {
        Self {
            limits,
            weigh,
            inner: Mutex::new(Inner {
                entries: HashMap::new(),
                order: VecDeque::new(),
                weight: 0,
                next_seq: 0,
            }),
        }
    }

    /// The value of `key` if it was inserted less than `ttl` before `now`.
    pub fn get(&self, key: &K, now: Instant) -> Option<V> {
        let mut inner = self.lock();
        let entry = inner.entries.get(key)?;
        if entry.expires > now {
            return Some(entry.value.clone());
        }
        inner.remove(key);
        None
    }

    /// Stores `value` for `key` (replacing any previous one) and evicts the oldest
    /// entries until both bounds hold again.
    pub fn insert(&self, key: K, value: V, now: Instant) {
        let weight = (self.weigh)(&value);
        if weight > self.limits.max_weight || self.limits.max_entries == 0 {
            return;
        }
        let mut inner = self.lock();
        inner.remove(&key);
        let seq = inner.next_seq;
        inner.next_seq += 1;
        inner.order.push_back((key.clone(), seq));
        inner.weight += weight;
        let expires = now + self.limits.ttl;
        inner.entries.insert(
            key,
            Entry {
                value,
                expires,
                weight,
                seq,
            },
        );
        while inner.entries.len() > self.limits.max_entries || inner.weight > self.limits.max_weight
        {
            inner.evict_oldest();
        }
        if inner.order.len() > 2 * inner.entries.len() {
            inner.compact();
        }
    }

    /// Entries held, expired ones not yet dropped included.
    pub fn len(&self) -> usize {
        self.lock().entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Total weight held.
    pub fn weight(&self) -> usize {
        self.lock().weight
    }

    fn lock(&self) -> MutexGuard<'_, Inner<K, V>> {
        // Every update leaves the maps consistent before it can panic (only on OOM).
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq + Clone, V> Inner<K, V> {
    fn remove(&mut self, key: &K) {
        if let Some(entry) = self.entries.remove(key) {
            self.weight -= entry.weight;
        }
    }

    fn evict_oldest(&mut self) {
        while let Some((key, seq)) = self.order.pop_front() {
            if self.entries.get(&key).is_some_and(|e| e.seq == seq) {
                self.remove(&key);
                return;
            }
        }
    }

    fn compact(&mut self) {
        let entries = &self.entries;
        self.order
            .retain(|(key, seq)| entries.get(key).is_some_and(|e| e.seq == *seq));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cache(max_entries: usize, max_weight: usize) -> TtlCache<u32, Vec<u8>> {
        let limits = CacheLimits {
            ttl: Duration::from_secs(10),
            max_entries,
            max_weight,
        };
        TtlCache::new(limits, Vec::len)
    }

    #[test]
    fn entries_expire_after_the_ttl() {
        let cache = cache(10, 100);
        let t0 = Instant::now();
        cache.insert(1, vec![1], t0);
        assert_eq!(cache.get(&1, t0 + Duration::from_secs(9)), Some(vec![1]));
        assert_eq!(cache.get(&1, t0 + Duration::from_secs(10)), None);
        assert!(cache.is_empty(), "an expired entry is dropped when seen");
        assert_eq!(cache.weight(), 0);
    }

    #[test]
    fn the_oldest_entries_go_first_when_a_bound_is_exceeded() {
        let cache = cache(3, 100);
        let t0 = Instant::now();
        for key in 0..5 {
            cache.insert(key, vec![0; 10], t0);
        }
        assert_eq!(cache.len(), 3);
        assert_eq!(cache.get(&1, t0), None);
        assert!(cache.get(&2, t0).is_some() && cache.get(&4, t0).is_some());

        let light = self::cache(100, 25);
        for key in 0..4 {
            light.insert(key, vec![0; 10], t0);
        }
        assert_eq!((light.len(), light.weight()), (2, 20));
        assert!(light.get(&2, t0).is_some() && light.get(&3, t0).is_some());
        light.insert(9, vec![0; 26], t0);
        assert_eq!(light.get(&9, t0), None, "heavier than the whole cache");
        assert_eq!(light.len(), 2);
    }

    #[test]
    fn replacing_a_key_keeps_the_bookkeeping_bounded() {
        let cache = cache(2, 1000);
        let t0 = Instant::now();
        for round in 0..100u8 {
            cache.insert(1, vec![round; 3], t0);
            cache.insert(2, vec![round], t0);
        }
        assert_eq!((cache.len(), cache.weight()), (2, 4));
        assert_eq!(cache.get(&1, t0), Some(vec![99; 3]));
        assert!(cache.lock().order.len() <= 4, "stale records are compacted");
        cache.insert(3, vec![], t0);
        assert_eq!(cache.get(&1, t0), None, "key 1 is the oldest live entry");
        assert_eq!(cache.len(), 2);
    }
}
