//! The origin's HTTP API on a real loopback socket: whole-blob uploads,
//! downloads with Range, HEAD, metainfo, probes, and every kind of bad input — each a
//! clear 4xx that leaves no blob and no temp file behind.

use std::path::Path;
use std::time::Duration;

use reqwest::{Client, Method, Response, StatusCode};
use starling_clients::origin::paths;
use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, RepoName};
use starling_testkit::{BlobFixture, OriginFixture, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn ns() -> RepoName {
    BlobFixture::namespace()
}

/// Files under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .flat_map(|e| {
            let path = e.unwrap().path();
            if path.is_dir() {
                files_under(&path)
            } else {
                vec![path.display().to_string()]
            }
        })
        .collect()
}

/// Nothing was kept: no committed blob, no temp file.
fn assert_nothing_left(root: &Path) {
    assert_eq!(
        files_under(&root.join("data")),
        Vec::<String>::new(),
        "no blob"
    );
    assert_eq!(
        files_under(&root.join("tmp")),
        Vec::<String>::new(),
        "no temp file"
    );
}

async fn error_code(response: Response) -> String {
    let json: serde_json::Value = response.json().await.expect("a JSON error body");
    let entry = &json["errors"][0];
    assert!(
        entry["message"].is_string() && entry["detail"].is_string(),
        "{json}"
    );
    entry["code"].as_str().expect("a code").to_owned()
}

async fn put_blob(client: &Client, origin: &OriginFixture, blob: &BlobFixture) -> Response {
    client
        .put(origin.url(&paths::blob(&ns(), &blob.digest)))
        .body(blob.data.clone())
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn monolithic_upload_download_range_and_head() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = Client::new();
    let blob = BlobFixture::random(300_000);
    let url = origin.url(&paths::blob(&ns(), &blob.digest));

    assert_eq!(
        client.head(&url).send().await.unwrap().status(),
        StatusCode::NOT_FOUND
    );
    let created = put_blob(&client, &origin, &blob).await;
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(
        created.headers()["location"],
        paths::blob(&ns(), &blob.digest)
    );
    assert_eq!(
        created.headers()["docker-content-digest"],
        blob.digest.to_string()
    );

    let head = client.head(&url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "300000");

    let whole = client.get(&url).send().await.unwrap();
    assert_eq!(whole.status(), StatusCode::OK);
    assert_eq!(whole.headers()["accept-ranges"], "bytes");
    assert_eq!(whole.bytes().await.unwrap(), blob.data);

    let cases = [
        ("bytes=10-19", 10, 19),
        ("bytes=-5", 299_995, 299_999),
        ("bytes=299990-", 299_990, 299_999),
    ];
    for (header, first, last) in cases {
        let part = client
            .get(&url)
            .header("range", header)
            .send()
            .await
            .unwrap();
        assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT, "{header}");
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes {first}-{last}/300000").as_str()
        );
        let body = part.bytes().await.unwrap();
        assert_eq!(
            body,
            blob.data.slice(first as usize..=last as usize),
            "{header}"
        );
    }
    let beyond = client
        .get(&url)
        .header("range", "bytes=300000-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(beyond.headers()["content-range"], "bytes */300000");
    assert_eq!(error_code(beyond).await, "RANGE_INVALID");

    assert_eq!(
        origin
            .metric("starling_origin_uploads_committed_total")
            .await,
        1.0
    );
    assert!(origin.metric("starling_origin_served_bytes_total").await >= 300_000.0 + 25.0);
    assert_eq!(origin.metric("starling_origin_cache_hits_total").await, 5.0);
    origin.stop().await;
}

#[tokio::test]
async fn wrong_digest_keeps_nothing() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = Client::new();
    let blob = BlobFixture::random(100_000);
    let claimed = Digest::of(b"something else");

    let response = client
        .put(origin.url(&paths::blob(&ns(), &claimed)))
        .body(blob.data.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "DIGEST_INVALID");

    for digest in [claimed, blob.digest] {
        let head = client
            .head(origin.url(&paths::blob(&ns(), &digest)))
            .send()
            .await
            .unwrap();
        assert_eq!(head.status(), StatusCode::NOT_FOUND);
    }
    assert_eq!(
        origin
            .metric("starling_origin_uploads_rejected_total")
            .await,
        1.0
    );
    assert_nothing_left(root.path());
    origin.stop().await;
}

#[tokio::test]
async fn truncated_upload_keeps_nothing() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let blob = BlobFixture::random(200_000);
    let path = paths::blob(&ns(), &blob.digest);

    // A client that promises 200000 bytes, sends half, and hangs up.
    let mut socket = tokio::net::TcpStream::connect(origin.addr).await.unwrap();
    let head = format!(
        "PUT {path} HTTP/1.1\r\nHost: {}\r\nContent-Length: {}\r\n\r\n",
        origin.addr,
        blob.len()
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    socket.write_all(&blob.data[..100_000]).await.unwrap();
    socket.shutdown().await.unwrap();
    let mut reply = Vec::new();
    let _ = socket.read_to_end(&mut reply).await;
    drop(socket);

    wait_until(
        "the origin to reject the upload",
        Duration::from_secs(10),
        || async {
            origin
                .metric("starling_origin_uploads_rejected_total")
                .await
                == 1.0
        },
    )
    .await;
    let head = Client::new().head(origin.url(&path)).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);
    assert_eq!(
        origin
            .metric("starling_origin_uploads_committed_total")
            .await,
        0.0
    );
    assert_nothing_left(root.path());
    origin.stop().await;
}

#[tokio::test]
async fn bad_namespaces_and_digests_are_400() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = Client::new();
    let digest = Digest::of(b"x").to_string();
    let cases = [
        (
            format!("/namespace/Team%2FApp/blobs/{digest}"),
            "NAME_INVALID",
        ),
        (
            format!("/namespace/team%2F%2Fapp/blobs/{digest}"),
            "NAME_INVALID",
        ),
        (
            format!("/namespace/..%2Fetc/blobs/{digest}"),
            "NAME_INVALID",
        ),
        (format!("/namespace/%FF/blobs/{digest}"), "NAME_INVALID"),
        (
            "/namespace/team%2Fapp/blobs/sha256:xyz".to_owned(),
            "DIGEST_INVALID",
        ),
        (
            format!("/namespace/team%2Fapp/blobs/md5:{}", "a".repeat(32)),
            "DIGEST_INVALID",
        ),
        (
            format!("/namespace/team%2Fapp/blobs/{}", digest.to_uppercase()),
            "DIGEST_INVALID",
        ),
    ];
    for (path, code) in cases {
        for method in [Method::GET, Method::PUT] {
            let response = client
                .request(method.clone(), origin.url(&path))
                .body("data")
                .send()
                .await
                .unwrap();
            assert_eq!(
                response.status(),
                StatusCode::BAD_REQUEST,
                "{method} {path}"
            );
            assert_eq!(error_code(response).await, code, "{method} {path}");
        }
    }
    assert_nothing_left(root.path());
    origin.stop().await;
}

#[tokio::test]
async fn metainfo_matches_the_blob_and_is_generated_once() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = Client::new();
    let blob = BlobFixture::random(3 * 1024 * 1024 + 1234);
    assert_eq!(
        put_blob(&client, &origin, &blob).await.status(),
        StatusCode::CREATED
    );
    let url = origin.url(&paths::metainfo(&ns(), &blob.digest));

    let requests = (0..8).map(|_| {
        let request = client.get(&url).send();
        async move {
            let response = request.await.unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            assert_eq!(
                response.headers()["content-type"],
                "application/x-bittorrent"
            );
            response.bytes().await.unwrap()
        }
    });
    let bodies = futures::future::join_all(requests).await;
    assert!(bodies.windows(2).all(|w| w[0] == w[1]));
    let metainfo = MetaInfo::from_bytes(&bodies[0]).unwrap();
    assert_eq!(metainfo.digest().unwrap(), blob.digest);
    assert_eq!(metainfo.info().length(), blob.len());
    assert_eq!(metainfo.announce(), None);
    assert_eq!(
        metainfo.info().piece_length(),
        256 * 1024,
        "the default policy"
    );
    assert_eq!(metainfo.piece_count(), 13);
    for i in 0..metainfo.piece_count() {
        let index = metainfo.piece_index(i).unwrap();
        let start = metainfo.piece_offset(index) as usize;
        let end = start + metainfo.piece_len(index) as usize;
        assert!(
            metainfo.verify_piece(index, &blob.data[start..end]),
            "piece {i}"
        );
    }

    let hex = blob.digest.hex();
    let kept = root.path().join(format!(
        "metainfo/{}/{}/{hex}.torrent",
        &hex[..2],
        &hex[2..4]
    ));
    assert_eq!(std::fs::read(&kept).unwrap(), bodies[0]);
    let later = client
        .get(&url)
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert_eq!(later, bodies[0]);
    assert_eq!(
        origin
            .metric("starling_origin_metainfo_generated_total")
            .await,
        1.0
    );

    let missing = client
        .get(origin.url(&paths::metainfo(&ns(), &Digest::of(b"absent"))))
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(missing).await, "BLOB_UNKNOWN");
    origin.stop().await;
}

#[tokio::test]
async fn probes_and_metrics() {
    let root = tempfile::tempdir().unwrap();
    let origin = OriginFixture::start_alone(root.path()).await;
    let client = Client::new();
    origin.wait_ready().await;
    let health = client.get(origin.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), StatusCode::OK);
    let metrics = client
        .get(origin.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    for name in [
        "starling_origin_served_bytes_total",
        "starling_origin_backend_read_bytes_total",
        "starling_origin_backend_written_bytes_total",
        "starling_origin_cache_hits_total",
        "starling_origin_cache_misses_total",
        "starling_origin_writeback_queue_depth",
        "starling_origin_uploads_committed_total",
        "starling_origin_uploads_rejected_total",
    ] {
        assert!(metrics.contains(name), "{name} missing:\n{metrics}");
    }
    let unknown = client
        .get(origin.url(&paths::blob(&ns(), &Digest::of(b"nope"))))
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(unknown).await, "BLOB_UNKNOWN");
    assert!(
        files_under(&root.path().join("tmp")).is_empty(),
        "the probe file is removed"
    );
    origin.stop().await;
}
