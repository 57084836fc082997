//! The tracker on a real loopback socket: announces over reqwest and raw TCP, malformed
//! requests, probes, metrics and graceful shutdown.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use support::{TestTracker, announce_path, decode, enc, get_reply, peer_id, raw_get, test_config};

const HASH: [u8; 20] = *b"\x01\x02\x03\xff\xfe %+&=?#abcdefgh";

#[tokio::test]
async fn peers_announce_and_are_handed_to_each_other() {
    let tracker = TestTracker::start(test_config()).await;
    let client = reqwest::Client::new();
    for n in 0..5u64 {
        let left = if n < 2 { 0 } else { 1000 };
        let path = announce_path(
            &HASH,
            &peer_id(n),
            7000 + n as u16,
            left,
            "&event=started&compact=1",
        );
        let reply = get_reply(&client, &tracker.url(&path)).await;
        assert_eq!(reply.failure, None);
        assert_eq!(reply.interval, 10);
        assert_eq!(
            reply.peers.len(),
            n as usize,
            "everyone before me, never me"
        );
    }

    let path = announce_path(&HASH, &peer_id(4), 7004, 1000, "&compact=1");
    let reply = get_reply(&client, &tracker.url(&path)).await;
    assert_eq!((reply.complete, reply.incomplete), (2, 3));
    let ports: Vec<u16> = reply.peers.iter().map(SocketAddr::port).collect();
    assert_eq!(ports.len(), 4);
    assert!(
        ports[..2].iter().all(|p| [7000, 7001].contains(p)),
        "seeders first: {ports:?}"
    );
    assert!(reply.peers.iter().all(|p| p.ip().is_loopback()));

    // Non-compact over a raw TCP client: the list of dicts carries the peer ids.
    let target = announce_path(&HASH, &peer_id(9), 7009, 5, "&numwant=2");
    let (status, body) = raw_get(tracker.addr, target.as_bytes()).await;
    assert_eq!(status, 200);
    let reply = decode(&body);
    assert_eq!(reply.peers.len(), 2);
    assert!(
        reply
            .peer_ids
            .iter()
            .all(|id| id.starts_with(b"-ST0001-00000000000"))
    );
    assert!(
        reply
            .peer_ids
            .iter()
            .all(|id| [&peer_id(0)[..], &peer_id(1)[..]].contains(&&id[..]))
    );

    let stopped = announce_path(&HASH, &peer_id(0), 7000, 0, "&event=stopped&compact=1");
    let reply = get_reply(&client, &tracker.url(&stopped)).await;
    assert!(reply.peers.is_empty());
    assert_eq!((reply.complete, reply.incomplete), (1, 4));
    tracker.stop().await;
}

#[tokio::test]
async fn malformed_announces_get_a_failure_reason_and_the_tracker_stays_healthy() {
    let tracker = TestTracker::start(test_config()).await;
    let client = reqwest::Client::new();
    let ids = format!("info_hash={}&peer_id={}", enc(&HASH), enc(&peer_id(1)));
    let cases = [
        ("/announce".to_owned(), "missing info_hash"),
        ("/announce?%%%garbage&&==&x".to_owned(), "missing info_hash"),
        (
            format!("/announce?info_hash={}", enc(&HASH[..19])),
            "info_hash must be 20 bytes",
        ),
        (format!("/announce?{ids}&left=0"), "missing port"),
        (
            format!("/announce?{ids}&port=70000&left=0"),
            "invalid port: not a decimal number in range",
        ),
        (
            format!("/announce?{ids}&port=1&left=0&numwant=184467440737095516160"),
            "invalid numwant: not a decimal number in range",
        ),
        (
            format!("/announce?{ids}&port=1&left=0&zone=%C3%28"),
            "invalid zone: must be 1-63 characters of A-Z a-z 0-9 . _ -",
        ),
    ];
    for (path, reason) in &cases {
        let reply = get_reply(&client, &tracker.url(path)).await;
        assert_eq!(reply.failure.as_deref(), Some(*reason), "{path}");
    }

    // Raw non-ASCII bytes straight on the wire are not a valid request target: hyper
    // refuses the request line with 400 before the tracker sees it (percent-encoded
    // non-UTF-8 above is the form clients send). Either way the server must stay up.
    let mut target = b"/announce?info_hash=".to_vec();
    target.extend_from_slice(&[0xff, 0xfe, 0x80, 0xc3]);
    let (status, _) = raw_get(tracker.addr, &target).await;
    assert_eq!(status, 400);

    // A huge but well-formed numwant is capped, not refused.
    let path = announce_path(&HASH, &peer_id(1), 6881, 0, "&numwant=4294967296&compact=1");
    assert_eq!(get_reply(&client, &tracker.url(&path)).await.failure, None);

    let health = client.get(tracker.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    assert_eq!(health.text().await.unwrap(), "OK");
    tracker.stop().await;
}

#[tokio::test]
async fn probes_and_metrics_reflect_the_traffic() {
    let tracker = TestTracker::start(test_config()).await;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(tracker.url("/readiness"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    for n in 0..3 {
        let path = announce_path(&HASH, &peer_id(n), 6881, 0, "&event=started&compact=1");
        get_reply(&client, &tracker.url(&path)).await;
    }
    get_reply(&client, &tracker.url("/announce?bogus")).await;

    let response = client.get(tracker.url("/metrics")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    let text = response.text().await.unwrap();
    for expected in [
        r#"starling_tracker_announces_total{event="started"} 3"#,
        "starling_tracker_announce_failures_total 1",
        "starling_tracker_peers 3",
        "starling_tracker_torrents 1",
        "starling_tracker_announce_duration_seconds_count 4",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    tracker.stop().await;
}

#[tokio::test]
async fn several_trackers_in_one_process_keep_separate_state() {
    let a = TestTracker::start(test_config()).await;
    let b = TestTracker::start(test_config()).await;
    let client = reqwest::Client::new();
    let path = announce_path(&HASH, &peer_id(1), 6881, 0, "&compact=1");
    get_reply(&client, &a.url(&path)).await;
    let other = announce_path(&HASH, &peer_id(2), 6882, 0, "&compact=1");
    assert!(get_reply(&client, &b.url(&other)).await.peers.is_empty());
    let text = client
        .get(b.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        text.contains(r#"starling_tracker_announces_total{event="update"} 1"#),
        "{text}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn shutdown_stops_serving() {
    let tracker = TestTracker::start(test_config()).await;
    let addr = tracker.addr;
    let client = reqwest::Client::new();
    assert_eq!(
        client
            .get(format!("http://{addr}/health"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    tracker.stop().await;
    let after = reqwest::Client::new()
        .get(format!("http://{addr}/health"))
        .timeout(Duration::from_secs(5))
        .send()
        .await;
    assert!(after.is_err(), "the listener is closed after run returns");
}
