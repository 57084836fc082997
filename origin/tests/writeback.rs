//! Write-back to the namespace's backend: it happens after an upload, retries with
//! backoff through an outage, keeps the blob pinned until done, and survives a restart.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use starling_backend::{Backend, Key, ObjectStoreBackend};
use starling_config::OriginConfig;
use starling_core::RepoName;
use starling_origin::BackendLookup;
use starling_testkit::{
    BlobFixture, CountingBackend, OriginFixture, loopback_listener, origin_config, wait_until,
};

const WAIT: Duration = Duration::from_secs(20);

fn ns() -> RepoName {
    BlobFixture::namespace()
}

/// A filesystem backend behind a counting wrapper that can simulate an outage, serving
/// `team/*` only.
fn backend(dir: &Path) -> (Arc<CountingBackend>, Arc<dyn BackendLookup>) {
    let fs = ObjectStoreBackend::filesystem(&dir.join("backend")).unwrap();
    let counting = CountingBackend::new(Arc::new(fs));
    let shared: Arc<dyn Backend> = counting.clone();
    let lookup: Arc<dyn BackendLookup> =
        Arc::new(move |ns: &RepoName| ns.as_str().starts_with("team/").then(|| shared.clone()));
    (counting, lookup)
}

async fn start(
    dir: &Path,
    lookup: &Arc<dyn BackendLookup>,
    tune: impl FnOnce(&mut OriginConfig),
) -> OriginFixture {
    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let mut cfg = origin_config(&dir.join("origin"), addr, &[addr]);
    tune(&mut cfg);
    OriginFixture::start_on(listener, cfg, Some(lookup.clone()))
}

async fn in_backend(backend: &CountingBackend, blob: &BlobFixture) -> bool {
    let key = Key::blob(ns(), blob.digest);
    backend.stat(&key).await.ok().flatten() == Some(blob.len())
}

fn blobs_in_store(dir: &Path) -> usize {
    walk(&dir.join("origin/data"))
}

fn walk(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |entries| {
        entries
            .map(|e| e.unwrap().path())
            .map(|p| if p.is_dir() { walk(&p) } else { 1 })
            .sum()
    })
}

#[tokio::test]
async fn an_upload_is_written_back_and_a_namespace_without_backend_queues_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (counting, lookup) = backend(dir.path());
    let origin = start(dir.path(), &lookup, |_| {}).await;
    let blob = BlobFixture::random(3_000_000);
    origin
        .client()
        .upload(&ns(), &blob.digest, blob.len(), blob.stream(100_000))
        .await
        .unwrap();

    wait_until("the write-back", WAIT, || in_backend(&counting, &blob)).await;
    wait_until("the queue to drain", WAIT, || async {
        origin.metric("starling_origin_writeback_queue_depth").await == 0.0
    })
    .await;
    assert_eq!(
        origin
            .metric("starling_origin_backend_written_bytes_total")
            .await,
        3_000_000.0
    );
    let body = counting
        .download(&Key::blob(ns(), blob.digest))
        .await
        .unwrap();
    let stored = starling_backend::stream::collect(body, 4_000_000)
        .await
        .unwrap();
    assert_eq!(stored, blob.data);

    let local_only = BlobFixture::random(1000);
    let other = RepoName::parse("other/app").unwrap();
    origin
        .client()
        .upload(&other, &local_only.digest, 1000, local_only.stream(500))
        .await
        .unwrap();
    assert_eq!(
        origin.metric("starling_origin_writeback_queue_depth").await,
        0.0
    );
    assert_eq!(counting.uploads(), 1);
    origin.stop().await;
}

#[tokio::test]
async fn an_outage_delays_write_back_and_the_blob_stays_pinned() {
    let dir = tempfile::tempdir().unwrap();
    let (counting, lookup) = backend(dir.path());
    // Evict everything not pinned as soon as possible.
    let origin = start(dir.path(), &lookup, |cfg| {
        cfg.store.idle_ttl = Duration::from_millis(1);
        cfg.store.high_watermark = starling_config::ByteSize(0);
        cfg.store.low_watermark = starling_config::ByteSize(0);
        cfg.store.eviction_interval = Duration::from_millis(50);
    })
    .await;
    counting.set_failing(true);
    let blob = BlobFixture::random(500_000);
    origin
        .client()
        .upload(&ns(), &blob.digest, blob.len(), blob.stream(64 * 1024))
        .await
        .unwrap();

    wait_until("several failed attempts", WAIT, || async {
        origin.metric("starling_origin_task_retries_total").await >= 3.0
    })
    .await;
    assert_eq!(
        origin.metric("starling_origin_writeback_queue_depth").await,
        1.0
    );
    assert_eq!(
        blobs_in_store(dir.path()),
        1,
        "pinned while the write-back is pending"
    );

    counting.set_failing(false);
    wait_until("the write-back after the outage", WAIT, || {
        in_backend(&counting, &blob)
    })
    .await;
    wait_until("the unpinned blob to be evicted", WAIT, || async {
        blobs_in_store(dir.path()) == 0
    })
    .await;
    assert_eq!(
        origin.metric("starling_origin_writeback_queue_depth").await,
        0.0
    );
    // Evicted locally, still served: read through from the backend.
    let download = origin.client().download(&ns(), &blob.digest).await.unwrap();
    assert_eq!(download.size, blob.len());
    origin.stop().await;
}

#[tokio::test]
async fn write_back_survives_an_origin_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (counting, lookup) = backend(dir.path());
    counting.set_failing(true);
    let first = start(dir.path(), &lookup, |_| {}).await;
    let blob = BlobFixture::random(800_000);
    first
        .client()
        .upload(&ns(), &blob.digest, blob.len(), blob.stream(64 * 1024))
        .await
        .unwrap();
    wait_until("a failed attempt", WAIT, || async {
        first.metric("starling_origin_task_retries_total").await >= 1.0
    })
    .await;
    first.stop().await;

    counting.set_failing(false);
    assert!(
        !in_backend(&counting, &blob).await,
        "nothing was written during the outage"
    );
    let second = start(dir.path(), &lookup, |_| {}).await;
    wait_until("the write-back after restart", WAIT, || {
        in_backend(&counting, &blob)
    })
    .await;
    wait_until("the queue to drain", WAIT, || async {
        second.metric("starling_origin_writeback_queue_depth").await == 0.0
    })
    .await;
    second.stop().await;
}
