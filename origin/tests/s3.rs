//! Write-back to S3 (moto_server on loopback, PyPI `moto[server]`): blobs land in the
//! bucket, and an outage of the S3 server — in the middle of a write-back or before
//! one — delays the write-back and loses nothing.

use std::time::Duration;

use futures::StreamExt;
use starling_backend::{Backend, Key, build_backend};
use starling_config::{BackendConfig, NamespaceBackend};
use starling_core::{Digest, DigestHasher, RepoName};
use starling_testkit::{
    BlobFixture, MotoServer, OriginFixture, loopback_listener, origin_config, wait_until,
};

const WAIT: Duration = Duration::from_secs(60);

fn ns() -> RepoName {
    BlobFixture::namespace()
}

async fn start_origin(root: &std::path::Path, backend: BackendConfig) -> OriginFixture {
    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let mut cfg = origin_config(root, addr, &[addr]);
    let namespace = starling_config::pattern::anchored(".*").unwrap();
    cfg.backends = vec![NamespaceBackend { namespace, backend }];
    OriginFixture::start_on(listener, cfg, None)
}

/// The digest and length of what S3 holds under the blob's key, if anything.
async fn stored(backend: &dyn Backend, digest: &Digest) -> Option<(Digest, u64)> {
    let mut body = backend.download(&Key::blob(ns(), *digest)).await.ok()?;
    let (mut hasher, mut len) = (DigestHasher::new(), 0);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.ok()?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Some((hasher.finish(), len))
}

async fn lands(backend: &dyn Backend, blob: &BlobFixture) {
    wait_until("the blob to land in S3", WAIT, || async {
        backend
            .stat(&Key::blob(ns(), blob.digest))
            .await
            .ok()
            .flatten()
            == Some(blob.len())
    })
    .await;
    assert_eq!(
        stored(backend, &blob.digest).await,
        Some((blob.digest, blob.len()))
    );
}

#[tokio::test]
async fn write_back_lands_in_s3_and_another_origin_reads_it_through() {
    let moto = MotoServer::start("starling-origin").await;
    let config = moto.backend_config("cluster-a");
    let s3 = build_backend(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let origin = start_origin(&dir.path().join("one"), config.clone()).await;

    // Larger than one 8 MiB multipart part.
    let blob = BlobFixture::random(12 * 1024 * 1024 + 99);
    origin
        .client()
        .upload(&ns(), &blob.digest, blob.len(), blob.stream(256 * 1024))
        .await
        .unwrap();
    lands(s3.as_ref(), &blob).await;

    let fresh = start_origin(&dir.path().join("two"), config).await;
    let download = fresh.client().download(&ns(), &blob.digest).await.unwrap();
    let mut body = download.body;
    let mut hasher = DigestHasher::new();
    while let Some(chunk) = body.next().await {
        hasher.update(&chunk.unwrap());
    }
    assert_eq!(hasher.finish(), blob.digest);
    assert_eq!(
        fresh.metric("starling_origin_backend_reads_total").await,
        1.0
    );
    origin.stop().await;
    fresh.stop().await;
}

#[tokio::test]
async fn an_s3_outage_during_and_before_write_back_loses_nothing() {
    let mut moto = MotoServer::start("starling-outage").await;
    let config = moto.backend_config("");
    let s3 = build_backend(&config).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let origin = start_origin(dir.path(), config).await;
    let client = origin.client();

    // Killed in the middle: some bytes went out, not all.
    let big = BlobFixture::random(64 * 1024 * 1024);
    client
        .upload(&ns(), &big.digest, big.len(), big.stream(1 << 20))
        .await
        .unwrap();
    wait_until("the write-back to start", WAIT, || async {
        origin
            .metric("starling_origin_backend_written_bytes_total")
            .await
            > 0.0
    })
    .await;
    moto.stop();
    let written = origin
        .metric("starling_origin_backend_written_bytes_total")
        .await;
    assert!(
        written < big.len() as f64,
        "killed mid-write-back ({written} bytes out)"
    );

    // Uploaded while S3 is down.
    let small = BlobFixture::random(300_000);
    client
        .upload(&ns(), &small.digest, small.len(), small.stream(64 * 1024))
        .await
        .unwrap();
    wait_until("retries during the outage", WAIT, || async {
        origin.metric("starling_origin_task_retries_total").await >= 3.0
    })
    .await;
    assert_eq!(
        origin.metric("starling_origin_writeback_queue_depth").await,
        2.0
    );

    moto.restart().await;
    lands(s3.as_ref(), &big).await;
    lands(s3.as_ref(), &small).await;
    wait_until("the queue to drain", WAIT, || async {
        origin.metric("starling_origin_writeback_queue_depth").await == 0.0
    })
    .await;
    origin.stop().await;
}
