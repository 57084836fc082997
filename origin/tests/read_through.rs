//! Read-through: blobs only in a namespace's backend are fetched once, verified, kept
//! and served; concurrent misses share one backend read.

use std::sync::Arc;
use std::time::Duration;

use reqwest::{Client, StatusCode};
use starling_backend::{Backend, Key, ObjectStoreBackend};
use starling_clients::origin::paths;
use starling_config::NamespaceBackend;
use starling_core::{Digest, RepoName};
use starling_origin::BackendLookup;
use starling_testkit::{
    BlobFixture, CountingBackend, OriginFixture, loopback_listener, origin_config, wait_until,
};

fn ns() -> RepoName {
    BlobFixture::namespace()
}

async fn put_in_backend(backend: &dyn Backend, blob: &BlobFixture) {
    let key = Key::blob(ns(), blob.digest);
    backend
        .upload(&key, blob.len(), blob.stream(64 * 1024))
        .await
        .unwrap();
}

#[tokio::test]
async fn a_blob_only_in_the_filesystem_backend_is_served() {
    let dir = tempfile::tempdir().unwrap();
    let backend_root = dir.path().join("backend");
    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let mut cfg = origin_config(&dir.path().join("origin"), addr, &[addr]);
    cfg.backends = vec![NamespaceBackend::filesystem("team/.*", &backend_root).unwrap()];
    let origin = OriginFixture::start_on(listener, cfg, None);

    let blob = BlobFixture::random(1_500_000);
    let backend = ObjectStoreBackend::filesystem(&backend_root).unwrap();
    put_in_backend(&backend, &blob).await;
    let client = Client::new();
    let url = origin.url(&paths::blob(&ns(), &blob.digest));

    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "1500000");
    assert_eq!(
        origin.metric("starling_origin_backend_reads_total").await,
        0.0,
        "HEAD reads nothing through"
    );

    let body = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(body, blob.data);
    assert_eq!(
        origin.metric("starling_origin_cache_misses_total").await,
        1.0
    );
    assert_eq!(
        origin.metric("starling_origin_backend_reads_total").await,
        1.0
    );
    assert_eq!(
        origin
            .metric("starling_origin_backend_read_bytes_total")
            .await,
        1_500_000.0
    );
    let again = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(again, blob.data);
    assert_eq!(origin.metric("starling_origin_cache_hits_total").await, 1.0);
    assert_eq!(
        origin.metric("starling_origin_backend_reads_total").await,
        1.0,
        "kept locally"
    );

    // Metainfo of a blob that is only in the backend reads it through first.
    let other = BlobFixture::random(700_000);
    put_in_backend(&backend, &other).await;
    let metainfo = origin
        .client()
        .metainfo(&ns(), &other.digest)
        .await
        .unwrap();
    assert_eq!(metainfo.digest().unwrap(), other.digest);
    assert_eq!(
        origin.metric("starling_origin_backend_reads_total").await,
        2.0
    );

    // Read-through is per namespace: one without a backend has only the store.
    let elsewhere = RepoName::parse("other/app").unwrap();
    let response = client
        .get(origin.url(&paths::blob(&elsewhere, &BlobFixture::random(10).digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    origin.stop().await;
}

#[tokio::test]
async fn twenty_concurrent_misses_cause_one_backend_read() {
    let dir = tempfile::tempdir().unwrap();
    let fs = ObjectStoreBackend::filesystem(&dir.path().join("backend")).unwrap();
    let counting = CountingBackend::new(Arc::new(fs));
    let blob = BlobFixture::random(4_000_000);
    put_in_backend(counting.as_ref(), &blob).await;
    let backend: Arc<dyn Backend> = counting.clone();
    let lookup: Arc<dyn BackendLookup> = Arc::new(move |_: &RepoName| Some(backend.clone()));
    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let cfg = origin_config(&dir.path().join("origin"), addr, &[addr]);
    let origin = OriginFixture::start_on(listener, cfg, Some(lookup));

    counting.close_gate();
    let client = Client::new();
    let url = origin.url(&paths::blob(&ns(), &blob.digest));
    let requests: Vec<_> = (0..20)
        .map(|_| {
            let request = client.get(&url).send();
            tokio::spawn(async move { request.await.unwrap().bytes().await.unwrap() })
        })
        .collect();
    wait_until("20 requests to miss", Duration::from_secs(10), || async {
        origin.metric("starling_origin_cache_misses_total").await == 20.0
    })
    .await;
    counting.open_gate();
    for request in requests {
        assert_eq!(request.await.unwrap(), blob.data);
    }
    assert_eq!(counting.downloads(), 1);
    assert_eq!(
        origin.metric("starling_origin_backend_reads_total").await,
        1.0
    );
    origin.stop().await;
}

#[tokio::test]
async fn prefetch_warms_the_cache_in_the_background() {
    let dir = tempfile::tempdir().unwrap();
    let fs = ObjectStoreBackend::filesystem(&dir.path().join("backend")).unwrap();
    let blob = BlobFixture::random(2_000_000);
    put_in_backend(&fs, &blob).await;
    let backend: Arc<dyn Backend> = Arc::new(fs);
    let lookup: Arc<dyn BackendLookup> =
        Arc::new(move |ns: &RepoName| ns.as_str().starts_with("team/").then(|| backend.clone()));
    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let cfg = origin_config(&dir.path().join("origin"), addr, &[addr]);
    let origin = OriginFixture::start_on(listener, cfg, Some(lookup));
    let client = origin.client();

    client.prefetch(&ns(), &blob.digest).await.unwrap();
    let committed = dir
        .path()
        .join("origin/data")
        .join(blob.digest.shard_path());
    wait_until(
        "the prefetch to be committed",
        Duration::from_secs(10),
        || {
            let exists = committed.is_file();
            async move { exists }
        },
    )
    .await;
    assert_eq!(
        origin
            .metric("starling_origin_backend_read_bytes_total")
            .await,
        2_000_000.0
    );
    let download = client.download(&ns(), &blob.digest).await.unwrap();
    assert_eq!(download.size, 2_000_000);
    assert_eq!(origin.metric("starling_origin_cache_hits_total").await, 1.0);

    let unbacked = RepoName::parse("other").unwrap();
    let err = client
        .prefetch(&unbacked, &Digest::of(b"none"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    origin.stop().await;
}

#[tokio::test]
async fn a_corrupt_backend_blob_is_refused_and_not_kept() {
    let dir = tempfile::tempdir().unwrap();
    let backend_root = dir.path().join("backend");
    let blob = BlobFixture::random(10_000);
    // Written behind the backend's back: the object's content is not its digest.
    let hex = blob.digest.hex();
    let object = backend_root.join(format!("blobs/sha256/{}/{hex}", &hex[..2]));
    std::fs::create_dir_all(object.parent().unwrap()).unwrap();
    std::fs::write(&object, b"not the blob").unwrap();

    let listener = loopback_listener().await;
    let addr = listener.local_addr().unwrap();
    let mut cfg = origin_config(&dir.path().join("origin"), addr, &[addr]);
    cfg.backends = vec![NamespaceBackend::filesystem(".*", &backend_root).unwrap()];
    let origin = OriginFixture::start_on(listener, cfg, None);
    let response = Client::new()
        .get(origin.url(&paths::blob(&ns(), &blob.digest)))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    let json: serde_json::Value = response.json().await.unwrap();
    assert_eq!(json["errors"][0]["code"], "UNAVAILABLE");
    assert!(
        json["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("wrong content")
    );
    let data = std::fs::read_dir(dir.path().join("origin/data"))
        .unwrap()
        .count();
    let tmp = std::fs::read_dir(dir.path().join("origin/tmp"))
        .unwrap()
        .count();
    assert_eq!((data, tmp), (0, 0));
    origin.stop().await;
}
