//! Handler tests over `router(state).oneshot(..)`: the bad inputs a registry client can
//! send, each answered with the spec's code before any origin or build-index is asked
//! (both point at a closed port here), and leaving nothing behind.

use std::path::Path;

use axum::body::{Body, to_bytes};
use axum::http::{Request, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::Value;
use starling_config::{ClusterConfig, ProxyConfig};
use starling_core::Digest;
use tower::ServiceExt;

use super::*;

/// A port nothing listens on: requests that reach a backend fail fast.
const CLOSED: &str = "127.0.0.1:9";

fn config(dir: &Path) -> ProxyConfig {
    let mut cfg = ProxyConfig {
        origins: ClusterConfig::with_hosts([CLOSED]),
        build_index: vec![CLOSED.to_owned()],
        upload_dir: dir.join("uploads"),
        ..ProxyConfig::default()
    };
    cfg.max_manifest_size = "1KiB".parse().unwrap();
    cfg
}

struct Harness {
    state: Arc<ProxyState>,
    dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        Self::with(|_| {}).await
    }

    async fn with(adjust: impl FnOnce(&mut ProxyConfig)) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        adjust(&mut cfg);
        let state = Arc::new(ProxyState::open(&cfg).await.unwrap());
        Self { state, dir }
    }

    async fn send(&self, request: Request<Body>) -> Response {
        router(self.state.clone()).oneshot(request).await.unwrap()
    }

    async fn call(&self, method: &str, uri: &str, body: &'static [u8]) -> (StatusCode, Value) {
        self.call_with(method, uri, &[], body).await
    }

    async fn call_with(
        &self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: &'static [u8],
    ) -> (StatusCode, Value) {
        let mut request = Request::builder().method(method).uri(uri);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = self.send(request.body(Body::from(body)).unwrap()).await;
        let status = response.status();
        let bytes = to_bytes(response.into_body(), 1 << 20).await.unwrap();
        (
            status,
            serde_json::from_slice(&bytes).unwrap_or(Value::Null),
        )
    }

    /// Starts an upload and returns its `Location`.
    async fn start_upload(&self, name: &str) -> String {
        let request = Request::post(format!("/v2/{name}/blobs/uploads/"))
            .body(Body::empty())
            .unwrap();
        let response = self.send(request).await;
        assert_eq!(response.status(), StatusCode::ACCEPTED);
        assert_eq!(response.headers()["range"], "0-0");
        assert!(response.headers().contains_key("docker-upload-uuid"));
        response.headers()["location"].to_str().unwrap().to_owned()
    }

    fn upload_files(&self) -> usize {
        std::fs::read_dir(self.dir.path().join("uploads"))
            .unwrap()
            .count()
    }
}

fn code(body: &Value) -> &str {
    body["errors"][0]["code"].as_str().unwrap_or("<none>")
}

#[tokio::test]
async fn the_api_root_answers_with_the_version_header() {
    let h = Harness::new().await;
    let response = h
        .send(Request::get("/v2/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        response.headers()["docker-distribution-api-version"],
        "registry/2.0"
    );
    let body = to_bytes(response.into_body(), 1024).await.unwrap();
    assert_eq!(&body[..], b"{}");
    let (status, _) = h.call("GET", "/health", b"").await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn bad_names_and_paths_are_rejected() {
    let h = Harness::new().await;
    let cases = [
        ("GET", "/v2/Team/app/tags/list", 400, "NAME_INVALID"),
        ("PUT", "/v2/../etc/manifests/latest", 400, "NAME_INVALID"),
        ("POST", "/v2/a/%2e%2e/blobs/uploads/", 400, "NAME_INVALID"),
        ("GET", "/v2/team/app/manifests/..", 400, "TAG_INVALID"),
        ("GET", "/v2/team/app/blobs/sha256:00", 400, "DIGEST_INVALID"),
        (
            "PATCH",
            "/v2/team/app/blobs/uploads/..",
            404,
            "BLOB_UPLOAD_UNKNOWN",
        ),
        ("GET", "/v2/team/app", 404, "NAME_UNKNOWN"),
        ("GET", "/etc/passwd", 404, "NAME_UNKNOWN"),
        ("DELETE", "/v2/team/app/manifests/v1", 405, "UNSUPPORTED"),
    ];
    for (method, uri, status, want) in cases {
        let (got, body) = h.call(method, uri, b"{}").await;
        assert_eq!(
            (got.as_u16(), code(&body)),
            (status, want),
            "{method} {uri}"
        );
    }
    assert_eq!(h.upload_files(), 0);
}

#[tokio::test]
async fn unknown_uploads_are_404() {
    let h = Harness::new().await;
    let digest = Digest::of(b"x");
    for (method, uri) in [
        ("PATCH", "/v2/a/blobs/uploads/0123abcd".to_owned()),
        (
            "PUT",
            format!("/v2/a/blobs/uploads/0123abcd?digest={digest}"),
        ),
        ("GET", "/v2/a/blobs/uploads/0123abcd".to_owned()),
        ("DELETE", "/v2/a/blobs/uploads/0123abcd".to_owned()),
    ] {
        let (status, body) = h.call(method, &uri, b"x").await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{method}");
        assert_eq!(code(&body), "BLOB_UPLOAD_UNKNOWN", "{method}");
    }
    let location = h.start_upload("team/app").await;
    let other = location.replace("team/app", "team/other");
    let (status, body) = h.call("PATCH", &other, b"x").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::NOT_FOUND, "BLOB_UPLOAD_UNKNOWN")
    );
}

#[tokio::test]
async fn pushes_of_docker_hub_images_land_under_their_canonical_name() {
    let h = Harness::new().await;
    let location = h.start_upload("docker.io/alpine").await;
    assert!(
        location.starts_with("/v2/docker.io/library/alpine/blobs/uploads/"),
        "{location}"
    );
    let spelled = location.replace("docker.io/library/alpine", "index.docker.io/alpine");
    let request = Request::get(spelled).body(Body::empty()).unwrap();
    let response = h.send(request).await;
    assert_eq!(
        response.status(),
        StatusCode::NO_CONTENT,
        "another spelling of the same repository finds the upload"
    );
}

#[tokio::test]
async fn chunks_must_continue_at_the_offset() {
    let h = Harness::new().await;
    let location = h.start_upload("team/app").await;
    let (status, _) = h
        .call_with("PATCH", &location, &[("content-range", "0-4")], b"hello")
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);

    let request = Request::patch(&location)
        .header("content-range", "9-10")
        .body(Body::from("xx"))
        .unwrap();
    let response = h.send(request).await;
    assert_eq!(response.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(response.headers()["range"], "0-4");
    assert_eq!(response.headers()["location"], location.as_str());

    let (status, body) = h
        .call_with(
            "PATCH",
            &location,
            &[("content-range", "5-9")],
            b"toolongbody",
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SIZE_INVALID")
    );
    let (status, body) = h
        .call_with("PATCH", &location, &[("content-range", "junk")], b"x")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "BLOB_UPLOAD_INVALID")
    );

    let status = h
        .send(Request::get(&location).body(Body::empty()).unwrap())
        .await;
    assert_eq!(status.status(), StatusCode::NO_CONTENT);
    assert_eq!(
        status.headers()["range"],
        "0-4",
        "rejected chunks left nothing"
    );
}

#[tokio::test]
async fn a_wrong_digest_keeps_nothing() {
    let h = Harness::new().await;
    let location = h.start_upload("team/app").await;
    h.call("PATCH", &location, b"hello").await;
    let (status, body) = h.call("PUT", &location, b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    assert_eq!(
        h.upload_files(),
        1,
        "a missing digest leaves the upload open"
    );

    let wrong = format!("{location}?digest={}", Digest::of(b"other"));
    let (status, body) = h.call("PUT", &wrong, b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    assert_eq!(h.upload_files(), 0);
    let (status, _) = h.call("GET", &location, b"").await;
    assert_eq!(status, StatusCode::NOT_FOUND, "the upload is gone");

    let monolithic = format!("/v2/team/app/blobs/uploads/?digest={}", Digest::of(b"x"));
    let (status, body) = h.call("POST", &monolithic, b"not x").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    let (status, body) = h
        .call("POST", "/v2/team/app/blobs/uploads/?digest=sha256:zz", b"x")
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );
    assert_eq!(h.upload_files(), 0);
}

#[tokio::test]
async fn cancelled_and_idle_uploads_are_deleted() {
    let h = Harness::new().await;
    let cancelled = h.start_upload("a").await;
    let _idle = h.start_upload("a").await;
    assert_eq!(h.upload_files(), 2);
    let (status, _) = h.call("DELETE", &cancelled, b"").await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert_eq!(h.upload_files(), 1);
    let later = Instant::now() + h.state.uploads.sessions().idle_timeout() * 2;
    assert_eq!(h.state.uploads.reap(later), 1);
    assert_eq!(h.upload_files(), 0);
}

#[tokio::test]
async fn bad_manifests_are_rejected_before_any_lookup() {
    let h = Harness::new().await;
    let oci = ("content-type", "application/vnd.oci.image.manifest.v1+json");
    let big: &'static [u8] = Box::leak(vec![b' '; 2048].into_boxed_slice());
    let (status, body) = h.call_with("PUT", "/v2/a/manifests/v1", &[oci], big).await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "SIZE_INVALID")
    );

    let wrong = format!("/v2/a/manifests/{}", Digest::of(b"other"));
    let (status, body) = h.call_with("PUT", &wrong, &[oci], b"{}").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "DIGEST_INVALID")
    );

    let (status, body) = h.call_with("PUT", "/v2/a/manifests/v1", &[oci], b"{").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
    let json = ("content-type", "application/json");
    let (status, body) = h
        .call_with(
            "PUT",
            "/v2/a/manifests/v1",
            &[json],
            br#"{"schemaVersion":2}"#,
        )
        .await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "MANIFEST_INVALID")
    );
}

#[tokio::test]
async fn unreachable_backends_are_503() {
    let h = Harness::new().await;
    let digest = Digest::of(b"x");
    let (status, body) = h.call("GET", &format!("/v2/a/blobs/{digest}"), b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
    );
    let (status, body) = h.call("GET", "/v2/a/tags/list", b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE")
    );
    let (status, body) = h.call("GET", "/v2/a/tags/list?n=x", b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "PAGINATION_NUMBER_INVALID")
    );
    let (status, _) = h.call("GET", "/readiness", b"").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

fn basic(credentials: &str) -> String {
    let encoded = base64::engine::general_purpose::STANDARD.encode(credentials);
    format!("Basic {encoded}")
}

/// A harness whose proxy has the htpasswd user `ci` with password `pw`.
async fn with_htpasswd() -> Harness {
    let hash = bcrypt::hash("pw", 4).unwrap();
    let file = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(file.path(), format!("ci:{hash}\n")).unwrap();
    Harness::with(|cfg| cfg.htpasswd = Some(file.path().to_path_buf())).await
}

#[tokio::test]
async fn pushes_need_credentials_when_htpasswd_is_set() {
    let h = with_htpasswd().await;

    let response = h
        .send(Request::get("/v2/").body(Body::empty()).unwrap())
        .await;
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        response.headers()["www-authenticate"],
        "Basic realm=\"starling\""
    );
    let good = basic("ci:pw");
    let bad = basic("ci:nope");
    let (status, _) = h
        .call_with("GET", "/v2/", &[("authorization", &good)], b"")
        .await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = h
        .call_with("GET", "/v2/", &[("authorization", &bad)], b"")
        .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    for (method, uri) in [
        ("POST", "/v2/a/blobs/uploads/"),
        ("PUT", "/v2/a/manifests/v1"),
        ("PATCH", "/v2/a/blobs/uploads/x"),
        ("POST", "/v2/A/blobs/uploads/"),
    ] {
        let (status, body) = h.call(method, uri, b"").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::UNAUTHORIZED, "UNAUTHORIZED"),
            "{method} {uri}"
        );
        let (status, _) = h
            .call_with(method, uri, &[("authorization", &bad)], b"")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
    }
    assert_eq!(h.upload_files(), 0);
    let (status, _) = h
        .call_with(
            "POST",
            "/v2/a/blobs/uploads/",
            &[("authorization", &good)],
            b"",
        )
        .await;
    assert_eq!(status, StatusCode::ACCEPTED);
    let (status, body) = h.call("GET", "/v2/A/tags/list", b"").await;
    assert_eq!(
        (status, code(&body)),
        (StatusCode::BAD_REQUEST, "NAME_INVALID"),
        "reads are open"
    );
}

#[tokio::test]
async fn listings_need_credentials_when_htpasswd_is_set() {
    let h = with_htpasswd().await;
    let (good, bad) = (basic("ci:pw"), basic("ci:nope"));
    for (method, uri) in [
        ("GET", "/v2/_catalog"),
        ("GET", "/v2/_catalog?n=10"),
        ("HEAD", "/v2/_catalog"),
        ("GET", "/v2/team/app/tags/list"),
        ("HEAD", "/v2/team/app/tags/list?n=1"),
    ] {
        let request = Request::builder().method(method).uri(uri);
        let response = h.send(request.body(Body::empty()).unwrap()).await;
        assert_eq!(
            response.status(),
            StatusCode::UNAUTHORIZED,
            "{method} {uri}"
        );
        assert_eq!(
            response.headers()["www-authenticate"],
            "Basic realm=\"starling\"",
            "{method} {uri}"
        );
        let (status, _) = h
            .call_with(method, uri, &[("authorization", &bad)], b"")
            .await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{method} {uri}");
        // Valid credentials get through to the (unreachable) build-index.
        let (status, _) = h
            .call_with(method, uri, &[("authorization", &good)], b"")
            .await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{method} {uri}");
    }
    let (status, body) = h.call("GET", "/v2/_catalog", b"").await;
    assert_eq!(code(&body), "UNAUTHORIZED", "{status}");
    // Pulls by name stay anonymous: they reach the backends.
    let (status, _) = h.call("GET", "/v2/team/app/manifests/v1", b"").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
}

#[tokio::test]
async fn listings_are_open_without_htpasswd() {
    let h = Harness::new().await;
    for uri in ["/v2/_catalog", "/v2/team/app/tags/list"] {
        let (status, body) = h.call("GET", uri, b"").await;
        assert_eq!(
            (status, code(&body)),
            (StatusCode::SERVICE_UNAVAILABLE, "UNAVAILABLE"),
            "{uri}"
        );
    }
}
