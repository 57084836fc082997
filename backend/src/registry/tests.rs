//! The registry backend against an in-process fake registry and token server (axum on
//! 127.0.0.1:0) that insists on the Docker bearer-token flow. Like distribution, the fake
//! serves its manifest by digest only at `/manifests/`, and only to a client that accepts
//! OCI manifests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, Method as HttpMethod, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use bytes::Bytes;
use std::collections::HashMap;

use super::*;
use crate::read_tag;

/// `base64("user:secret")`, the only basic credentials the token server accepts.
const GOOD_BASIC: &str = "Basic dXNlcjpzZWNyZXQ=";
const TOKEN: &str = "token-for-team-app";

struct Fake {
    base: String,
    send_digest_header: bool,
    manifest: Bytes,
    blob: Bytes,
    token_fetches: AtomicUsize,
    scopes: Mutex<Vec<String>>,
    /// `METHOD path status` of every request that carried the token.
    answered: Mutex<Vec<String>>,
}

type Shared = State<Arc<Fake>>;

async fn start(send_digest_header: bool) -> Arc<Fake> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = Arc::new(Fake {
        base: format!("http://{}", listener.local_addr().unwrap()),
        send_digest_header,
        manifest: Bytes::from_static(br#"{"schemaVersion":2,"layers":[]}"#),
        blob: Bytes::from(vec![7u8; 100_000]),
        token_fetches: AtomicUsize::new(0),
        scopes: Mutex::default(),
        answered: Mutex::default(),
    });
    let app = Router::new()
        .route("/token", get(token))
        .route("/v2/team/app/manifests/{reference}", get(manifest))
        .route("/v2/team/app/blobs/{digest}", get(blob_redirect))
        .route("/v2/team/broken/blobs/{digest}", get(unavailable))
        .route("/storage/{digest}", get(storage))
        .route("/v2/team/app/tags/list", get(tags_list))
        .route("/v2/_catalog", get(catalog))
        .with_state(fake.clone());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    fake
}

async fn token(
    State(fake): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some(GOOD_BASIC)
    {
        return StatusCode::UNAUTHORIZED.into_response();
    }
    assert_eq!(q.get("service").map(String::as_str), Some("fake-registry"));
    fake.scopes.lock().unwrap().push(q["scope"].clone());
    fake.token_fetches.fetch_add(1, Ordering::SeqCst);
    axum::Json(serde_json::json!({"token": TOKEN, "expires_in": 300})).into_response()
}

/// `None` when the request carries the token, else the 401 that starts the token flow.
fn challenge(fake: &Fake, headers: &HeaderMap, scope: &str) -> Option<Response> {
    let expected = format!("Bearer {TOKEN}");
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        == Some(&expected)
    {
        return None;
    }
    let value = format!(
        r#"Bearer realm="{}/token",service="fake-registry",scope="{scope}""#,
        fake.base
    );
    Some(
        (
            StatusCode::UNAUTHORIZED,
            [(header::WWW_AUTHENTICATE, value)],
        )
            .into_response(),
    )
}

const REPO_SCOPE: &str = "repository:team/app:pull";

/// Bytes the fake serves for [`converted_digest`], as a registry that rewrites a manifest would.
const CONVERTED: &[u8] = br#"{"schemaVersion":2,"layers":[],"rewritten":true}"#;

fn converted_digest() -> Digest {
    Digest::of(b"the manifest as it was pushed")
}

fn record(fake: &Fake, method: &HttpMethod, path: &str, status: StatusCode) {
    let line = format!("{method} {path} {}", status.as_u16());
    fake.answered.lock().unwrap().push(line);
}

async fn manifest(
    State(fake): Shared,
    method: HttpMethod,
    headers: HeaderMap,
    Path(reference): Path<String>,
) -> Response {
    if let Some(denied) = challenge(&fake, &headers, REPO_SCOPE) {
        return denied;
    }
    let path = format!("/v2/team/app/manifests/{reference}");
    let accepts_oci = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("application/vnd.oci.image.manifest.v1+json"));
    let by_digest = reference == Digest::of(&fake.manifest).to_string();
    if reference == converted_digest().to_string() {
        record(&fake, &method, &path, StatusCode::OK);
        return Bytes::from_static(CONVERTED).into_response();
    }
    if !(reference == "v1" || by_digest && accepts_oci) {
        record(&fake, &method, &path, StatusCode::NOT_FOUND);
        return StatusCode::NOT_FOUND.into_response();
    }
    record(&fake, &method, &path, StatusCode::OK);
    let mut response = fake.manifest.clone().into_response();
    if fake.send_digest_header {
        let digest = Digest::of(&fake.manifest).to_string();
        let value = HeaderValue::from_str(&digest).unwrap();
        response
            .headers_mut()
            .insert("docker-content-digest", value);
    }
    response
}

async fn blob_redirect(
    State(fake): Shared,
    method: HttpMethod,
    headers: HeaderMap,
    Path(digest): Path<String>,
) -> Response {
    if let Some(denied) = challenge(&fake, &headers, REPO_SCOPE) {
        return denied;
    }
    let path = format!("/v2/team/app/blobs/{digest}");
    if digest != Digest::of(&fake.blob).to_string() {
        record(&fake, &method, &path, StatusCode::NOT_FOUND);
        return StatusCode::NOT_FOUND.into_response();
    }
    record(&fake, &method, &path, StatusCode::TEMPORARY_REDIRECT);
    let location = format!("{}/storage/{digest}", fake.base);
    (
        StatusCode::TEMPORARY_REDIRECT,
        [(header::LOCATION, location)],
    )
        .into_response()
}

async fn storage(State(fake): Shared) -> Response {
    let length = fake.blob.len().to_string();
    ([(header::CONTENT_LENGTH, length)], fake.blob.clone()).into_response()
}

async fn unavailable() -> Response {
    StatusCode::SERVICE_UNAVAILABLE.into_response()
}

async fn tags_list(
    State(fake): Shared,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    if let Some(denied) = challenge(&fake, &headers, REPO_SCOPE) {
        return denied;
    }
    match q.get("last").map(String::as_str) {
        None => {
            let link = r#"</v2/team/app/tags/list?last=v2&n=2>; rel="next""#;
            let body = axum::Json(serde_json::json!({"name": "team/app", "tags": ["v2", "v1"]}));
            ([(header::LINK, link)], body).into_response()
        }
        Some("v2") => {
            axum::Json(serde_json::json!({"name": "team/app", "tags": ["v3"]})).into_response()
        }
        Some(other) => panic!("unexpected page after {other}"),
    }
}

async fn catalog(State(fake): Shared, headers: HeaderMap) -> Response {
    if let Some(denied) = challenge(&fake, &headers, "registry:catalog:*") {
        return denied;
    }
    axum::Json(serde_json::json!({"repositories": ["team/app"]})).into_response()
}

fn backend(fake: &Fake, password: Option<&str>) -> RegistryBackend {
    let credentials = password.map(|password| Credentials {
        username: "user".to_owned(),
        password: password.to_owned(),
    });
    RegistryBackend::new(&fake.base, credentials, Duration::from_secs(10)).unwrap()
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

#[tokio::test]
async fn the_bearer_flow_fetches_one_token_per_scope_and_reuses_it() {
    let fake = start(true).await;
    let backend = backend(&fake, Some("secret"));
    let app = repo("team/app");
    let manifest_digest = Digest::of(&fake.manifest);
    assert_eq!(
        read_tag(&backend, &app, &tag("v1")).await.unwrap(),
        manifest_digest
    );
    let v1 = Key::tag(app.clone(), tag("v1"));
    assert_eq!(backend.stat(&v1).await.unwrap(), Some(71));

    let blob = Key::blob(app.clone(), Digest::of(&fake.blob));
    assert_eq!(backend.stat(&blob).await.unwrap(), Some(100_000));
    let body = stream::collect(backend.download(&blob).await.unwrap(), usize::MAX).await;
    assert_eq!(
        body.unwrap(),
        fake.blob,
        "the redirect to storage is followed"
    );
    assert_eq!(fake.token_fetches.load(Ordering::SeqCst), 1);

    let tags = backend
        .list(&ListScope::Tags { repo: app.clone() })
        .await
        .unwrap();
    assert_eq!(tags, ["v1", "v2", "v3"], "both Link pages, sorted");
    assert_eq!(backend.list(&ListScope::Repos).await.unwrap(), ["team/app"]);
    assert_eq!(
        fake.token_fetches.load(Ordering::SeqCst),
        2,
        "the catalog has its own scope"
    );
    assert_eq!(
        *fake.scopes.lock().unwrap(),
        [REPO_SCOPE, "registry:catalog:*"]
    );
}

#[tokio::test]
async fn a_mirror_strips_its_registry_from_names_paths_and_token_scopes() {
    let fake = start(true).await;
    let mirror = backend(&fake, Some("secret"))
        .mirroring("harbor.corp:443")
        .unwrap();
    let app = repo("harbor.corp_443/team/app");
    assert_eq!(
        read_tag(&mirror, &app, &tag("v1")).await.unwrap(),
        Digest::of(&fake.manifest),
        "asked upstream as team/app"
    );
    let blob = Key::blob(app.clone(), Digest::of(&fake.blob));
    assert_eq!(mirror.stat(&blob).await.unwrap(), Some(100_000));
    let tags = mirror.list(&ListScope::Tags { repo: app }).await.unwrap();
    assert_eq!(tags, ["v1", "v2", "v3"]);
    assert_eq!(
        mirror.list(&ListScope::Repos).await.unwrap(),
        ["harbor.corp_443/team/app"],
        "the catalog names repositories as Starling does"
    );
    assert_eq!(
        fake.scopes.lock().unwrap()[0],
        REPO_SCOPE,
        "the token is for the upstream's own name"
    );
    let elsewhere = Key::tag(repo("team/app"), tag("v1"));
    let err = mirror.stat(&elsewhere).await.unwrap_err();
    assert!(err.to_string().contains("mirror_of"), "{err}");
}

#[tokio::test]
async fn missing_objects_and_writes_fail_as_they_should() {
    let fake = start(true).await;
    let backend = backend(&fake, Some("secret"));
    let app = repo("team/app");
    let err = read_tag(&backend, &app, &tag("nope")).await.unwrap_err();
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        backend
            .stat(&Key::tag(app.clone(), tag("nope")))
            .await
            .unwrap(),
        None
    );
    let missing = Key::blob(app.clone(), Digest::of(b"missing"));
    assert_eq!(backend.stat(&missing).await.unwrap(), None);
    assert!(
        backend
            .download(&missing)
            .await
            .is_err_and(|e| e.is_not_found())
    );

    let err = backend
        .upload(&missing, 1, stream::once("x"))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::ReadOnly { .. }), "{err}");
    let err = backend
        .list(&ListScope::Blobs { namespace: app })
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unsupported { .. }), "{err}");
}

#[tokio::test]
async fn rejected_or_missing_credentials_say_what_to_fix() {
    let fake = start(true).await;
    let app = repo("team/app");
    let err = read_tag(&backend(&fake, Some("wrong")), &app, &tag("v1"))
        .await
        .unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, Error::Unauthorized { .. }), "{message}");
    assert!(
        message.contains("/token") && message.contains("\"user\" were rejected"),
        "{message}"
    );

    let err = read_tag(&backend(&fake, None), &app, &tag("v1"))
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("set username and password"),
        "{err}"
    );
    assert_eq!(fake.token_fetches.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn without_docker_content_digest_the_manifest_is_hashed() {
    let fake = start(false).await;
    let backend = backend(&fake, Some("secret"));
    let digest = read_tag(&backend, &repo("team/app"), &tag("v1"))
        .await
        .unwrap();
    assert_eq!(digest, Digest::of(&fake.manifest));
}

#[tokio::test]
async fn a_manifest_by_digest_comes_from_the_manifests_endpoint_after_a_404_from_blobs() {
    let fake = start(true).await;
    let backend = backend(&fake, Some("secret"));
    let manifest = Key::blob(repo("team/app"), Digest::of(&fake.manifest));
    let size = fake.manifest.len() as u64;
    assert_eq!(backend.stat(&manifest).await.unwrap(), Some(size));
    let body = stream::collect(backend.download(&manifest).await.unwrap(), usize::MAX).await;
    assert_eq!(body.unwrap(), fake.manifest, "the exact bytes");
    assert_eq!(
        fake.token_fetches.load(Ordering::SeqCst),
        1,
        "both endpoints use the repository's token"
    );
    let digest = Digest::of(&fake.manifest);
    let blobs = format!("/v2/team/app/blobs/{digest} 404");
    let manifests = format!("/v2/team/app/manifests/{digest} 200");
    assert_eq!(
        *fake.answered.lock().unwrap(),
        [
            format!("HEAD {blobs}"),
            format!("HEAD {manifests}"),
            format!("GET {blobs}"),
            format!("GET {manifests}"),
        ]
    );

    fake.answered.lock().unwrap().clear();
    let layer = Key::blob(repo("team/app"), Digest::of(&fake.blob));
    let body = stream::collect(backend.download(&layer).await.unwrap(), usize::MAX).await;
    assert_eq!(body.unwrap(), fake.blob);
    assert_eq!(
        *fake.answered.lock().unwrap(),
        [format!(
            "GET /v2/team/app/blobs/{} 307",
            Digest::of(&fake.blob)
        )],
        "a layer costs one request"
    );

    let missing = Key::blob(repo("team/app"), Digest::of(b"neither"));
    let err = backend.download(&missing).await.err().expect("missing");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(backend.stat(&missing).await.unwrap(), None);
}

#[tokio::test]
async fn a_manifest_whose_bytes_do_not_match_its_digest_is_refused() {
    let fake = start(true).await;
    let backend = backend(&fake, Some("secret"));
    let key = Key::blob(repo("team/app"), converted_digest());
    let err = backend.download(&key).await.err().expect("refused");
    assert!(matches!(err, Error::InvalidResponse { .. }), "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("/v2/team/app/manifests/{}", converted_digest()))
            && message.contains(&Digest::of(CONVERTED).to_string()),
        "{message}"
    );
}

/// Log lines written while a test runs on the current thread.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

thread_local! {
    static CAPTURE: std::cell::RefCell<Option<Captured>> = const { std::cell::RefCell::new(None) };
}

/// The writer of the one global subscriber: into this thread's capture, if any.
struct ThreadWriter;

impl std::io::Write for ThreadWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        CAPTURE.with(|capture| {
            if let Some(captured) = &*capture.borrow() {
                captured.0.lock().unwrap().extend_from_slice(buf);
            }
        });
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Captured {
    /// Captures this thread's log lines. One global subscriber serves every test: a
    /// per-thread default raced with tests logging on other threads, whose callsite
    /// interest (cached globally) could turn the `warn!` off.
    fn this_thread() -> Self {
        static INSTALL: std::sync::Once = std::sync::Once::new();
        INSTALL.call_once(|| {
            let subscriber = tracing_subscriber::fmt()
                .with_writer(|| ThreadWriter)
                .with_ansi(false)
                .finish();
            tracing::subscriber::set_global_default(subscriber)
                .expect("no other global subscriber in these tests");
        });
        let captured = Self::default();
        CAPTURE.with(|capture| *capture.borrow_mut() = Some(captured.clone()));
        captured
    }

    fn failures(&self) -> Vec<String> {
        let text = String::from_utf8(self.0.lock().unwrap().clone()).unwrap();
        text.lines()
            .filter(|line| line.contains("upstream registry request failed"))
            .map(str::to_owned)
            .collect()
    }
}

#[tokio::test]
async fn upstream_failures_are_logged_once_with_the_url_and_returned_typed() {
    let captured = Captured::this_thread();

    let fake = start(true).await;
    let digest = Digest::of(b"anything");
    let missing = Key::blob(repo("team/app"), digest);
    let err = backend(&fake, Some("secret"))
        .download(&missing)
        .await
        .err()
        .expect("missing");
    assert!(err.is_not_found(), "{err}");
    assert_eq!(
        captured.failures(),
        Vec::<String>::new(),
        "a miss is no failure"
    );

    let broken = Key::blob(repo("team/broken"), digest);
    let err = backend(&fake, None)
        .download(&broken)
        .await
        .err()
        .expect("503");
    let url = format!("{}/v2/team/broken/blobs/{digest}", fake.base);
    assert!(
        matches!(&err, Error::Http { status: 503, url: u } if *u == url),
        "{err}"
    );
    let failures = captured.failures();
    assert_eq!(failures.len(), 1, "{failures:?}");
    assert!(
        failures[0].contains("WARN") && failures[0].contains(&url),
        "{failures:?}"
    );

    let err = backend(&fake, Some("wrong"))
        .stat(&missing)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Unauthorized { .. }), "{err}");
    let failures = captured.failures();
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[1].contains(&format!("{}/token", fake.base))
            && failures[1].contains(&format!("blob team/app@{digest}")),
        "the token server's URL and what was asked for: {failures:?}"
    );

    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let refused = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let nobody = RegistryBackend::new(&refused, None, Duration::from_secs(5)).unwrap();
    let err = nobody.download(&missing).await.err().expect("refused");
    assert!(matches!(err, Error::Request { .. }), "{err}");
    let failures = captured.failures();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures[2].contains(&format!("{refused}/v2/team/app/blobs/{digest}")),
        "{failures:?}"
    );
}
