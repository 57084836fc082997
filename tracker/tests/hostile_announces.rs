//! Announces from strangers, against the real tracker on loopback: a swarm flooded with
//! fake seeders still hands out the blob's origin, one address cannot hold more than
//! `max_peers_per_ip` entries of a swarm, and an `ip=` no peer can be at fails.

mod support;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use starling_config::tracker::TrackerConfig;
use starling_config::{ClusterConfig, HealthCheckConfig};
use starling_core::metainfo::MetaInfo;
use starling_testkit::{BlobFixture, OriginFixture, loopback_listener};
use support::{TestTracker, announce_path, get_reply, peer_id, test_config};

const HASH: [u8; 20] = *b"hostile-announces-01";

/// A tracker asking the one origin `origin_host`, handing out up to 50 peers (the
/// production default, which is what the fake seeders try to fill).
async fn tracker_with_origin(origin_host: String) -> TestTracker {
    let listener = loopback_listener().await;
    let mut cluster = ClusterConfig::with_hosts([origin_host]);
    cluster.replicas = 1;
    cluster.health_check = HealthCheckConfig {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        fails: 2,
        passes: 2,
    };
    let cfg = TrackerConfig {
        advertise: listener.local_addr().unwrap().to_string(),
        origins: cluster,
        announce_limit: 50,
        ..test_config()
    };
    TestTracker::start_on(listener, cfg)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixty_fake_seeders_do_not_push_the_origin_out_of_the_hand_out() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let blob = BlobFixture::random(300_000);
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
    let origin_addr: SocketAddr = origin
        .client()
        .peer()
        .await
        .unwrap()
        .peer_addr
        .parse()
        .unwrap();
    let tracker = tracker_with_origin(origin.host()).await;
    let url = tracker.url(&format!(
        "/namespace/team%2Fapp/blobs/{}/metainfo",
        blob.digest
    ));
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    let info_hash = MetaInfo::from_bytes(&response.bytes().await.unwrap())
        .unwrap()
        .info_hash();

    // 60 peers claim the whole blob and hold nothing. They announce from loopback,
    // which the default `trusted_networks` exempts from the per-address bound, as
    // strangers spread over many addresses would be.
    let client = reqwest::Client::new();
    for n in 0..60u16 {
        let path = announce_path(
            info_hash.as_bytes(),
            &peer_id(1000 + u64::from(n)),
            2000 + n,
            0,
            "&event=started&compact=1",
        );
        assert_eq!(get_reply(&client, &tracker.url(&path)).await.failure, None);
    }

    for attempt in 0..5 {
        let path = announce_path(
            info_hash.as_bytes(),
            &peer_id(7),
            7007,
            300_000,
            "&event=started&compact=1",
        );
        let reply = get_reply(&client, &tracker.url(&path)).await;
        assert_eq!(reply.peers.len(), 50, "a full hand-out");
        assert_eq!(reply.complete, 61, "the fakes and the origin");
        assert!(
            reply.peers.contains(&origin_addr),
            "attempt {attempt}: the origin {origin_addr} is handed out among {:?}",
            reply.peers
        );
    }
    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test]
async fn one_address_floods_a_swarm_with_peer_ids_and_keeps_only_max_peers_per_ip() {
    let cfg = TrackerConfig {
        trusted_networks: Vec::new(),
        ..test_config()
    };
    let cap = cfg.max_peers_per_ip;
    assert_eq!(cap, 8, "the default bound");
    let tracker = TestTracker::start(cfg).await;
    let client = reqwest::Client::new();
    let flood = 30u16;
    for n in 0..flood {
        let path = announce_path(
            &HASH,
            &peer_id(u64::from(n)),
            3000 + n,
            0,
            "&event=started&compact=1",
        );
        assert_eq!(get_reply(&client, &tracker.url(&path)).await.failure, None);
    }

    // A peer on another loopback address has a quota of its own and sees what is left
    // of the flood: the most recent `cap` entries.
    let other = reqwest::Client::builder()
        .local_address(IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)))
        .build()
        .unwrap();
    let path = announce_path(&HASH, &peer_id(999), 7000, 100, "&compact=1");
    let reply = get_reply(&other, &tracker.url(&path)).await;
    assert_eq!(reply.failure, None);
    assert_eq!((reply.complete, reply.incomplete), (cap as i64, 1));
    let mut ports: Vec<u16> = reply.peers.iter().map(SocketAddr::port).collect();
    ports.sort();
    let newest: Vec<u16> = (3000 + flood - cap as u16..3000 + flood).collect();
    assert_eq!(ports, newest, "the least recent entries were evicted");

    let metrics = client
        .get(tracker.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let held = format!("starling_tracker_peers {}", cap + 1);
    assert!(metrics.contains(&held), "missing {held:?} in\n{metrics}");
    tracker.stop().await;
}

#[tokio::test]
async fn an_ip_no_peer_can_be_at_fails_the_announce() {
    let tracker = TestTracker::start(test_config()).await;
    let client = reqwest::Client::new();
    for (ip, reason) in [
        (
            "169.254.169.254",
            "invalid ip: must not be link-local (169.254.0.0/16, fe80::/10)",
        ),
        ("224.0.0.1", "invalid ip: must not be multicast"),
    ] {
        let path = announce_path(&HASH, &peer_id(1), 6881, 0, &format!("&ip={ip}"));
        let reply = get_reply(&client, &tracker.url(&path)).await;
        assert_eq!(reply.failure.as_deref(), Some(reason), "ip={ip}");
    }
    let path = announce_path(&HASH, &peer_id(2), 6882, 0, "&compact=1");
    let reply = get_reply(&client, &tracker.url(&path)).await;
    assert_eq!(
        (reply.complete, reply.peers.len()),
        (1, 0),
        "the refused announce stored nothing"
    );
    tracker.stop().await;
}
