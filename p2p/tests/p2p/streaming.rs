//! A blob streams in order while it downloads: the first bytes arrive long before the
//! blob is complete, Range-style reads start anywhere and share the download, and a
//! committed blob is served from the store.

use futures::StreamExt;
use starling_p2p::BlobStream;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, init_tracing, namespace, settings, source_for, with_egress,
};

/// A 16 MiB blob seeded at 4 MiB/s (four seconds for the whole), and an agent.
async fn slow_swarm() -> (TestTracker, Node, Node, Blob) {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(16 << 20).await;
    let seeder = Node::seeder(with_egress(settings(true), 4), &trackers, &blob).await;
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;
    (tracker, seeder, agent, blob)
}

async fn collect(mut stream: BlobStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    while let Some(chunk) = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("progress")
    {
        bytes.extend_from_slice(&chunk.unwrap());
    }
    bytes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_bytes_arrive_long_before_the_blob_is_complete() {
    let (tracker, seeder, agent, blob) = slow_swarm().await;
    let pieces = blob.meta.piece_count();
    let mut stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    assert_eq!(stream.blob_len(), blob.data.len() as u64);
    let first = tokio::time::timeout(PATIENCE, stream.next())
        .await
        .expect("a first chunk")
        .unwrap()
        .unwrap();
    let have = agent.engine.progress(&blob.digest).unwrap().pieces();
    assert!(
        have <= pieces / 2,
        "first chunk only after {have} of {pieces} pieces"
    );
    let mut all = first.to_vec();
    all.extend(collect(stream).await);
    assert!(all == blob.data, "the stream yields the blob in order");
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ranged_readers_share_the_download_then_the_store_serves() {
    let (tracker, seeder, agent, blob) = slow_swarm().await;
    let (ns, digest) = (namespace(), blob.digest);
    let offset = (5 << 20) + 123;
    let whole = agent.engine.download(&ns, &digest).await.unwrap();
    let ranged = agent
        .engine
        .download_from(&ns, &digest, offset as u64)
        .await
        .unwrap();
    assert_eq!(
        (ranged.start(), ranged.len()),
        (offset as u64, (blob.data.len() - offset) as u64)
    );
    let (whole, ranged) = tokio::join!(collect(whole), collect(ranged));
    assert!(whole == blob.data && ranged == blob.data[offset..]);
    let downloaded = agent.engine.stats().bytes_downloaded;
    assert!(
        downloaded < 2 * blob.data.len() as u64,
        "one torrent served both readers"
    );

    // Committed now: served from the store, without the swarm.
    let again = agent
        .engine
        .download_from(&ns, &digest, offset as u64)
        .await
        .unwrap();
    assert!(collect(again).await == blob.data[offset..]);
    assert_eq!(agent.engine.stats().bytes_downloaded, downloaded);
    let past_end = agent
        .engine
        .download_from(&ns, &digest, blob.data.len() as u64 + 1)
        .await;
    assert!(past_end.is_err(), "an offset past the end is refused");
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}
