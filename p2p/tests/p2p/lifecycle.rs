//! Torrent lifecycle: an agent seeds what it downloaded; a seeder with no upload
//! activity for the idle TTL drops the torrent, and seeding again re-adds it.

use std::time::Duration;

use starling_p2p::TorrentPhase;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_seeders_drop_the_torrent_and_can_seed_again() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(1 << 20).await;
    let mut short_lived = settings(false);
    short_lived.p2p.seeder_idle_ttl = Duration::from_secs(2);
    let seeder = Node::seeder(settings(true), &trackers, &blob).await;
    let agent = Node::start(short_lived, &trackers, &source_for(&blob)).await;

    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, _) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!(digest, blob.digest);
    let phase = agent.engine.progress(&blob.digest).map(|p| p.phase);
    assert_eq!(
        phase,
        Some(TorrentPhase::Seeding),
        "the agent seeds what it fetched"
    );

    let dropped = wait_until(PATIENCE, || async {
        agent.engine.progress(&blob.digest).is_none()
    });
    assert!(dropped.await, "the idle seeder dropped the torrent");
    assert!(
        agent.store.stat(&blob.digest).unwrap().is_some(),
        "the blob stays in the store"
    );
    agent.engine.seed(blob.meta.clone()).await.unwrap();
    let phase = agent.engine.progress(&blob.digest).map(|p| p.phase);
    assert_eq!(
        phase,
        Some(TorrentPhase::Seeding),
        "seeding again re-adds it"
    );
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}
