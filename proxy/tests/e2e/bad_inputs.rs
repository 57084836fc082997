//! Bad inputs over HTTP against the real stack: each gets the spec's code, and nothing
//! lands in the origin or the build-index. Alongside, the happy paths the bad inputs
//! are variations of: chunked upload, mount, Range reads, push by digest, paging.

use reqwest::{Client, RequestBuilder, StatusCode};
use serde_json::{Value, json};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use starling_testkit::BlobFixture;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::Stack;

/// Sends `request` and checks the status and the registry error code of the answer.
pub(crate) async fn expect(request: RequestBuilder, status: StatusCode, want: &str) -> Value {
    let response = request.send().await.unwrap();
    let got = response.status();
    let body: Value = response.json().await.unwrap_or(Value::Null);
    let code = body["errors"][0]["code"].as_str().unwrap_or("<none>");
    assert_eq!((got, code), (status, want), "{body}");
    body
}

/// Pushes `data` with one monolithic POST.
pub(crate) async fn push_blob(http: &Client, stack: &Stack, name: &str, data: &[u8]) -> Digest {
    let digest = Digest::of(data);
    let url = stack.url(&format!("/v2/{name}/blobs/uploads/?digest={digest}"));
    let response = http.post(url).body(data.to_vec()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::CREATED);
    let header = &response.headers()["docker-content-digest"];
    assert_eq!(header.to_str().unwrap(), digest.to_string());
    digest
}

/// Starts a chunked upload of `name`; returns its absolute URL.
async fn start_upload(http: &Client, stack: &Stack, name: &str) -> String {
    let path = format!("/v2/{name}/blobs/uploads/");
    let response = http.post(stack.url(&path)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::ACCEPTED);
    stack.url(response.headers()["location"].to_str().unwrap())
}

/// An OCI image manifest of `config` and `layers`, each descriptor with the digest and
/// size of its bytes.
fn manifest(config: &[u8], layers: &[&[u8]]) -> Vec<u8> {
    let layer_type = "application/vnd.oci.image.layer.v1.tar+gzip";
    let layer = |l: &&[u8]| json!({"mediaType": layer_type, "digest": Digest::of(l).to_string(), "size": l.len()});
    serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": Digest::of(config).to_string(), "size": config.len()},
        "layers": layers.iter().map(layer).collect::<Vec<_>>(),
    }))
    .unwrap()
}

fn put_manifest(http: &Client, stack: &Stack, path: &str, body: Vec<u8>) -> RequestBuilder {
    http.put(stack.url(path))
        .header("content-type", OCI_MANIFEST)
        .body(body)
}

/// Sends `request_line` as-is, so the path reaches the proxy without the client
/// normalising `..` away; returns the status and the whole answer.
async fn raw(stack: &Stack, request_line: &str) -> (u16, String) {
    let mut socket = tokio::net::TcpStream::connect(stack.registry())
        .await
        .unwrap();
    let head = "host: x\r\ncontent-length: 0\r\nconnection: close\r\n";
    let request = format!("{request_line} HTTP/1.1\r\n{head}\r\n");
    socket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = String::new();
    socket.read_to_string(&mut answer).await.unwrap();
    (answer[9..12].parse().unwrap(), answer)
}

#[tokio::test]
async fn bad_blob_requests_change_nothing() {
    let stack = Stack::start().await;
    let http = Client::new();
    let blob = BlobFixture::random(1000);
    let wrong = stack.url(&format!(
        "/v2/team/app/blobs/uploads/?digest={}",
        blob.digest
    ));
    let request = http.post(wrong).body(b"other bytes".to_vec());
    expect(request, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    assert!(!stack.origin_has("team/app", &blob.digest).await);
    assert!(
        !stack
            .origin_has("team/app", &Digest::of(b"other bytes"))
            .await
    );

    let unknown = stack.url("/v2/team/app/blobs/uploads/feedbeef");
    expect(
        http.patch(unknown).body("x"),
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
    )
    .await;
    let bad_name = http.post(stack.url("/v2/Team/App/blobs/uploads/"));
    expect(bad_name, StatusCode::BAD_REQUEST, "NAME_INVALID").await;
    for line in [
        "POST /v2/../../etc/blobs/uploads/",
        "GET /v2/team/../../etc/passwd/tags/list",
        "PUT /v2/a/%2e%2e/%2e%2e/manifests/v1",
    ] {
        let (status, answer) = raw(&stack, line).await;
        assert_eq!(status, 400, "{line}:\n{answer}");
        assert!(answer.contains("NAME_INVALID"), "{line}:\n{answer}");
    }
    let head = http.head(stack.url(&format!("/v2/team/app/blobs/{}", blob.digest)));
    assert_eq!(head.send().await.unwrap().status(), StatusCode::NOT_FOUND);
    assert_eq!(stack.upload_files(), 0);
    stack.stop().await;
}

#[tokio::test]
async fn a_rejected_chunked_upload_keeps_nothing() {
    let stack = Stack::start().await;
    let http = Client::new();
    let blob = BlobFixture::random(300_000);
    let location = start_upload(&http, &stack, "team/app").await;
    let (first, rest) = blob.data.split_at(100_000);
    let chunk = http.patch(&location).header("content-range", "0-99999");
    let ok = chunk.body(first.to_vec()).send().await.unwrap();
    assert_eq!(ok.status(), StatusCode::ACCEPTED);
    assert_eq!(ok.headers()["range"], "0-99999");

    let skip = http
        .patch(&location)
        .header("content-range", "100001-100002");
    let answer = expect(
        skip.body("ab"),
        StatusCode::RANGE_NOT_SATISFIABLE,
        "RANGE_INVALID",
    );
    answer.await;
    let wrong = format!("{location}?digest={}", Digest::of(b"nope"));
    let commit = http.put(&wrong).body(rest.to_vec());
    expect(commit, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    assert!(!stack.origin_has("team/app", &blob.digest).await);
    assert_eq!(
        stack.upload_files(),
        0,
        "the rejected upload's file is gone"
    );
    expect(
        http.get(&location),
        StatusCode::NOT_FOUND,
        "BLOB_UPLOAD_UNKNOWN",
    )
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn chunked_uploads_and_ranged_reads_work() {
    let stack = Stack::start().await;
    let http = Client::new();
    let blob = BlobFixture::random(200_000);
    let location = start_upload(&http, &stack, "team/base").await;
    let (first, rest) = blob.data.split_at(150_000);
    let chunk = http.patch(&location).header("content-range", "0-149999");
    assert_eq!(
        chunk.body(first.to_vec()).send().await.unwrap().status(),
        202
    );
    let commit = http.put(format!("{location}?digest={}", blob.digest));
    let done = commit.body(rest.to_vec()).send().await.unwrap();
    assert_eq!(done.status(), StatusCode::CREATED);
    assert!(stack.origin_has("team/base", &blob.digest).await);

    let blob_url = stack.url(&format!("/v2/team/base/blobs/{}", blob.digest));
    let head = http.head(&blob_url).send().await.unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "200000");
    let part = http.get(&blob_url).header("range", "bytes=10-19");
    let part = part.send().await.unwrap();
    assert_eq!(part.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(part.headers()["content-range"], "bytes 10-19/200000");
    assert_eq!(part.bytes().await.unwrap(), blob.data.slice(10..20));
    let beyond = http.get(&blob_url).header("range", "bytes=200000-");
    expect(beyond, StatusCode::RANGE_NOT_SATISFIABLE, "RANGE_INVALID").await;
    stack.stop().await;
}

#[tokio::test]
async fn mounts_of_known_blobs_are_201_and_of_unknown_ones_start_uploads() {
    let stack = Stack::start().await;
    let http = Client::new();
    let digest = push_blob(&http, &stack, "team/base", b"base layer").await;
    let mount = format!("/v2/team/app/blobs/uploads/?mount={digest}&from=team/base");
    let mounted = http.post(stack.url(&mount)).send().await.unwrap();
    assert_eq!(mounted.status(), StatusCode::CREATED);
    assert_eq!(
        mounted.headers()["location"],
        format!("/v2/team/app/blobs/{digest}").as_str()
    );
    assert!(stack.origin_has("team/app", &digest).await);

    let unknown = Digest::of(b"?");
    let mount = format!("/v2/team/app/blobs/uploads/?mount={unknown}&from=team/base");
    let fallback = http.post(stack.url(&mount)).send().await.unwrap();
    assert_eq!(
        fallback.status(),
        StatusCode::ACCEPTED,
        "a plain upload starts"
    );
    assert!(fallback.headers().contains_key("docker-upload-uuid"));
    assert!(!stack.origin_has("team/app", &unknown).await);
    stack.stop().await;
}

#[tokio::test]
async fn manifests_with_missing_blobs_or_too_large_change_nothing() {
    let stack = Stack::start().await;
    let http = Client::new();
    push_blob(&http, &stack, "team/app", b"{\"os\":\"linux\"}").await;
    push_blob(&http, &stack, "team/app", b"layer bytes").await;
    let missing = Digest::of(b"never pushed");

    let body = manifest(b"{\"os\":\"linux\"}", &[b"layer bytes", b"never pushed"]);
    let request = put_manifest(&http, &stack, "/v2/team/app/manifests/v1", body.clone());
    let error = expect(request, StatusCode::BAD_REQUEST, "MANIFEST_BLOB_UNKNOWN").await;
    assert_eq!(error["errors"][0]["detail"], missing.to_string());
    assert_eq!(stack.tag("team/app", "v1").await, None);
    assert!(!stack.origin_has("team/app", &Digest::of(&body)).await);

    let huge = vec![b' '; 5 << 20];
    let request = put_manifest(&http, &stack, "/v2/team/app/manifests/big", huge);
    expect(request, StatusCode::BAD_REQUEST, "SIZE_INVALID").await;
    assert_eq!(stack.tag("team/app", "big").await, None);

    let not_json = put_manifest(&http, &stack, "/v2/team/app/manifests/v1", b"{".to_vec());
    expect(not_json, StatusCode::BAD_REQUEST, "MANIFEST_INVALID").await;
    assert_eq!(stack.tag("team/app", "v1").await, None);
    stack.stop().await;
}

#[tokio::test]
async fn manifests_by_digest_must_match_and_are_served_with_their_type() {
    let stack = Stack::start().await;
    let http = Client::new();
    push_blob(&http, &stack, "team/app", b"{}").await;
    let layer = push_blob(&http, &stack, "team/app", b"layer").await;
    let good = manifest(b"{}", &[b"layer"]);
    let wrong = format!("/v2/team/app/manifests/{}", Digest::of(b"not it"));
    let request = put_manifest(&http, &stack, &wrong, good.clone());
    expect(request, StatusCode::BAD_REQUEST, "DIGEST_INVALID").await;
    assert!(!stack.origin_has("team/app", &Digest::of(&good)).await);

    let by_digest = format!("/v2/team/app/manifests/{}", Digest::of(&good));
    let response = put_manifest(&http, &stack, &by_digest, good.clone());
    assert_eq!(response.send().await.unwrap().status(), StatusCode::CREATED);
    let fetched = http.get(stack.url(&by_digest)).send().await.unwrap();
    assert_eq!(fetched.headers()["content-type"], OCI_MANIFEST);
    assert_eq!(fetched.bytes().await.unwrap(), good);
    let head = http.head(stack.url(&by_digest)).send().await.unwrap();
    let length = good.len().to_string();
    assert_eq!(head.headers()["content-length"], length.as_str());

    let layer_as_manifest = stack.url(&format!("/v2/team/app/manifests/{layer}"));
    expect(
        http.get(layer_as_manifest),
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
    )
    .await;
    let unknown_tag = stack.url("/v2/team/app/manifests/nope");
    expect(
        http.get(unknown_tag),
        StatusCode::NOT_FOUND,
        "MANIFEST_UNKNOWN",
    )
    .await;
    stack.stop().await;
}

#[tokio::test]
async fn tags_and_the_catalog_are_paged() {
    let stack = Stack::start().await;
    let http = Client::new();
    push_blob(&http, &stack, "team/app", b"{}").await;
    let body = manifest(b"{}", &[]);
    for (name, tag) in [
        ("team/app", "v1"),
        ("team/app", "v2"),
        ("team/app", "v3"),
        ("other", "x"),
    ] {
        let path = format!("/v2/{name}/manifests/{tag}");
        let response = put_manifest(&http, &stack, &path, body.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "{name}:{tag}");
    }
    let get = |path: &str| http.get(stack.url(path)).send();
    let page = get("/v2/team/app/tags/list?n=2").await.unwrap();
    let next = "</v2/team/app/tags/list?n=2&last=v2>; rel=\"next\"";
    assert_eq!(page.headers()["link"], next);
    let page: Value = page.json().await.unwrap();
    assert_eq!(page, json!({"name": "team/app", "tags": ["v1", "v2"]}));
    let rest = get("/v2/team/app/tags/list?n=2&last=v2").await.unwrap();
    assert!(rest.headers().get("link").is_none());
    assert_eq!(rest.json::<Value>().await.unwrap()["tags"], json!(["v3"]));
    let catalog: Value = get("/v2/_catalog").await.unwrap().json().await.unwrap();
    assert_eq!(catalog, json!({"repositories": ["other", "team/app"]}));
    let unknown = http.get(stack.url("/v2/nobody/tags/list"));
    expect(unknown, StatusCode::NOT_FOUND, "NAME_UNKNOWN").await;
    stack.stop().await;
}
