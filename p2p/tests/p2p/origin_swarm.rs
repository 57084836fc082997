//! The whole Starling path on loopback, in the topology of a deployment: two real
//! origins on one ring with replicas 2 (`starling_origin::run`, each seeding with its
//! own engine and never announcing; the upload to one is copied to the other), a real
//! tracker asking them for metainfo, and an agent-class engine that gets the `.torrent`
//! through `TrackerMetaInfo` and finds both origins in the tracker's hand-out. Then
//! every component's `/metrics` shows the transfer.

use std::sync::Arc;

use starling_p2p::{MetaInfoSource, TrackerMetaInfo};
use starling_testkit::{BlobFixture, OriginFixture, loopback_listener, origin_config, wait_until};

use crate::support::{
    Node, PATIENCE, TestTracker, digest_stream, init_tracing, metric_value, settings,
};

async fn scrape(url: String) -> String {
    reqwest::get(url).await.unwrap().text().await.unwrap()
}

/// Two origins on a ring of both, replicas 2, stores under `root`.
async fn two_origins(root: &std::path::Path) -> [OriginFixture; 2] {
    let listeners = [loopback_listener().await, loopback_listener().await];
    let addrs: Vec<_> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let mut origins = listeners.into_iter().enumerate().map(|(k, listener)| {
        let mut cfg = origin_config(&root.join(format!("origin-{k}")), addrs[k], &addrs);
        cfg.cluster.replicas = 2;
        OriginFixture::start_on(listener, cfg, None)
    });
    let pair = [origins.next().unwrap(), origins.next().unwrap()];
    for origin in &pair {
        origin.wait_ready().await;
    }
    pair
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_downloads_from_the_origins_the_tracker_hands_out() {
    init_tracing();
    let root = tempfile::tempdir().unwrap();
    let origins = two_origins(root.path()).await;
    let blob = BlobFixture::random((4 << 20) + 1234);
    let namespace = BlobFixture::namespace();
    origins[0]
        .client()
        .upload(&namespace, &blob.digest, blob.len(), blob.stream(1 << 20))
        .await
        .unwrap();
    let copy = origins[1].client();
    wait_until("the copy to the second owner", PATIENCE, || {
        let stat = copy.stat(&namespace, &blob.digest);
        async move { matches!(stat.await, Ok(Some(_))) }
    })
    .await;
    for origin in &origins {
        let peer = origin.client().peer().await.unwrap();
        assert_eq!(peer.peer_id.as_bytes()[8], b'O', "an origin-class peer id");
    }

    let hosts: Vec<String> = origins.iter().map(OriginFixture::host).collect();
    let tracker = TestTracker::with_origins(&hosts);
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

    let (mut uploaded, mut torrents) = (0.0, 0.0);
    for origin in &origins {
        let metrics = scrape(origin.url("/metrics")).await;
        uploaded += metric_value(
            &metrics,
            r#"starling_p2p_uploaded_bytes_total{class="agent"}"#,
        );
        torrents += metric_value(&metrics, "starling_p2p_torrents");
        assert_eq!(
            metric_value(&metrics, "starling_p2p_announce_duration_seconds_count"),
            0.0,
            "origins never announce"
        );
    }
    assert!(
        uploaded >= blob.len() as f64,
        "the origins sent {uploaded} bytes"
    );
    assert!(torrents >= 1.0, "an owner seeded the blob");

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
    for origin in origins {
        origin.stop().await;
    }
}
