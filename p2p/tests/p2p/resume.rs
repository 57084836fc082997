//! An agent stopped halfway resumes from its persisted pieces after a restart on the
//! same store, and fetches none of them again.

use std::path::Path;
use std::sync::Arc;

use starling_p2p::{EngineStats, MemoryMetaInfo};

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until, with_egress,
};

/// Downloads until at least half the pieces are verified, then stops the engine;
/// returns its totals.
async fn download_halfway(
    root: &Path,
    trackers: &[String],
    source: &Arc<MemoryMetaInfo>,
    blob: &Blob,
) -> EngineStats {
    let pieces = blob.meta.piece_count();
    let node = Node::start_at(root, settings(false), trackers, source).await;
    let stream = node
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let reader = tokio::spawn(digest_stream(stream));
    let halfway = wait_until(PATIENCE, || async {
        let progress = node.engine.progress(&blob.digest);
        progress.is_some_and(|p| p.pieces() >= pieces / 2)
    });
    assert!(halfway.await, "the first run gets halfway");
    node.stop().await;
    let cut_off = reader.await.unwrap();
    assert!(
        cut_off.is_err(),
        "a stream cut off by shutdown ends with an error"
    );
    let stats = node.engine.stats();
    assert!(
        stats.pieces_verified < u64::from(pieces),
        "stopped before the end: {stats:?}"
    );
    stats
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_agent_fetches_only_the_missing_pieces() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(16 << 20).await;
    let pieces = u64::from(blob.meta.piece_count());
    let seeder = Node::seeder(with_egress(settings(true), 8), &trackers, &blob).await;
    let source = source_for(&blob);
    let root = tempfile::tempdir().unwrap();
    let before = download_halfway(root.path(), &trackers, &source, &blob).await;

    let second = Node::start_at(root.path(), settings(false), &trackers, &source).await;
    let stream = second
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the second run completes")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    let after = second.engine.stats();
    assert_eq!(
        before.pieces_verified + after.pieces_verified,
        pieces,
        "every piece verified exactly once over both runs ({before:?}, {after:?})"
    );
    let missing = (pieces - before.pieces_verified) * blob.piece_len();
    // Endgame may fetch a few blocks twice; nothing verified before is fetched again.
    assert!(
        after.bytes_downloaded < missing + (1 << 20),
        "downloaded {} bytes for {missing} missing",
        after.bytes_downloaded
    );
    second.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}
