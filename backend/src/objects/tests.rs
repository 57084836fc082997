//! The object-store backend on a real local filesystem in a temporary directory.

use bytes::Bytes;
use futures::stream::{self, StreamExt};
use starling_core::{Digest, RepoName, Tag};

use super::*;
use crate::stream::collect;
use crate::{read_tag, write_tag};

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

/// Deterministic bytes that do not compress, so sizes and hashes mean something.
fn pseudo_random(len: usize, seed: u64) -> Bytes {
    let mut state = seed | 1;
    let data: Vec<u8> = (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state >> 24) as u8
        })
        .collect();
    data.into()
}

fn chunked(data: Bytes, chunk: usize) -> ByteStream {
    let chunks: Vec<std::io::Result<Bytes>> = (0..data.len())
        .step_by(chunk)
        .map(|i| Ok(data.slice(i..data.len().min(i + chunk))))
        .collect();
    stream::iter(chunks).boxed()
}

async fn download_all(backend: &ObjectStoreBackend, key: &Key) -> Bytes {
    collect(backend.download(key).await.unwrap(), usize::MAX)
        .await
        .unwrap()
}

fn backend() -> (tempfile::TempDir, ObjectStoreBackend) {
    let dir = tempfile::tempdir().unwrap();
    let backend = ObjectStoreBackend::filesystem(&dir.path().join("backend")).unwrap();
    (dir, backend)
}

#[tokio::test]
async fn blobs_round_trip_and_are_stored_once_for_all_namespaces() {
    let (dir, backend) = backend();
    let data = pseudo_random(100_000, 1);
    let digest = Digest::of(&data);
    let key = Key::blob(repo("team/app"), digest);
    backend
        .upload(&key, data.len() as u64, chunked(data.clone(), 4096))
        .await
        .unwrap();

    assert_eq!(backend.stat(&key).await.unwrap(), Some(100_000));
    assert_eq!(download_all(&backend, &key).await, data);
    let elsewhere = Key::blob(repo("other/app"), digest);
    assert_eq!(backend.stat(&elsewhere).await.unwrap(), Some(100_000));

    let hex = digest.hex();
    let on_disk = dir
        .path()
        .join("backend/blobs/sha256")
        .join(&hex[..2])
        .join(&hex);
    assert_eq!(std::fs::read(on_disk).unwrap(), data);
    let listed = backend
        .list(&ListScope::Blobs {
            namespace: repo("x"),
        })
        .await
        .unwrap();
    assert_eq!(listed, [digest.to_string()]);
}

#[tokio::test]
async fn a_blob_larger_than_a_part_streams_through_multipart() {
    let (_dir, backend) = backend();
    let data = pseudo_random(2 * upload::PART_SIZE + 12_345, 2);
    let key = Key::blob(repo("big"), Digest::of(&data));
    backend
        .upload(&key, data.len() as u64, chunked(data.clone(), 64 * 1024))
        .await
        .unwrap();
    assert_eq!(backend.stat(&key).await.unwrap(), Some(data.len() as u64));
    assert_eq!(download_all(&backend, &key).await, data);
}

#[tokio::test]
async fn a_body_that_does_not_match_its_key_leaves_no_object() {
    let (_dir, backend) = backend();
    let data = pseudo_random(upload::PART_SIZE + 1, 3);
    let wrong = Key::blob(repo("team/app"), Digest::of(b"something else"));
    for len in [1000, data.len()] {
        let body = data.slice(..len);
        let err = backend
            .upload(&wrong, len as u64, chunked(body, 65536))
            .await
            .unwrap_err();
        assert!(err.to_string().contains("digest mismatch"), "{err}");
        assert_eq!(backend.stat(&wrong).await.unwrap(), None);
    }

    let right = Key::blob(repo("team/app"), Digest::of(&data));
    let short = backend
        .upload(&right, data.len() as u64 + 1, chunked(data.clone(), 65536))
        .await
        .unwrap_err();
    assert!(short.to_string().contains("length mismatch"), "{short}");
    let long = backend
        .upload(&right, 10, chunked(data.clone(), 65536))
        .await
        .unwrap_err();
    assert!(long.to_string().contains("length mismatch"), "{long}");
    assert_eq!(backend.stat(&right).await.unwrap(), None);
    let listed = backend
        .list(&ListScope::Blobs {
            namespace: repo("team/app"),
        })
        .await
        .unwrap();
    assert!(listed.is_empty(), "{listed:?}");
}

#[tokio::test]
async fn tags_of_nested_repositories_stay_apart() {
    let (_dir, backend) = backend();
    let (d1, d2, d3) = (Digest::of(b"1"), Digest::of(b"2"), Digest::of(b"3"));
    write_tag(&backend, &repo("team/app"), &tag("v1"), &d1)
        .await
        .unwrap();
    write_tag(&backend, &repo("team/app"), &tag("latest"), &d2)
        .await
        .unwrap();
    write_tag(&backend, &repo("team/app/tools"), &tag("v1"), &d3)
        .await
        .unwrap();
    write_tag(&backend, &repo("team/app"), &tag("latest"), &d3)
        .await
        .unwrap();

    assert_eq!(
        read_tag(&backend, &repo("team/app"), &tag("v1"))
            .await
            .unwrap(),
        d1
    );
    assert_eq!(
        read_tag(&backend, &repo("team/app"), &tag("latest"))
            .await
            .unwrap(),
        d3
    );
    let key = Key::tag(repo("team/app/tools"), tag("v1"));
    assert_eq!(backend.stat(&key).await.unwrap(), Some(71));
    assert_eq!(download_all(&backend, &key).await, d3.to_string());

    let tags = |name| ListScope::Tags { repo: repo(name) };
    assert_eq!(
        backend.list(&tags("team/app")).await.unwrap(),
        ["latest", "v1"]
    );
    assert_eq!(backend.list(&tags("team/app/tools")).await.unwrap(), ["v1"]);
    assert!(backend.list(&tags("team")).await.unwrap().is_empty());
    assert!(backend.list(&tags("unknown")).await.unwrap().is_empty());
    let repos = backend.list(&ListScope::Repos).await.unwrap();
    assert_eq!(repos, ["team/app", "team/app/tools"]);
}

#[tokio::test]
async fn missing_objects_are_not_found() {
    let (_dir, backend) = backend();
    let blob = Key::blob(repo("team/app"), Digest::of(b"missing"));
    assert_eq!(backend.stat(&blob).await.unwrap(), None);
    let Err(err) = backend.download(&blob).await else {
        panic!("downloaded a missing blob");
    };
    assert!(err.is_not_found(), "{err}");
    assert!(err.to_string().contains("team/app@sha256:"), "{err}");

    let err = read_tag(&backend, &repo("team/app"), &tag("v9"))
        .await
        .unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert!(backend.list(&ListScope::Repos).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_tag_holding_garbage_is_reported_as_invalid() {
    let (_dir, backend) = backend();
    let key = Key::tag(repo("team/app"), tag("v1"));
    backend
        .upload(&key, 8, crate::stream::once("not-a-digest"))
        .await
        .unwrap_err();
    backend
        .upload(&key, 12, crate::stream::once("not-a-digest"))
        .await
        .unwrap();
    let err = read_tag(&backend, &repo("team/app"), &tag("v1"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidTagContent { .. }), "{err}");
}

#[tokio::test]
async fn a_prefix_keeps_two_backends_in_one_store_apart() {
    let store: Arc<dyn ObjectStore> = Arc::new(object_store::memory::InMemory::new());
    let a = ObjectStoreBackend::new(store.clone(), "cluster-a").unwrap();
    let b = ObjectStoreBackend::new(store.clone(), "cluster-b/").unwrap();
    write_tag(&a, &repo("app"), &tag("v1"), &Digest::of(b"a"))
        .await
        .unwrap();
    assert_eq!(a.list(&ListScope::Repos).await.unwrap(), ["app"]);
    assert!(b.list(&ListScope::Repos).await.unwrap().is_empty());
    let raw = store
        .head(&Path::from("cluster-a/tags/app/_tags/v1"))
        .await
        .unwrap();
    assert_eq!(raw.size, 71);
}
