//! `GET /namespace/{ns}/blobs/{digest}/metainfo` on real sockets: a real origin
//! (testkit) holds the blob, the tracker (`starling_tracker::run`) asks it through an
//! [`OriginProxy`] that counts and can hold the origin's metainfo requests.

mod support;

use std::time::Duration;

use futures::future::join_all;
use starling_config::tracker::TrackerConfig;
use starling_config::{ClusterConfig, HealthCheckConfig};
use starling_core::Digest;
use starling_core::metainfo::MetaInfo;
use starling_core::registry::{ErrorCode, RegistryError};
use starling_testkit::{BlobFixture, OriginFixture, loopback_listener};
use starling_tracker::TrackerRing;
use support::origin_proxy::OriginProxy;
use support::{TestTracker, announce_path, get_reply, peer_id, test_config, wait_until};

/// A blob of five pieces under the default policy (256 KiB pieces), the last one short.
const BLOB_LEN: usize = (1 << 20) + 12_345;

fn metainfo_path(namespace: &str, digest: &str) -> String {
    format!("/namespace/{namespace}/blobs/{digest}/metainfo")
}

fn blob_path(digest: &Digest) -> String {
    metainfo_path("team%2Fapp", &digest.to_string())
}

/// A tracker on `listener`, advertised as its own address, asking `origins` (probed
/// every 100 ms, so a stopped origin is marked down quickly).
fn tracker_config(advertise: String, origins: &[String]) -> TrackerConfig {
    let mut origins = ClusterConfig::with_hosts(origins.iter().cloned());
    origins.health_check = HealthCheckConfig {
        interval: Duration::from_millis(100),
        timeout: Duration::from_millis(100),
        fails: 2,
        passes: 2,
    };
    TrackerConfig {
        advertise,
        origins,
        ..test_config()
    }
}

async fn start_tracker(origins: &[String]) -> TestTracker {
    let listener = loopback_listener().await;
    let advertise = listener.local_addr().unwrap().to_string();
    TestTracker::start_on(listener, tracker_config(advertise, origins))
}

async fn upload(origin: &OriginFixture, blob: &BlobFixture) {
    origin
        .client()
        .upload(
            &BlobFixture::namespace(),
            &blob.digest,
            blob.len(),
            blob.stream(64 << 10),
        )
        .await
        .expect("the origin takes the upload");
}

/// The tracker's Prometheus value of `name` (0 when not yet recorded).
async fn metric(tracker: &TestTracker, name: &str) -> f64 {
    let text = reqwest::get(tracker.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

async fn get(client: &reqwest::Client, url: &str) -> (u16, Option<String>, Vec<u8>) {
    let response = client.get(url).send().await.expect("the tracker answers");
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        content_type,
        response.bytes().await.unwrap().to_vec(),
    )
}

/// Asserts a registry error body with `status` and `code`.
async fn expect_error(client: &reqwest::Client, url: &str, status: u16, code: ErrorCode) {
    let (got, content_type, body) = get(client, url).await;
    assert_eq!(got, status, "{url}: {}", String::from_utf8_lossy(&body));
    assert_eq!(content_type.as_deref(), Some("application/json"), "{url}");
    let error = RegistryError::from_json_body(&body).expect("a registry error body");
    assert_eq!(error.code, code, "{url}");
    assert!(error.detail.is_some(), "{url}: the detail says why");
}

#[tokio::test]
async fn the_torrent_comes_from_the_origin_and_announces_here() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let blob = BlobFixture::random(BLOB_LEN);
    upload(&origin, &blob).await;
    let tracker = start_tracker(&[origin.host()]).await;
    let client = reqwest::Client::new();

    let (status, content_type, body) = get(&client, &tracker.url(&blob_path(&blob.digest))).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type.as_deref(), Some("application/x-bittorrent"));
    let torrent = MetaInfo::from_bytes(&body).expect("a valid .torrent");
    assert_eq!(
        torrent.announce(),
        Some(format!("http://{}/announce", tracker.addr).as_str())
    );
    assert_eq!(torrent.digest().unwrap(), blob.digest);
    assert_eq!(torrent.info().name(), blob.digest.hex());
    assert_eq!(torrent.info().length(), blob.len());
    assert_eq!(torrent.piece_count(), 5);
    for index in (0..torrent.piece_count()).map(|i| torrent.piece_index(i).unwrap()) {
        let start = torrent.piece_offset(index) as usize;
        let piece = &blob.data[start..start + torrent.piece_len(index) as usize];
        assert!(
            torrent.verify_piece(index, piece),
            "piece {index:?} verifies"
        );
    }
    let from_origin = origin
        .client()
        .metainfo(&BlobFixture::namespace(), &blob.digest)
        .await
        .unwrap();
    assert_eq!(
        torrent.info_hash(),
        from_origin.info_hash(),
        "announce keeps the info hash"
    );
    assert_eq!(from_origin.announce(), None);

    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test]
async fn trackers_on_a_ring_agree_on_the_announce_url() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let blob = BlobFixture::random(BLOB_LEN);
    upload(&origin, &blob).await;
    let listeners = [loopback_listener().await, loopback_listener().await];
    let ring: Vec<String> = listeners
        .iter()
        .map(|l| l.local_addr().unwrap().to_string())
        .collect();
    let trackers: Vec<TestTracker> = listeners
        .into_iter()
        .zip(&ring)
        .map(|(listener, advertise)| {
            let cfg = TrackerConfig {
                trackers: ring.clone(),
                ..tracker_config(advertise.clone(), &[origin.host()])
            };
            TestTracker::start_on(listener, cfg)
        })
        .collect();

    let client = reqwest::Client::new();
    let mut announces = Vec::new();
    for tracker in &trackers {
        let (status, _, body) = get(&client, &tracker.url(&blob_path(&blob.digest))).await;
        assert_eq!(status, 200);
        let torrent = MetaInfo::from_bytes(&body).unwrap();
        let expected = TrackerRing::new(&ring, "unused").announce_url(&blob.digest);
        assert_eq!(torrent.announce(), Some(expected.as_str()));
        announces.push(expected);
    }
    assert_eq!(
        announces[0], announces[1],
        "both trackers place the torrent alike"
    );

    for tracker in trackers {
        tracker.stop().await;
    }
    origin.stop().await;
}

#[tokio::test]
async fn concurrent_requests_cause_one_origin_request() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let blob = BlobFixture::random(BLOB_LEN);
    upload(&origin, &blob).await;
    let proxy = OriginProxy::start(origin.addr).await;
    let tracker = start_tracker(&[proxy.host()]).await;
    let client = reqwest::Client::new();
    let url = tracker.url(&blob_path(&blob.digest));

    proxy.close_gate();
    let requests = (0..20).map(|_| get(&client, &url));
    let (replies, ()) = tokio::join!(join_all(requests), async {
        // All 20 are inside the tracker and the one origin request is held.
        let all_waiting = wait_until(Duration::from_secs(10), || async {
            metric(&tracker, "starling_tracker_metainfo_requests_total").await == 20.0
                && proxy.metainfo_requests() > 0
        })
        .await;
        assert!(
            all_waiting,
            "20 requests reach the tracker and one reaches the origin"
        );
        assert_eq!(proxy.metainfo_requests(), 1);
        proxy.open_gate();
    });
    assert!(replies.iter().all(|(status, _, _)| *status == 200));
    assert!(
        replies.iter().all(|(_, _, body)| *body == replies[0].2),
        "one torrent for all"
    );
    assert_eq!(
        proxy.metainfo_requests(),
        1,
        "the origin served its metainfo route once"
    );
    assert_eq!(
        origin
            .metric("starling_origin_metainfo_generated_total")
            .await,
        1.0
    );

    let (status, _, body) = get(&client, &url).await;
    assert_eq!((status, &body), (200, &replies[0].2));
    assert_eq!(
        proxy.metainfo_requests(),
        1,
        "a later request is a cache hit"
    );
    assert_eq!(
        metric(&tracker, "starling_tracker_metainfo_cache_hits_total").await,
        1.0
    );
    assert_eq!(
        metric(
            &tracker,
            "starling_tracker_metainfo_fetch_duration_seconds_count"
        )
        .await,
        1.0
    );

    tracker.stop().await;
    proxy.stop().await;
    origin.stop().await;
}

#[tokio::test]
async fn bad_input_and_unknown_blobs_get_registry_errors() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let tracker = start_tracker(&[origin.host()]).await;
    let client = reqwest::Client::new();
    let blob = BlobFixture::random(BLOB_LEN);
    let digest = blob.digest.to_string();

    let url = |ns: &str, digest: &str| tracker.url(&metainfo_path(ns, digest));
    let unknown = url("team%2Fapp", &digest);
    expect_error(&client, &unknown, 404, ErrorCode::BlobUnknown).await;
    expect_error(
        &client,
        &url("Team%2FApp", &digest),
        400,
        ErrorCode::NameInvalid,
    )
    .await;
    expect_error(
        &client,
        &url("team%2F%2Fapp", &digest),
        400,
        ErrorCode::NameInvalid,
    )
    .await;
    expect_error(&client, &url("%FF", &digest), 400, ErrorCode::NameInvalid).await;
    expect_error(
        &client,
        &url("team", "sha256:abc"),
        400,
        ErrorCode::DigestInvalid,
    )
    .await;
    expect_error(
        &client,
        &url("team", &blob.digest.hex()),
        400,
        ErrorCode::DigestInvalid,
    )
    .await;

    upload(&origin, &blob).await;
    let (status, _, _) = get(&client, &unknown).await;
    assert_eq!(
        status, 200,
        "a miss is not cached: the blob is found once pushed"
    );
    let (status, _, _) = get(&client, &url("other%2Fapp", &digest)).await;
    assert_eq!(status, 200, "a cached torrent serves any namespace");

    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test]
async fn origin_down_is_503_and_the_tracker_stays_healthy() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let (cached, uncached) = (BlobFixture::random(BLOB_LEN), BlobFixture::random(BLOB_LEN));
    upload(&origin, &cached).await;
    upload(&origin, &uncached).await;
    let tracker = start_tracker(&[origin.host()]).await;
    let client = reqwest::Client::new();
    let (status, _, torrent) = get(&client, &tracker.url(&blob_path(&cached.digest))).await;
    assert_eq!(status, 200);

    origin.stop().await;
    let url = tracker.url(&blob_path(&uncached.digest));
    expect_error(&client, &url, 503, ErrorCode::Unavailable).await;
    let (status, _, again) = get(&client, &tracker.url(&blob_path(&cached.digest))).await;
    assert_eq!(
        (status, &again),
        (200, &torrent),
        "the cache outlives the origin"
    );

    assert_eq!(get(&client, &tracker.url("/health")).await.0, 200);
    assert_eq!(get(&client, &tracker.url("/readiness")).await.0, 200);
    let info_hash = MetaInfo::from_bytes(&torrent).unwrap().info_hash();
    let announce = announce_path(info_hash.as_bytes(), &peer_id(1), 7001, 0, "&compact=1");
    let origin_skipped = wait_until(Duration::from_secs(15), || async {
        let reply = get_reply(&client, &tracker.url(&announce)).await;
        assert_eq!(reply.failure, None, "announces still work");
        reply.complete == 1 && reply.peers.is_empty()
    })
    .await;
    assert!(
        origin_skipped,
        "an origin marked down is not handed out as a seeder"
    );
    expect_error(&client, &url, 503, ErrorCode::Unavailable).await;

    tracker.stop().await;
}
