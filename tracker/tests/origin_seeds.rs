//! Origins in the hand-out without announcing, on real sockets: once the tracker served a
//! blob's metainfo, announces for its info hash list the owning origins (their peer
//! address from `GET /peer`), in the origin class, each once even if it announces; the
//! other owners on the ring are confirmed in the background.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use starling_clients::OriginPeer;
use starling_config::tracker::TrackerConfig;
use starling_config::{ClusterConfig, HealthCheckConfig};
use starling_core::InfoHash;
use starling_core::metainfo::MetaInfo;
use starling_testkit::{BlobFixture, OriginFixture, loopback_listener, origin_config};
use support::{TestTracker, announce_path, get_reply, peer_id, test_config, wait_until};

/// A tracker asking `origins`, owned `replicas` times per digest.
async fn start_tracker(origins: &[String], replicas: usize) -> TestTracker {
    let listener = loopback_listener().await;
    let mut cluster = ClusterConfig::with_hosts(origins.iter().cloned());
    cluster.replicas = replicas;
    cluster.health_check = HealthCheckConfig {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        fails: 2,
        passes: 2,
    };
    let cfg = TrackerConfig {
        advertise: listener.local_addr().unwrap().to_string(),
        origins: cluster,
        ..test_config()
    };
    TestTracker::start_on(listener, cfg)
}

/// The blob's torrent as the tracker serves it.
async fn fetch_torrent(tracker: &TestTracker, blob: &BlobFixture) -> MetaInfo {
    let url = tracker.url(&format!(
        "/namespace/team%2Fapp/blobs/{}/metainfo",
        blob.digest
    ));
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    MetaInfo::from_bytes(&response.bytes().await.unwrap()).unwrap()
}

fn addr_of(peer: &OriginPeer) -> SocketAddr {
    peer.peer_addr.parse().unwrap()
}

/// A leecher's announce (peer 7, port 7007); returns the reply.
async fn leecher_announce(tracker: &TestTracker, info_hash: &InfoHash) -> support::Reply {
    let path = announce_path(info_hash.as_bytes(), &peer_id(7), 7007, 100, "");
    get_reply(&reqwest::Client::new(), &tracker.url(&path)).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_is_handed_out_once_its_metainfo_was_served() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let blob = BlobFixture::random(600_000);
    origin
        .client()
        .upload(
            &BlobFixture::namespace(),
            &blob.digest,
            blob.len(),
            blob.stream(64 << 10),
        )
        .await
        .unwrap();
    let peer = origin.client().peer().await.unwrap();
    let tracker = start_tracker(&[origin.host()], 1).await;

    let torrent = fetch_torrent(&tracker, &blob).await;
    let info_hash = torrent.info_hash();
    let reply = leecher_announce(&tracker, &info_hash).await;
    assert_eq!(
        reply.peers,
        [addr_of(&peer)],
        "the origin, found without announcing"
    );
    assert_eq!((reply.complete, reply.incomplete), (1, 1));
    assert_eq!(reply.peer_ids, [peer.peer_id.as_bytes().to_vec()]);

    // The origin announces anyway, under its own peer id and address: listed once.
    let own = announce_path(
        info_hash.as_bytes(),
        peer.peer_id.as_bytes(),
        addr_of(&peer).port(),
        0,
        "",
    );
    get_reply(&reqwest::Client::new(), &tracker.url(&own)).await;
    let reply = leecher_announce(&tracker, &info_hash).await;
    assert_eq!(reply.peers, [addr_of(&peer)]);
    assert_eq!(reply.complete, 1);

    let unknown = InfoHash::from_bytes([5; 20]);
    assert!(
        leecher_announce(&tracker, &unknown).await.peers.is_empty(),
        "no origin for a torrent whose metainfo was never served"
    );
    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_owner_that_serves_the_torrent_is_handed_out() {
    let dir = tempfile::tempdir().unwrap();
    let listeners = [loopback_listener().await, loopback_listener().await];
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let origins: Vec<OriginFixture> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, listener)| {
            let mut cfg = origin_config(&dir.path().join(format!("origin-{i}")), addrs[i], &addrs);
            cfg.cluster.replicas = 2;
            OriginFixture::start_on(listener, cfg, None)
        })
        .collect();
    for origin in &origins {
        origin.wait_ready().await;
    }
    let blob = BlobFixture::random(500_000);
    origins[0]
        .client()
        .upload(
            &BlobFixture::namespace(),
            &blob.digest,
            blob.len(),
            blob.stream(64 << 10),
        )
        .await
        .unwrap();
    let hosts: Vec<String> = origins.iter().map(OriginFixture::host).collect();
    let tracker = start_tracker(&hosts, 2).await;
    let mut expected = Vec::new();
    for origin in &origins {
        expected.push(addr_of(&origin.client().peer().await.unwrap()));
    }
    expected.sort();

    let info_hash = fetch_torrent(&tracker, &blob).await.info_hash();
    // The second owner gets the blob by replication and its metainfo when the tracker
    // asks it in the background.
    let both = wait_until(Duration::from_secs(20), || async {
        let mut peers = leecher_announce(&tracker, &info_hash).await.peers;
        peers.sort();
        peers == expected
    })
    .await;
    assert!(both, "both owners are handed out: {expected:?}");
    tracker.stop().await;
    for origin in origins {
        origin.stop().await;
    }
}
