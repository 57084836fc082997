//! One seeder and ten downloading engines on loopback with a real tracker.

use std::time::Instant;

use futures::future::join_all;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, with_egress,
};

const MIB: usize = 1 << 20;

/// Ten agents download a 64 MiB blob that one rate-limited origin seeds: all finish
/// with the right bytes, and the origin sends under three copies because the agents
/// trade pieces among themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_agents_finish_from_one_seeder_that_sends_under_three_copies() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(64 * MIB).await;
    let seeder = Node::seeder(with_egress(settings(true), 32), &trackers, &blob).await;
    let source = source_for(&blob);
    let agents = join_all((0..10).map(|_| Node::start(settings(false), &trackers, &source))).await;

    let started = Instant::now();
    let downloads = agents.iter().map(|agent| async {
        let stream = agent
            .engine
            .download(&namespace(), &blob.digest)
            .await
            .unwrap();
        digest_stream(stream).await.unwrap()
    });
    let results = tokio::time::timeout(PATIENCE, join_all(downloads))
        .await
        .expect("every agent finishes in time");
    let took = started.elapsed();
    for (digest, len) in results {
        assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    }
    for agent in &agents {
        let stored = agent.store.stat(&blob.digest).unwrap().expect("committed");
        assert_eq!(stored.size, blob.data.len() as u64);
    }
    let egress = seeder.engine.stats().bytes_uploaded;
    eprintln!(
        "10 agents x 64 MiB in {took:?}; seeder egress {:.2} copies",
        egress as f64 / blob.data.len() as f64
    );
    assert!(
        egress < 3 * blob.data.len() as u64,
        "seeder sent {egress} bytes, {:.2} copies",
        egress as f64 / blob.data.len() as f64
    );
    let text = seeder.metrics_text();
    assert!(
        text.contains(r#"starling_p2p_uploaded_bytes_total{class="agent"}"#),
        "{text}"
    );
    for node in agents.iter().chain([&seeder]) {
        node.stop().await;
    }
    tracker.stop().await;
}
