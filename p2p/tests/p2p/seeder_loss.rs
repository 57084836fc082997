//! The only seeder dies midway, after the agents together hold every piece but before
//! they are done: they finish from each other.

use futures::future::join_all;
use starling_core::Bitfield;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until, with_egress,
};

/// The pieces the agents hold between them.
fn union_of(agents: &[Node], blob: &Blob) -> Bitfield {
    let pieces = blob.meta.piece_count();
    let mut union = vec![0u8; Bitfield::byte_len(pieces)];
    for progress in agents
        .iter()
        .filter_map(|a| a.engine.progress(&blob.digest))
    {
        for (acc, byte) in union.iter_mut().zip(progress.have.as_bytes()) {
            *acc |= byte;
        }
    }
    Bitfield::from_bytes(&union, pieces).expect("a union of valid bitfields")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_finish_from_each_other_after_the_seeder_dies() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(16 << 20).await;
    let seeder = Node::seeder(with_egress(settings(true), 8), &trackers, &blob).await;
    let source = source_for(&blob);
    // Agents trade slowly, so that when the seeder has sent every piece once, each of
    // them still misses some.
    let agents =
        join_all((0..3).map(|_| Node::start(with_egress(settings(false), 3), &trackers, &source)))
            .await;
    let ns = namespace();
    let readers: Vec<_> = join_all(agents.iter().map(|a| a.engine.download(&ns, &blob.digest)))
        .await
        .into_iter()
        .map(|stream| tokio::spawn(digest_stream(stream.unwrap())))
        .collect();

    let union_is_full = || async { union_of(&agents, &blob).is_complete() };
    assert!(
        wait_until(PATIENCE, union_is_full).await,
        "the agents hold every piece together"
    );
    seeder.stop().await;
    let unfinished = agents
        .iter()
        .filter(|a| {
            a.engine
                .progress(&blob.digest)
                .is_some_and(|p| !p.have.is_complete())
        })
        .count();
    assert!(
        unfinished > 0,
        "the test needs agents that still miss pieces"
    );

    for reader in readers {
        let outcome = tokio::time::timeout(PATIENCE, reader)
            .await
            .expect("every agent finishes");
        let (digest, _) = outcome.unwrap().unwrap();
        assert_eq!(digest, blob.digest);
    }
    for agent in &agents {
        agent.stop().await;
    }
    tracker.stop().await;
}
