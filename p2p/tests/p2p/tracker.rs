//! Trackers coming and going: a restarted tracker (same address, empty peer store) is
//! refilled by the next announces, and a broken tracker on the ring is failed over.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use starling_core::PeerId;
use starling_core::announce::Event;
use starling_p2p::announce::TrackerPool;
use starling_p2p::{AnnounceRequest, Announcer, HealthPolicy, TrackerUrl};
use tokio::net::TcpListener;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until,
};

async fn download_in_time(node: &Node, blob: &Blob) {
    let stream = node
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, _) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!(digest, blob.digest);
}

/// How many seeders `tracker` lists for `blob`, asked with a `stopped` announce from a
/// peer it does not know (which leaves its store untouched).
async fn seeders_listed(tracker: &TestTracker, blob: &Blob) -> u64 {
    let announcer = Announcer::new(
        vec![TrackerUrl::parse(&tracker.url()).unwrap()],
        HealthPolicy::default(),
    )
    .unwrap();
    let probe = AnnounceRequest {
        info_hash: blob.meta.info_hash(),
        peer_id: PeerId::from_bytes(*b"-XX0001-probe0000000"),
        port: 9,
        ip: None,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::Stopped,
        compact: true,
        numwant: Some(0),
        zone: None,
        rack: None,
    };
    announcer
        .announce(&blob.digest, &probe)
        .await
        .unwrap()
        .complete
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_swarm_recovers_after_a_tracker_restart() {
    init_tracing();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let kept = listener.try_clone().unwrap();
    let tracker = TestTracker::start_on(listener);
    let trackers = vec![tracker.url()];
    let blob = Blob::random(2 << 20).await;
    let seeder = Node::seeder(settings(true), &trackers, &blob).await;
    let source = source_for(&blob);
    let first = Node::start(settings(false), &trackers, &source).await;
    download_in_time(&first, &blob).await;
    let both = wait_until(PATIENCE, || async {
        seeders_listed(&tracker, &blob).await == 2
    });
    assert!(
        both.await,
        "the origin and the first agent announced as seeders"
    );

    // Same address, nothing remembered: the swarm is only known again from the
    // periodic announces made from now on.
    tracker.stop().await;
    let restarted = TestTracker::start_on(kept);
    let late = Node::start(settings(false), &trackers, &source).await;
    download_in_time(&late, &blob).await;
    let all = wait_until(PATIENCE, || async {
        seeders_listed(&restarted, &blob).await == 3
    });
    assert!(all.await, "every seeder is listed again");

    for node in [&late, &first, &seeder] {
        node.stop().await;
    }
    restarted.stop().await;
}

/// A "tracker" that accepts connections and drops them at once.
async fn broken_tracker() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(stream);
        }
    });
    (url, hits)
}

/// A random blob whose digest the ring places on `trackers[0]` first.
async fn blob_owned_by_first(trackers: &[String]) -> Blob {
    let urls = trackers
        .iter()
        .map(|t| TrackerUrl::parse(t).unwrap())
        .collect();
    let ring = TrackerPool::new(urls, HealthPolicy::default());
    for _ in 0..64 {
        let blob = Blob::random(256 << 10).await;
        if ring.candidates(&blob.digest, Instant::now())[0] == 0 {
            return blob;
        }
    }
    panic!("64 random digests all avoided a tracker owning about half the ring");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn engines_fail_over_from_a_broken_tracker() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let (broken, hits) = broken_tracker().await;
    let trackers = vec![broken, tracker.url()];
    let blob = blob_owned_by_first(&trackers).await;
    let seeder = Node::seeder(settings(true), &trackers, &blob).await;
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;
    download_in_time(&agent, &blob).await;
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "the owning tracker was tried first"
    );
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}
