//! A 64 MiB blob streams up and down through the typed client and verifies; ranged
//! reads at both ends and metainfo work on it. (The 1 GiB measurement with peak RSS is
//! `examples/big_blob.rs`, run by hand: see docs/origin-api.md.)

use futures::StreamExt;
use starling_core::DigestHasher;
use starling_core::range::ByteRange;
use starling_testkit::{BlobFixture, OriginFixture};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_64_mib_blob_streams_both_ways_and_verifies() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = origin.client();
    let ns = BlobFixture::namespace();
    let blob = BlobFixture::random(64 * 1024 * 1024 + 7);
    client
        .upload(&ns, &blob.digest, blob.len(), blob.stream(1 << 20))
        .await
        .unwrap();

    let download = client.download(&ns, &blob.digest).await.unwrap();
    assert_eq!(download.size, blob.len());
    let (mut hasher, mut len, mut body) = (DigestHasher::new(), 0u64, download.body);
    while let Some(chunk) = body.next().await {
        let chunk = chunk.unwrap();
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    assert_eq!((hasher.finish(), len), (blob.digest, blob.len()));

    let tail = ByteRange {
        first: blob.len() - 1000,
        last: blob.len() - 1,
    };
    let part = client
        .download_range(&ns, &blob.digest, tail)
        .await
        .unwrap();
    assert_eq!(part.size, 1000);
    let bytes = starling_backend::stream::collect(part.body, 1000)
        .await
        .unwrap();
    assert_eq!(bytes, blob.data.slice(blob.data.len() - 1000..));

    let metainfo = client.metainfo(&ns, &blob.digest).await.unwrap();
    assert_eq!(metainfo.info().length(), blob.len());
    assert_eq!(metainfo.digest().unwrap(), blob.digest);
    origin.stop().await;
}
