//! Eviction: drop blobs idle longer than the TTL, then, if committed bytes exceed the
//! high watermark, drop least recently used blobs until they are at or below the low
//! watermark. And on demand, when a write failed for lack of disk space, drop least
//! recently used blobs until the filesystem has room for it ([`Store::make_room`]).
//!
//! Invariants: a blob with a live read lease is never chosen; blobs in progress live in
//! `tmp/` and are never candidates; a blob is renamed out of `data/` and forgotten in
//! the same index-lock section (see `Store::remove_locked`), and unlinked after the
//! lock is released. Selection is a pure function of the index and `now`, so tests pass
//! explicit times instead of sleeping.

use std::time::{Duration, SystemTime};

use starling_core::Digest;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::error::{IoContext, Result};
use crate::index::{Index, Usage};
use crate::space::available_bytes;
use crate::store::{Removal, Store};
use starling_runtime::blocking;

/// Why a blob was evicted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum EvictReason {
    /// Not read for longer than the idle TTL.
    Idle,
    /// Least recently used while usage was above the high watermark.
    Watermark,
    /// Least recently used when a write failed for lack of disk space.
    Room,
}

/// One evicted blob.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EvictedBlob {
    pub digest: Digest,
    pub size: u64,
    pub reason: EvictReason,
}

/// What one eviction pass did.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EvictionReport {
    /// Evicted blobs, idle ones first, then in LRU order.
    pub evicted: Vec<EvictedBlob>,
    /// Blobs that were due for eviction but are being read.
    pub skipped_leased: u64,
    /// Usage after the pass.
    pub usage: Usage,
}

impl EvictionReport {
    pub fn freed_bytes(&self) -> u64 {
        self.evicted.iter().map(|blob| blob.size).sum()
    }
}

/// Thresholds taken from `StoreOptions`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Policy {
    pub(crate) idle_ttl: Duration,
    pub(crate) high_watermark: u64,
    pub(crate) low_watermark: u64,
}

/// Chooses the victims for `now` without touching anything.
pub(crate) fn select(index: &Index, now: SystemTime, policy: Policy) -> EvictionReport {
    let idle = |last_access: SystemTime| {
        // A last access in the future (clock step) counts as "just used".
        now.duration_since(last_access).unwrap_or_default() > policy.idle_ttl
    };
    let mut report = EvictionReport::default();
    let mut remaining = index.usage().bytes;
    let mut lru = Vec::new();
    for (digest, entry) in index.iter() {
        let due = idle(entry.last_access);
        if entry.leases > 0 {
            report.skipped_leased += u64::from(due);
        } else if due {
            remaining -= entry.size;
            report.evicted.push(EvictedBlob {
                digest: *digest,
                size: entry.size,
                reason: EvictReason::Idle,
            });
        } else {
            lru.push((entry.last_access, *digest, entry.size));
        }
    }
    if remaining > policy.high_watermark {
        lru.sort_unstable();
        for (_, digest, size) in lru {
            if remaining <= policy.low_watermark {
                break;
            }
            remaining -= size;
            report.evicted.push(EvictedBlob {
                digest,
                size,
                reason: EvictReason::Watermark,
            });
        }
    }
    report
}

impl Store {
    /// Runs one eviction pass as of `now`.
    pub async fn evict(&self, now: SystemTime) -> Result<EvictionReport> {
        let store = self.clone();
        blocking("evict blobs", move || store.evict_blocking(now)).await
    }

    fn evict_blocking(&self, now: SystemTime) -> Result<EvictionReport> {
        let options = self.options();
        let policy = Policy {
            idle_ttl: options.idle_ttl,
            high_watermark: options.high_watermark,
            low_watermark: options.low_watermark,
        };
        Ok(self.remove_selected(|index| select(index, now, policy)))
    }

    /// Evicts unleased blobs, least recently used first, until the filesystem has
    /// `needed` bytes free: what a write that failed for space calls before it tries
    /// again. Evicts nothing when that is there already, or when even every unleased
    /// blob would not make enough room (emptying the cache would not help). Returns the
    /// bytes freed. Blocking.
    pub(crate) fn make_room(&self, needed: u64) -> Result<u64> {
        let tmp = self.layout().tmp_dir();
        let available = available_bytes(tmp).ctx("read the free space of", tmp)?;
        let shortfall = needed.saturating_sub(available);
        if shortfall == 0 {
            return Ok(0);
        }
        let report = self.remove_selected(|index| select_for_room(index, shortfall));
        let freed = report.freed_bytes();
        info!(
            needed,
            available,
            blobs = report.evicted.len(),
            freed_bytes = freed,
            "evicted blobs to make room for a write"
        );
        Ok(freed)
    }

    /// Removes the blobs `choose` picks, under one index-lock section; unlinks them
    /// after it and counts them.
    fn remove_selected(&self, choose: impl FnOnce(&Index) -> EvictionReport) -> EvictionReport {
        let mut trash = Vec::new();
        let report = {
            let mut index = self.index().lock();
            let mut report = choose(&index);
            let mut evicted = Vec::with_capacity(report.evicted.len());
            for blob in report.evicted {
                match self.remove_locked(&mut index, &blob.digest) {
                    Ok(Removal::Removed { trash: path }) => {
                        trash.extend(path);
                        evicted.push(blob);
                    }
                    Ok(Removal::Absent | Removal::Leased(_)) => {}
                    Err(e) => warn!(digest = %blob.digest, error = %e, "cannot evict blob"),
                }
            }
            report.evicted = evicted;
            report.usage = index.usage();
            report
        };
        for path in &trash {
            self.unlink_trash(Some(path));
        }
        self.evictions().add(&report);
        report.evicted.iter().for_each(|blob| {
            debug!(digest = %blob.digest, size = blob.size, reason = ?blob.reason, "blob evicted");
        });
        report
    }
}

/// Chooses unleased blobs, least recently used first, that free at least `shortfall`
/// bytes; none if all of them would not.
pub(crate) fn select_for_room(index: &Index, shortfall: u64) -> EvictionReport {
    let mut lru: Vec<_> = index
        .iter()
        .filter(|(_, entry)| entry.leases == 0)
        .map(|(digest, entry)| (entry.last_access, *digest, entry.size))
        .collect();
    let mut report = EvictionReport::default();
    if lru.iter().map(|&(_, _, size)| size).sum::<u64>() < shortfall {
        return report;
    }
    lru.sort_unstable();
    let mut freed = 0;
    for (_, digest, size) in lru {
        if freed >= shortfall {
            break;
        }
        freed += size;
        report.evicted.push(EvictedBlob {
            digest,
            size,
            reason: EvictReason::Room,
        });
    }
    report
}

/// Evicts every `interval` until `shutdown` is cancelled. Failures are logged and the
/// loop carries on: a full disk is exactly when eviction must keep trying.
pub async fn run_evictor(store: Store, interval: Duration, shutdown: CancellationToken) {
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => break,
            _ = ticks.tick() => {}
        }
        match store.evict(SystemTime::now()).await {
            Ok(report) if !report.evicted.is_empty() => info!(
                blobs = report.evicted.len(),
                freed_bytes = report.freed_bytes(),
                skipped_leased = report.skipped_leased,
                usage_bytes = report.usage.bytes,
                "eviction pass"
            ),
            Ok(_) => {}
            Err(e) => warn!(error = %e, "eviction pass failed"),
        }
    }
    debug!("evictor stopped");
}

#[cfg(test)]
#[path = "evict_tests.rs"]
mod tests;
