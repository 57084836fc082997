//! The whole Starling path on loopback: a real origin (`starling_origin::run`, seeding
//! with its own engine and never announcing), a real tracker asking it for metainfo, and
//! an agent-class engine that gets the `.torrent` through `TrackerMetaInfo` and finds
//! the origin in the tracker's hand-out. Then every component's `/metrics` shows the
//! transfer.

use std::sync::Arc;

use starling_p2p::{MetaInfoSource, TrackerMetaInfo};
use starling_testkit::{BlobFixture, OriginFixture};

use crate::support::{
    Node, PATIENCE, TestTracker, digest_stream, init_tracing, metric_value, settings,
};

async fn scrape(url: String) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_downloads_from_an_origin_the_tracker_hands_out() {
    init_tracing();
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let blob = BlobFixture::random((4 << 20) + 1234);
    let namespace = BlobFixture::namespace();
    origin
        .client()
        .upload(&namespace, &blob.digest, blob.len(), blob.stream(1 << 20))
        .await
        .unwrap();
    let peer = origin.client().peer().await.unwrap();
    assert_eq!(peer.peer_id.as_bytes()[8], b'O', "an origin-class peer id");

    let tracker = TestTracker::with_origins(&[origin.host()]);
    let trackers = vec![tracker.url()];
    let source: Arc<dyn MetaInfoSource> =
        Arc::new(TrackerMetaInfo::new(&trackers, reqwest::Client::new()).unwrap());
    let agent = Node::start_custom(settings(false), &trackers, source, None).await;
    let stream = agent
        .engine
        .download(&namespace, &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.len()));
    assert!(
        agent.store.stat(&blob.digest).unwrap().is_some(),
        "committed"
    );

    let origin_metrics = scrape(origin.url("/metrics")).await;
    let uploaded = metric_value(
        &origin_metrics,
        r#"starling_p2p_uploaded_bytes_total{class="agent"}"#,
    );
    assert!(uploaded >= blob.len() as f64, "{origin_metrics}");
    assert!(
        metric_value(&origin_metrics, "starling_p2p_torrents") >= 1.0,
        "{origin_metrics}"
    );
    assert_eq!(
        metric_value(
            &origin_metrics,
            "starling_p2p_announce_duration_seconds_count"
        ),
        0.0,
        "origins never announce"
    );

    let agent_metrics = agent.metrics_text();
    for series in [
        r#"starling_p2p_downloaded_bytes_total{class="origin"}"#,
        "starling_p2p_pieces_verified_total",
        "starling_p2p_announce_duration_seconds_count",
    ] {
        assert!(
            metric_value(&agent_metrics, series) > 0.0,
            "{series}: {agent_metrics}"
        );
    }
    let tracker_metrics = scrape(format!("{}/metrics", tracker.url())).await;
    assert!(
        metric_value(
            &tracker_metrics,
            "starling_tracker_origin_seeds_handed_total"
        ) > 0.0,
        "{tracker_metrics}"
    );

    agent.stop().await;
    tracker.stop().await;
    origin.stop().await;
}
