//! Origins as a real deployment has them: several hold each blob, and any may die.
//!
//! Two origins that both hold a blob once made a lone agent's pull stop after a few
//! pieces for ever: each origin was "another peer that has it" for the other, and both
//! super-seeded the same pieces. And a pull whose only origin died sat at the same byte
//! count with its reader waiting; it now fails over and then fails within
//! `(stall_failovers + 1) * stall_timeout`.

use std::time::{Duration, Instant};

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, metric_value, namespace,
    settings, source_for, wait_until, with_egress,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lone_agent_pulls_from_two_origins_that_both_hold_the_blob() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(8 << 20).await;
    // Both origins start revealing at piece 0 (no ring here): the agent must still get
    // the blob from the two of them, not wait on each for what the other has.
    let origins = [
        Node::seeder(settings(true), &trackers, &blob).await,
        Node::seeder(settings(true), &trackers, &blob).await,
    ];
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;
    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the pull finishes")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    let from_origins = metric_value(
        &agent.metrics_text(),
        "starling_p2p_downloaded_bytes_total{class=\"origin\"}",
    );
    assert!(from_origins >= blob.data.len() as f64, "{from_origins}");
    agent.stop().await;
    for origin in &origins {
        origin.stop().await;
    }
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_whose_only_origin_dies_fails_within_the_stall_bound() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(16 << 20).await;
    let origin = Node::seeder(with_egress(settings(true), 2), &trackers, &blob).await;
    let mut agent_settings = settings(false);
    agent_settings.p2p.stall_timeout = Duration::from_secs(2);
    agent_settings.p2p.stall_failovers = 1;
    let agent = Node::start(agent_settings, &trackers, &source_for(&blob)).await;
    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let reader = tokio::spawn(digest_stream(stream));
    let started_moving = || async {
        agent
            .engine
            .progress(&blob.digest)
            .is_some_and(|p| p.have.count() > 0)
    };
    assert!(
        wait_until(PATIENCE, started_moving).await,
        "the pull starts"
    );
    origin.stop().await;
    let died = Instant::now();

    let outcome = tokio::time::timeout(PATIENCE, reader)
        .await
        .expect("the reader gets an answer, not a hang")
        .unwrap();
    let error = outcome.expect_err("the download cannot finish").to_string();
    assert!(error.contains("no block received"), "{error}");
    // Bound: 2 windows of 2 s, plus a tick and the last request timing out.
    assert!(
        died.elapsed() < Duration::from_secs(15),
        "{:?}",
        died.elapsed()
    );
    let metrics = agent.metrics_text();
    assert!(
        metric_value(&metrics, "starling_p2p_stalls_total") >= 2.0,
        "{metrics}"
    );
    assert_eq!(
        metric_value(&metrics, "starling_p2p_stalled_downloads_failed_total"),
        1.0
    );
    let gone = || async { agent.engine.progress(&blob.digest).is_none() };
    assert!(
        wait_until(PATIENCE, gone).await,
        "the failed torrent is dropped, so a retry starts afresh"
    );
    agent.stop().await;
    tracker.stop().await;
}
