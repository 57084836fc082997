//! The object-store backend against a real S3-compatible server: `moto_server` on loopback
//! (PyPI `moto[server]`). Missing moto fails the test with the install command.

use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::path::Path;
use object_store::{ObjectStore, ObjectStoreExt};
use starling_backend::stream::collect;
use starling_backend::{Backend, Error, Key, ListScope, build_backend, read_tag, write_tag};
use starling_config::backend::BackendConfig;
use starling_core::{Digest, DigestHasher, RepoName, Tag};
use starling_testkit::{BlobFixture, ServerProcess, require_program, wait_until};

const BUCKET: &str = "starling-test";
const PREFIX: &str = "cluster-a";
/// More than one 8 MiB part, and not a multiple of it.
const LARGE: usize = 12 * 1024 * 1024 + 4321;

async fn start_moto() -> ServerProcess {
    require_program("moto_server", "pip install 'moto[server]'");
    let moto = ServerProcess::start(
        "moto_server",
        |port| {
            let mut command = Command::new("moto_server");
            command.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            command
        },
        |port| format!("Running on http://127.0.0.1:{port}"),
    )
    .await;
    let http = reqwest::Client::new();
    let bucket_url = format!("{}/{BUCKET}", moto.base_url());
    wait_until("moto to create the bucket", Duration::from_secs(30), || {
        let request = http.put(&bucket_url).send();
        async move { request.await.is_ok_and(|r| r.status().is_success()) }
    })
    .await;
    moto
}

fn config(moto: &ServerProcess) -> BackendConfig {
    BackendConfig::S3 {
        bucket: BUCKET.to_owned(),
        region: "us-east-1".to_owned(),
        endpoint: Some(moto.base_url()),
        access_key_id: Some("testing".to_owned()),
        secret_access_key: Some("testing".to_owned()),
        secret_access_key_file: None,
        allow_http: true,
        prefix: PREFIX.to_owned(),
    }
}

/// A plain object_store client on the same bucket, to look at what the backend wrote.
fn raw_store(moto: &ServerProcess) -> Arc<dyn ObjectStore> {
    let store = AmazonS3Builder::new()
        .with_bucket_name(BUCKET)
        .with_region("us-east-1")
        .with_endpoint(moto.base_url())
        .with_allow_http(true)
        .with_access_key_id("testing")
        .with_secret_access_key("testing")
        .build()
        .unwrap();
    Arc::new(store)
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

async fn sha256_of_download(backend: &dyn Backend, key: &Key) -> (Digest, u64) {
    use futures::StreamExt;
    let mut body = backend.download(key).await.unwrap();
    let (mut hasher, mut len) = (DigestHasher::new(), 0u64);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    (hasher.finish(), len)
}

#[tokio::test]
async fn blobs_stream_through_multipart_and_tags_round_trip_on_s3() {
    let moto = start_moto().await;
    let backend = build_backend(&config(&moto)).unwrap();

    let large = BlobFixture::seeded(LARGE, 1);
    let large_digest = large.digest;
    let key = Key::blob(repo("team/app"), large_digest);
    backend
        .upload(&key, LARGE as u64, large.stream(64 * 1024))
        .await
        .unwrap();
    assert_eq!(backend.stat(&key).await.unwrap(), Some(LARGE as u64));
    assert_eq!(
        sha256_of_download(backend.as_ref(), &key).await,
        (large_digest, LARGE as u64)
    );

    let hex = large_digest.hex();
    let path = Path::from(format!("{PREFIX}/blobs/sha256/{}/{hex}", &hex[..2]));
    let meta = raw_store(&moto).head(&path).await.unwrap();
    let etag = meta.e_tag.unwrap_or_default();
    assert!(
        etag.trim_matches('"').ends_with("-2"),
        "two-part multipart ETag, got {etag}"
    );

    let small = BlobFixture::seeded(1000, 2);
    let small_key = Key::blob(repo("other"), small.digest);
    backend
        .upload(&small_key, 1000, small.stream(300))
        .await
        .unwrap();
    let body = collect(backend.download(&small_key).await.unwrap(), 4096)
        .await
        .unwrap();
    assert_eq!(body, small.data);
    let mut expected = vec![large_digest.to_string(), small.digest.to_string()];
    expected.sort();
    let listed = backend
        .list(&ListScope::Blobs {
            namespace: repo("x"),
        })
        .await
        .unwrap();
    assert_eq!(listed, expected);

    let missing = Key::blob(repo("team/app"), Digest::of(b"missing"));
    assert_eq!(backend.stat(&missing).await.unwrap(), None);
    assert!(
        backend
            .download(&missing)
            .await
            .is_err_and(|e| e.is_not_found())
    );
}

#[tokio::test]
async fn tags_and_failed_uploads_on_s3() {
    let moto = start_moto().await;
    let backend = build_backend(&config(&moto)).unwrap();
    let (d1, d2) = (Digest::of(b"one"), Digest::of(b"two"));
    let v1 = Tag::parse("v1").unwrap();
    write_tag(backend.as_ref(), &repo("team/app"), &v1, &d1)
        .await
        .unwrap();
    write_tag(backend.as_ref(), &repo("team/app/tools"), &v1, &d2)
        .await
        .unwrap();
    assert_eq!(
        read_tag(backend.as_ref(), &repo("team/app"), &v1)
            .await
            .unwrap(),
        d1
    );
    assert_eq!(
        read_tag(backend.as_ref(), &repo("team/app/tools"), &v1)
            .await
            .unwrap(),
        d2
    );
    let tags = backend
        .list(&ListScope::Tags {
            repo: repo("team/app"),
        })
        .await
        .unwrap();
    assert_eq!(tags, ["v1"]);
    let repos = backend.list(&ListScope::Repos).await.unwrap();
    assert_eq!(repos, ["team/app", "team/app/tools"]);
    let unknown = Tag::parse("nope").unwrap();
    let err = read_tag(backend.as_ref(), &repo("team/app"), &unknown)
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");

    // A multipart upload whose content does not match its digest is aborted, not kept.
    let data = BlobFixture::seeded(9 * 1024 * 1024, 3);
    let wrong = Key::blob(repo("team/app"), Digest::of(b"not this"));
    let err = backend
        .upload(&wrong, data.len(), data.stream(1 << 20))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::BodyMismatch { .. }), "{err}");
    assert_eq!(backend.stat(&wrong).await.unwrap(), None);
}
