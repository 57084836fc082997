//! `TrackerMetaInfo` against real trackers: it asks the ring owner of the digest, fails
//! over from a broken tracker, reports a blob no origin has, and refuses a torrent for
//! another blob.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use starling_core::Digest;
use starling_p2p::announce::TrackerPool;
use starling_p2p::{Error, HealthPolicy, MetaInfoSource, TrackerMetaInfo, TrackerUrl};
use starling_testkit::{BlobFixture, OriginFixture};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use crate::support::{Blob, TestTracker, init_tracing};

/// A "tracker" on loopback that answers every request with `response` (or, if `None`,
/// drops the connection at once); counts the connections.
async fn fake_tracker(response: Option<Vec<u8>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let Some(body) = response.clone() else {
                continue;
            };
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut byte = [0u8; 1];
                while !head.ends_with(b"\r\n\r\n") && stream.read(&mut byte).await.unwrap_or(0) == 1
                {
                    head.push(byte[0]);
                }
                let reply = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = stream.write_all(reply.as_bytes()).await;
                let _ = stream.write_all(&body).await;
            });
        }
    });
    (url, hits)
}

/// A blob whose digest the ring of `trackers` places on `trackers[0]` first.
fn blob_owned_by_first(trackers: &[String]) -> BlobFixture {
    let urls = trackers
        .iter()
        .map(|t| TrackerUrl::parse(t).unwrap())
        .collect();
    let ring = TrackerPool::new(urls, HealthPolicy::default());
    (0..64)
        .map(|seed| BlobFixture::seeded(300 << 10, seed))
        .find(|blob| ring.candidates(&blob.digest, Instant::now())[0] == 0)
        .expect("one of 64 digests lands on a tracker owning about half the ring")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetches_from_the_ring_and_fails_over_from_a_broken_tracker() {
    init_tracing();
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    origin.wait_ready().await;
    let tracker = TestTracker::with_origins(&[origin.host()]);
    let (broken, hits) = fake_tracker(None).await;
    let trackers = vec![broken, tracker.url()];
    let blob = blob_owned_by_first(&trackers);
    let namespace = BlobFixture::namespace();
    origin
        .client()
        .upload(&namespace, &blob.digest, blob.len(), blob.stream(64 << 10))
        .await
        .unwrap();

    let source = TrackerMetaInfo::new(&trackers, reqwest::Client::new()).unwrap();
    let metainfo = source.metainfo(&namespace, &blob.digest).await.unwrap();
    assert_eq!(metainfo.digest().unwrap(), blob.digest);
    assert_eq!(metainfo.info().length(), blob.len());
    assert!(
        hits.load(Ordering::SeqCst) > 0,
        "the owning tracker was asked first"
    );

    let unknown = Digest::of(b"never pushed");
    let error = source.metainfo(&namespace, &unknown).await.unwrap_err();
    assert!(error.is_not_found(), "{error}");
    let error = error.to_string();
    assert!(error.contains("no origin has the blob"), "{error}");
    assert!(error.contains(&unknown.to_string()), "{error}");

    tracker.stop().await;
    origin.stop().await;
}

#[tokio::test]
async fn a_torrent_for_another_blob_is_refused() {
    let other = Blob::random(10_000).await;
    let (liar, _) = fake_tracker(Some(other.meta.to_bytes())).await;
    let source = TrackerMetaInfo::new(&[liar], reqwest::Client::new()).unwrap();
    let asked = Digest::of(b"the blob I want");
    let error = source
        .metainfo(&BlobFixture::namespace(), &asked)
        .await
        .unwrap_err();
    assert!(
        matches!(error, Error::MetaInfoMismatch { expected, actual } if expected == asked && actual == other.digest),
        "{error}"
    );
}

#[tokio::test]
async fn every_tracker_failing_is_one_error_naming_them() {
    let (first, _) = fake_tracker(None).await;
    let (second, _) = fake_tracker(Some(b"<html>not a torrent</html>".to_vec())).await;
    let source = TrackerMetaInfo::new(&[first, second], reqwest::Client::new()).unwrap();
    let error = source
        .metainfo(&BlobFixture::namespace(), &Digest::of(b"x"))
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("every tracker failed"), "{error}");
    assert!(error.contains("not a torrent"), "{error}");
}
