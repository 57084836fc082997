//! Eviction tests: selection on a bare index, then passes against a real store whose
//! access times are set through file mtimes and a reopen (no sleeping).

use std::time::Instant;

use super::*;
use crate::index::SharedIndex;
use crate::store::test_support::*;
use crate::store::{BlobInfo, StoreOptions};

fn at(secs: u64) -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
}

fn policy(idle_secs: u64, high: u64, low: u64) -> Policy {
    Policy {
        idle_ttl: Duration::from_secs(idle_secs),
        high_watermark: high,
        low_watermark: low,
    }
}

fn evicted(report: &EvictionReport) -> Vec<(Digest, EvictReason)> {
    report
        .evicted
        .iter()
        .map(|b| (b.digest, b.reason))
        .collect()
}

/// Puts one blob per (seed, mtime), reopens the store so the index takes the mtimes.
async fn store_with(opts: StoreOptions, blobs: &[(u8, u64)]) -> (Store, Vec<BlobInfo>) {
    let store = Store::open_root(opts.clone()).await.unwrap();
    let mut infos = Vec::new();
    for &(seed, mtime) in blobs {
        let info = put(&store, &content(100, seed)).await;
        set_mtime(&store, &info.digest, mtime);
        infos.push(info);
    }
    drop(store);
    (Store::open_root(opts).await.unwrap(), infos)
}

#[test]
fn select_takes_idle_blobs_then_lru_down_to_the_low_watermark() {
    let shared = SharedIndex::default();
    let d = |i: u8| Digest::of(&[i]);
    {
        let mut index = shared.lock();
        for (i, last) in [(1, 10), (2, 500), (3, 400), (4, 900), (5, 300)] {
            index.insert(d(i), 100, at(last));
        }
    }
    let (_lease, _) = shared.lease(d(5), at(300)).unwrap();
    let report = select(&shared.lock(), at(1000), policy(800, 250, 200));
    assert_eq!(
        evicted(&report),
        vec![
            (d(1), EvictReason::Idle),
            (d(3), EvictReason::Watermark),
            (d(2), EvictReason::Watermark),
        ]
    );
    assert_eq!(report.skipped_leased, 0);
    assert_eq!(report.freed_bytes(), 300);

    let nothing = select(&shared.lock(), at(1000), policy(10_000, 500, 100));
    assert!(
        nothing.evicted.is_empty(),
        "at the high watermark is not above it"
    );
    let future = select(&shared.lock(), at(0), policy(0, u64::MAX, u64::MAX));
    assert!(future.evicted.is_empty(), "access after now is not idle");
}

#[tokio::test]
async fn evicts_idle_blobs_and_updates_usage() {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(root.path());
    opts.idle_ttl = Duration::from_secs(100);
    let (store, blobs) = store_with(opts, &[(1, 1000), (2, 1050), (3, 2000)]).await;
    assert_eq!(
        store.usage(),
        Usage {
            blobs: 3,
            bytes: 300
        }
    );

    let report = store.evict(at(1200)).await.unwrap();
    let mut got = evicted(&report);
    got.sort();
    let mut want = vec![
        (blobs[0].digest, EvictReason::Idle),
        (blobs[1].digest, EvictReason::Idle),
    ];
    want.sort();
    assert_eq!(got, want);
    assert_eq!(
        report.usage,
        Usage {
            blobs: 1,
            bytes: 100
        }
    );
    assert_eq!(store.usage(), report.usage);
    let evictions = store.evictions();
    assert_eq!((evictions.blobs(), evictions.bytes()), (2, 200));
    for blob in &blobs[..2] {
        assert_eq!(store.stat(&blob.digest).unwrap(), None);
        assert!(!store.layout().blob_path(&blob.digest).exists());
    }
    assert!(store.stat(&blobs[2].digest).unwrap().is_some());
    assert!(tmp_names(root.path()).is_empty());

    store.delete(&blobs[2].digest).await.unwrap();
    assert_eq!(store.usage(), Usage::default());
}

#[tokio::test]
async fn watermark_evicts_in_lru_order_and_spares_leased_blobs() {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(root.path());
    (opts.high_watermark, opts.low_watermark) = (350, 200);
    let mtimes = [(1, 40), (2, 10), (3, 50), (4, 20), (5, 30)];
    let (store, blobs) = store_with(opts, &mtimes).await;
    let oldest = blobs[1].digest;
    // `open` stamps the access as "now", so take the lease through the index to keep
    // the oldest blob oldest; leases taken by readers are covered below.
    let (_lease, _) = store.index().lease(oldest, at(10)).unwrap();

    let report = store.evict(at(100)).await.unwrap();
    let want = [blobs[3].digest, blobs[4].digest, blobs[0].digest];
    assert_eq!(
        evicted(&report),
        want.map(|d| (d, EvictReason::Watermark)).to_vec()
    );
    assert_eq!(
        report.usage,
        Usage {
            blobs: 2,
            bytes: 200
        }
    );
    assert!(store.stat(&oldest).unwrap().is_some());
    assert!(store.evict(at(100)).await.unwrap().evicted.is_empty());
}

#[tokio::test]
async fn a_blob_held_by_a_reader_is_never_evicted() {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(root.path());
    (opts.high_watermark, opts.low_watermark) = (0, 0);
    opts.idle_ttl = Duration::ZERO;
    let (store, blobs) = store_with(opts, &[(1, 10), (2, 20)]).await;
    let reader = store.open(&blobs[0].digest).await.unwrap().unwrap();

    let far_future = SystemTime::now() + Duration::from_secs(1_000_000);
    let report = store.evict(far_future).await.unwrap();
    assert_eq!(evicted(&report), vec![(blobs[1].digest, EvictReason::Idle)]);
    assert_eq!(report.skipped_leased, 1);
    assert_eq!(read_all(&store, &blobs[0].digest).await, content(100, 1));
    assert_eq!(reader.read_at(0, 100).await.unwrap(), content(100, 1));

    drop(reader);
    let report = store.evict(far_future).await.unwrap();
    assert_eq!(evicted(&report), vec![(blobs[0].digest, EvictReason::Idle)]);
    assert_eq!(store.usage(), Usage::default());
}

#[tokio::test]
async fn reads_move_a_blob_to_the_back_of_the_lru_across_restarts() {
    let root = tempfile::tempdir().unwrap();
    let mut opts = options(root.path());
    (opts.high_watermark, opts.low_watermark) = (150, 100);
    opts.idle_ttl = Duration::MAX;
    let (store, blobs) = store_with(opts.clone(), &[(1, 10), (2, 20)]).await;
    drop(store.open(&blobs[0].digest).await.unwrap().unwrap());
    drop(store);

    let store = Store::open_root(opts).await.unwrap();
    let report = store.evict(SystemTime::now()).await.unwrap();
    assert_eq!(
        evicted(&report),
        vec![(blobs[1].digest, EvictReason::Watermark)]
    );
}

#[tokio::test]
async fn run_evictor_evicts_until_cancelled() {
    let root = tempfile::tempdir().unwrap();
    let (store, blobs) = store_with(options(root.path()), &[(1, 1000)]).await;
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(run_evictor(
        store.clone(),
        Duration::from_millis(5),
        shutdown.clone(),
    ));

    let deadline = Instant::now() + Duration::from_secs(10);
    while store.stat(&blobs[0].digest).unwrap().is_some() {
        assert!(
            Instant::now() < deadline,
            "the evictor never evicted the idle blob"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), task)
        .await
        .expect("the evictor stops on cancel")
        .unwrap();
}
