//! Handler tests through `router(state).oneshot(request)`: status codes, bodies and
//! headers of every route, and the error body of every bad input.

use axum::body::{Body, to_bytes};
use axum::http::{Method, StatusCode, header};
use serde_json::Value;
use starling_config::{BuildIndexConfig, ClusterConfig, RemoteConfig};
use tempfile::TempDir;
use tower::ServiceExt;

use super::*;
use starling_clients::build_index::api;

const D1: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const D2: &str = "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("{e}: {}", String::from_utf8_lossy(&self.body));
        })
    }

    fn code(&self) -> String {
        self.json()["errors"][0]["code"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    fn text(&self) -> &str {
        std::str::from_utf8(&self.body).unwrap()
    }
}

async fn state_with(replicas: Vec<String>) -> (TempDir, Arc<BuildIndexState>) {
    state_with_remotes(replicas, Vec::new()).await
}

async fn state_with_remotes(
    replicas: Vec<String>,
    remotes: Vec<RemoteConfig>,
) -> (TempDir, Arc<BuildIndexState>) {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BuildIndexConfig {
        database: dir.path().join("tags.db"),
        advertise: "127.0.0.1:1".to_owned(),
        replicas,
        remotes,
        ..BuildIndexConfig::default()
    };
    let state = Arc::new(BuildIndexState::open(&cfg).await.unwrap());
    (dir, state)
}

/// A `host:port` that refuses connections: bound, never listening. Keep the socket.
fn refusing_address() -> (tokio::net::TcpSocket, String) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let addr = socket.local_addr().unwrap().to_string();
    (socket, addr)
}

async fn call(state: &Arc<BuildIndexState>, method: Method, uri: &str, body: &str) -> Reply {
    send(state, Request::builder().method(method).uri(uri), body).await
}

async fn send(
    state: &Arc<BuildIndexState>,
    request: axum::http::request::Builder,
    body: &str,
) -> Reply {
    let request = request.body(Body::from(body.to_owned())).unwrap();
    let response = router(state.clone()).oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let body = to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap()
        .to_vec();
    Reply {
        status,
        headers,
        body,
    }
}

#[tokio::test]
async fn put_get_and_head_a_tag() {
    let (_dir, state) = state_with(Vec::new()).await;
    let uri = "/tags/team%2Fapp/v1";
    assert_eq!(
        call(&state, Method::PUT, uri, D1).await.status,
        StatusCode::CREATED
    );
    let again = call(&state, Method::PUT, uri, &format!("{D2}\n")).await;
    assert_eq!(again.status, StatusCode::OK);

    let got = call(&state, Method::GET, uri, "").await;
    assert_eq!((got.status, got.text()), (StatusCode::OK, D2));
    assert!(
        got.headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let head = call(&state, Method::HEAD, uri, "").await;
    assert_eq!(head.status, StatusCode::OK);
    assert!(head.body.is_empty());
    assert_eq!(
        head.headers[header::CONTENT_LENGTH],
        D2.len().to_string().as_str()
    );

    let unknown = call(&state, Method::GET, "/tags/team%2Fapp/v2", "").await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (StatusCode::NOT_FOUND, "MANIFEST_UNKNOWN".into())
    );
    let head = call(&state, Method::HEAD, "/tags/team%2Fapp/v2", "").await;
    assert_eq!((head.status, head.body.len()), (StatusCode::NOT_FOUND, 0));
}

#[tokio::test]
async fn bad_input_gets_the_error_body_and_changes_nothing() {
    let (_dir, state) = state_with(Vec::new()).await;
    let cases = [
        (Method::PUT, "/tags/Team%2Fapp/v1", D1, "NAME_INVALID"),
        (Method::PUT, "/tags/..%2Fetc/v1", D1, "NAME_INVALID"),
        (Method::PUT, "/tags/%2e%2e/v1", D1, "NAME_INVALID"),
        (Method::PUT, "/tags/a%2F%2Fb/v1", D1, "NAME_INVALID"),
        (Method::PUT, "/tags/a%252Fb/v1", D1, "NAME_INVALID"),
        (Method::PUT, "/tags/a/-v1", D1, "TAG_INVALID"),
        (Method::PUT, "/tags/a/v%3A1", D1, "TAG_INVALID"),
        (Method::PUT, "/tags/a/v1", "sha256:abc", "DIGEST_INVALID"),
        (Method::PUT, "/tags/a/v1", "", "DIGEST_INVALID"),
        (
            Method::PUT,
            "/tags/a/v1",
            &D1.to_uppercase(),
            "DIGEST_INVALID",
        ),
        (Method::GET, "/tags/a%2F..%2Fb/v1", "", "NAME_INVALID"),
        (Method::GET, "/tags/a/..", "", "TAG_INVALID"),
        (Method::GET, "/repositories/A/tags", "", "NAME_INVALID"),
        (
            Method::GET,
            "/repositories/a/tags?n=x",
            "",
            "PAGINATION_NUMBER_INVALID",
        ),
        (
            Method::GET,
            "/repositories/a/tags?n=-1",
            "",
            "PAGINATION_NUMBER_INVALID",
        ),
        (
            Method::GET,
            "/repositories/a/tags?last=..",
            "",
            "TAG_INVALID",
        ),
        (Method::GET, "/repositories?last=A", "", "NAME_INVALID"),
    ];
    for (method, uri, body, code) in cases {
        let reply = call(&state, method.clone(), uri, body).await;
        assert_eq!(
            reply.status,
            StatusCode::BAD_REQUEST,
            "{method} {uri}: {}",
            reply.text()
        );
        assert_eq!(reply.code(), code, "{method} {uri}");
        assert_eq!(reply.headers[header::CONTENT_TYPE], "application/json");
        assert!(reply.json()["errors"][0]["message"].is_string());
    }
    let repos = call(&state, Method::GET, "/repositories", "").await;
    assert_eq!(repos.json(), serde_json::json!({"repositories": []}));
}

#[tokio::test]
async fn unescaped_names_and_unknown_routes_are_explained() {
    let (_dir, state) = state_with(Vec::new()).await;
    let reply = call(&state, Method::PUT, "/tags/team/app/v1", D1).await;
    assert_eq!(
        (reply.status, reply.code()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN".into())
    );
    assert!(reply.text().contains("%2F"), "{}", reply.text());
    let missing = call(&state, Method::GET, "/repositories/nope/tags", "").await;
    assert_eq!(
        (missing.status, missing.code()),
        (StatusCode::NOT_FOUND, "NAME_UNKNOWN".into())
    );
    let too_big = call(&state, Method::PUT, "/tags/a/v1", &"x".repeat(10_000)).await;
    assert_eq!(too_big.status, StatusCode::PAYLOAD_TOO_LARGE);
}

#[tokio::test]
async fn lists_are_paged_with_a_next_link() {
    let (_dir, state) = state_with(Vec::new()).await;
    for (repo, tag) in [
        ("a%2Fb", "v3"),
        ("a%2Fb", "v1"),
        ("a%2Fb", "v2"),
        ("c", "x"),
    ] {
        let put = call(&state, Method::PUT, &format!("/tags/{repo}/{tag}"), D1).await;
        assert!(put.status.is_success());
    }
    let first = call(&state, Method::GET, "/repositories/a%2Fb/tags?n=2", "").await;
    assert_eq!(
        first.json(),
        serde_json::json!({"name": "a/b", "tags": ["v1", "v2"]})
    );
    let link = first.headers[header::LINK].to_str().unwrap();
    assert_eq!(link, "</repositories/a%2Fb/tags?n=2&last=v2>; rel=\"next\"");
    let next = api::last_from_link(link).unwrap();
    let second = call(
        &state,
        Method::GET,
        &format!("/repositories/a%2Fb/tags?n=2&last={next}"),
        "",
    )
    .await;
    assert_eq!(second.json()["tags"], serde_json::json!(["v3"]));
    assert!(second.headers.get(header::LINK).is_none());
    let all = call(&state, Method::GET, "/repositories/a%2Fb/tags", "").await;
    assert_eq!(all.json()["tags"], serde_json::json!(["v1", "v2", "v3"]));

    let repos = call(&state, Method::GET, "/repositories?n=1", "").await;
    assert_eq!(repos.json(), serde_json::json!({"repositories": ["a/b"]}));
    assert_eq!(
        repos.headers[header::LINK],
        "</repositories?n=1&last=a%2Fb>; rel=\"next\""
    );
    let rest = call(&state, Method::GET, "/repositories?n=1&last=a%2Fb", "").await;
    assert_eq!(rest.json(), serde_json::json!({"repositories": ["c"]}));
    assert!(rest.headers.get(header::LINK).is_none());
    let none = call(&state, Method::GET, "/repositories?n=0", "").await;
    assert_eq!(none.json(), serde_json::json!({"repositories": []}));
}

#[tokio::test]
async fn forwarded_puts_need_a_stamp_and_are_not_forwarded_again() {
    let (_socket, down) = refusing_address();
    let (_dir, state) = state_with(vec![down]).await;
    let forwarded = |stamp: Option<&str>| {
        let mut request = Request::builder()
            .method(Method::PUT)
            .uri("/tags/a/v1")
            .header(api::REPLICATED_FROM, "127.0.0.1:9");
        if let Some(stamp) = stamp {
            request = request.header(api::UPDATED_AT, stamp);
        }
        request
    };
    let unstamped = send(&state, forwarded(None), D1).await;
    assert_eq!(
        (unstamped.status, unstamped.code()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID".into())
    );
    let bad = send(&state, forwarded(Some("yesterday")), D1).await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    assert_eq!(
        send(&state, forwarded(Some("1000")), D1).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        state.replicator().queued().await.unwrap(),
        0,
        "a forwarded put is not forwarded"
    );
    assert_eq!(call(&state, Method::GET, "/tags/a/v1", "").await.text(), D1);

    assert_eq!(
        call(&state, Method::PUT, "/tags/a/v2", D1).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        state.replicator().queued().await.unwrap(),
        1,
        "the client put is queued for the down replica"
    );
}

#[tokio::test]
async fn only_client_puts_are_queued_for_remotes_and_cluster_puts_reach_the_replicas() {
    let (_socket, down) = refusing_address();
    let remote = RemoteConfig {
        repo: starling_config::pattern::anchored("team/.*").unwrap(),
        url: format!("http://{down}"),
        origins: ClusterConfig::with_hosts([down.clone()]),
        auth: Default::default(),
    };
    let (_dir, state) = state_with_remotes(vec![down], vec![remote]).await;
    let remotes = || async { state.remotes().queued().await.unwrap() };
    let replicas = || async { state.replicator().queued().await.unwrap() };
    let from_cluster = |uri: &str, stamp: &str| {
        Request::builder()
            .method(Method::PUT)
            .uri(uri)
            .header(api::REPLICATED_FROM_CLUSTER, "index.dc1:15004")
            .header(api::UPDATED_AT, stamp)
    };

    call(&state, Method::PUT, "/tags/team%2Fapp/v1", D1).await;
    call(&state, Method::PUT, "/tags/other%2Fapp/v1", D1).await;
    assert_eq!(remotes().await, 1, "only the matching repository is queued");
    assert_eq!(replicas().await, 2);

    let put = send(&state, from_cluster("/tags/team%2Fapp/v2", "1000"), D2).await;
    assert_eq!(put.status, StatusCode::CREATED);
    assert_eq!(
        remotes().await,
        1,
        "a put from another cluster is not sent on"
    );
    assert_eq!(replicas().await, 3, "but it is forwarded to the replicas");
    let stale = send(&state, from_cluster("/tags/team%2Fapp/v1", "1"), D2).await;
    assert_eq!(stale.status, StatusCode::OK);
    let v1 = call(&state, Method::GET, "/tags/team%2Fapp/v1", "").await;
    assert_eq!(v1.text(), D1, "an older put from another cluster loses");

    let both = from_cluster("/tags/team%2Fapp/v3", "1000").header(api::REPLICATED_FROM, "h:1");
    let both = send(&state, both, D1).await;
    assert_eq!(
        (both.status, both.code()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID".into())
    );
    let unstamped = Request::builder()
        .method(Method::PUT)
        .uri("/tags/team%2Fapp/v3")
        .header(api::REPLICATED_FROM_CLUSTER, "index.dc1:15004");
    assert_eq!(
        send(&state, unstamped, D1).await.status,
        StatusCode::BAD_REQUEST
    );

    let metrics = call(&state, Method::GET, "/metrics", "").await;
    for line in [
        r#"starling_build_index_puts_total{from="remote"} 1"#,
        r#"starling_build_index_remote_tasks_total{outcome="queued"} 1"#,
        "starling_build_index_remote_queue 1",
    ] {
        assert!(metrics.text().contains(line), "{line}: {}", metrics.text());
    }
}

#[tokio::test]
async fn probes_answer() {
    let (_dir, state) = state_with(Vec::new()).await;
    let health = call(&state, Method::GET, "/health", "").await;
    assert_eq!((health.status, health.text()), (StatusCode::OK, "OK"));
    let readiness = call(&state, Method::GET, "/readiness", "").await;
    assert_eq!(
        readiness.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "not serving yet"
    );
    state.set_ready(true);
    assert_eq!(
        call(&state, Method::GET, "/readiness", "").await.status,
        StatusCode::OK
    );
    call(&state, Method::PUT, "/tags/a/v1", D1).await;
    let metrics = call(&state, Method::GET, "/metrics", "").await;
    assert!(
        metrics
            .text()
            .contains(r#"starling_build_index_puts_total{from="client"} 1"#),
        "{}",
        metrics.text()
    );
    assert!(
        metrics
            .text()
            .contains("starling_build_index_replication_queue 0")
    );
}

#[tokio::test]
async fn a_stamp_from_the_far_future_is_refused_and_re_pushes_still_win() {
    let (_dir, state) = state_with(Vec::new()).await;
    let forwarded = |stamp: String| {
        Request::builder()
            .method(Method::PUT)
            .uri("/tags/team%2Fapp/v1")
            .header(api::REPLICATED_FROM, "127.0.0.1:9")
            .header(api::UPDATED_AT, stamp)
    };
    let forged = send(&state, forwarded(i64::MAX.to_string()), D1).await;
    assert_eq!(
        (forged.status, forged.code()),
        (StatusCode::BAD_REQUEST, "TAG_INVALID".into())
    );
    assert!(forged.text().contains("ahead of this replica's clock"));
    let hours_ahead = crate::clock::Clock::System.now().0 + 2 * 3600 * 1000;
    let ahead = send(&state, forwarded(hours_ahead.to_string()), D1).await;
    assert_eq!(ahead.status, StatusCode::BAD_REQUEST);

    let minute_ahead = crate::clock::Clock::System.now().0 + 60_000;
    let skewed = send(&state, forwarded(minute_ahead.to_string()), D1).await;
    assert_eq!(
        skewed.status,
        StatusCode::CREATED,
        "ordinary skew is accepted"
    );
    assert_eq!(
        call(&state, Method::PUT, "/tags/team%2Fapp/v1", D2)
            .await
            .status,
        StatusCode::OK
    );
    let now = call(&state, Method::GET, "/tags/team%2Fapp/v1", "").await;
    assert_eq!(
        now.text(),
        D2,
        "a client re-push beats a skewed replica stamp"
    );
}

#[tokio::test]
async fn with_a_token_tag_puts_need_it_and_reads_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = BuildIndexConfig {
        database: dir.path().join("tags.db"),
        advertise: "127.0.0.1:1".to_owned(),
        auth: starling_config::AuthConfig::with_token("0123456789abcdef-cluster"),
        ..BuildIndexConfig::default()
    };
    let state = Arc::new(BuildIndexState::open(&cfg).await.unwrap());
    let uri = "/tags/team%2Fapp/v1";
    let anonymous = call(&state, Method::PUT, uri, D1).await;
    assert_eq!(
        (anonymous.status, anonymous.code()),
        (StatusCode::UNAUTHORIZED, "UNAUTHORIZED".into())
    );
    assert!(anonymous.headers.contains_key(header::WWW_AUTHENTICATE));
    let forged_forward = Request::builder()
        .method(Method::PUT)
        .uri(uri)
        .header(api::REPLICATED_FROM, "127.0.0.1:9")
        .header(api::UPDATED_AT, "1000");
    assert_eq!(
        send(&state, forged_forward, D1).await.status,
        StatusCode::UNAUTHORIZED,
        "a replica's forward needs the token too"
    );
    let authorized = Request::builder()
        .method(Method::PUT)
        .uri(uri)
        .header(header::AUTHORIZATION, "Bearer 0123456789abcdef-cluster");
    assert_eq!(
        send(&state, authorized, D1).await.status,
        StatusCode::CREATED
    );
    let read = call(&state, Method::GET, uri, "").await;
    assert_eq!((read.status, read.text()), (StatusCode::OK, D1));
}
