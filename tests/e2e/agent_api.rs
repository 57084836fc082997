//! The agent's Registry v2 read API over HTTP: manifests and blobs pulled through the
//! swarm with the headers clients need, Range requests, listings, containerd's `?ns=`,
//! the allow-list, and the spec's error bodies for bad requests.

use reqwest::StatusCode;
use reqwest::header::{CONTENT_LENGTH, CONTENT_RANGE, CONTENT_TYPE};
use serde_json::Value;
use starling_core::Digest;
use starling_core::registry::media_type::OCI_MANIFEST;
use starling_testkit::pseudo_random;

use crate::support::{Cluster, other_loopback};

fn header<'a>(response: &'a reqwest::Response, name: &str) -> &'a str {
    response
        .headers()
        .get(name)
        .unwrap_or_else(|| panic!("{name} header"))
        .to_str()
        .unwrap()
}

/// The registry error code of an error response.
async fn error_code(response: reqwest::Response) -> String {
    let body: Value = response.json().await.expect("a JSON error body");
    body["errors"][0]["code"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn manifests_and_blobs_come_through_the_swarm() {
    let cluster = Cluster::start(2).await;
    let layer = pseudo_random(3 * 1024 * 1024 + 17, 7);
    let manifest = cluster.push_image("team/app", "1", &[&layer[..]]).await;
    let manifest_digest = Digest::of(&manifest);
    let layer_digest = Digest::of(&layer);
    let http = &cluster.http;

    let base = http.get(cluster.agent_url(0, "/v2/")).send().await.unwrap();
    assert_eq!(base.status(), StatusCode::OK);
    assert_eq!(
        header(&base, "docker-distribution-api-version"),
        "registry/2.0"
    );

    let head = http
        .head(cluster.agent_url(0, "/v2/team/app/manifests/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(header(&head, CONTENT_TYPE.as_str()), OCI_MANIFEST);
    assert_eq!(
        header(&head, "docker-content-digest"),
        manifest_digest.to_string()
    );
    assert_eq!(
        header(&head, CONTENT_LENGTH.as_str()),
        manifest.len().to_string()
    );

    let by_digest = format!("/v2/team/app/manifests/{manifest_digest}");
    let got = http
        .get(cluster.agent_url(0, &by_digest))
        .send()
        .await
        .unwrap();
    assert_eq!(got.status(), StatusCode::OK);
    assert_eq!(got.bytes().await.unwrap(), manifest);

    let blob_path = format!("/v2/team/app/blobs/{layer_digest}");
    let head = http
        .head(cluster.agent_url(1, &blob_path))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(
        header(&head, CONTENT_LENGTH.as_str()),
        layer.len().to_string()
    );
    for agent in [0, 1] {
        let got = http
            .get(cluster.agent_url(agent, &blob_path))
            .send()
            .await
            .unwrap();
        assert_eq!(got.status(), StatusCode::OK);
        assert_eq!(
            header(&got, "docker-content-digest"),
            layer_digest.to_string()
        );
        assert!(
            got.bytes().await.unwrap() == layer,
            "agent {agent} serves the layer"
        );
    }

    let ranged = http
        .get(cluster.agent_url(1, &blob_path))
        .header("range", "bytes=1000-1999")
        .send()
        .await
        .unwrap();
    assert_eq!(ranged.status(), StatusCode::PARTIAL_CONTENT);
    assert_eq!(
        header(&ranged, CONTENT_RANGE.as_str()),
        format!("bytes 1000-1999/{}", layer.len())
    );
    assert_eq!(ranged.bytes().await.unwrap(), layer[1000..2000]);
    let past_end = http
        .get(cluster.agent_url(1, &blob_path))
        .header("range", format!("bytes={}-", layer.len() + 5))
        .send()
        .await
        .unwrap();
    assert_eq!(past_end.status(), StatusCode::RANGE_NOT_SATISFIABLE);
    assert_eq!(error_code(past_end).await, "RANGE_INVALID");

    let tags: Value = http
        .get(cluster.agent_url(0, "/v2/team/app/tags/list"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(tags["tags"], serde_json::json!(["1"]));
    let catalog: Value = http
        .get(cluster.agent_url(0, "/v2/_catalog"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(catalog["repositories"], serde_json::json!(["team/app"]));

    let metrics = cluster.agent_metrics(1).await;
    assert!(
        metrics.contains("starling_agent_blobs_served_total 2"),
        "agent 1 counted its blob answers:\n{metrics}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn containerd_ns_maps_registries_to_namespaces() {
    let cluster = Cluster::start(1).await;
    cluster.push_image("team/app", "1", &[b"layer"]).await;
    let http = &cluster.http;
    let proxy = cluster.proxy();
    let own = format!("/v2/team/app/manifests/1?ns={proxy}");
    let response = http.get(cluster.agent_url(0, &own)).send().await.unwrap();
    assert_eq!(
        response.status(),
        StatusCode::OK,
        "this cluster's proxy as ?ns="
    );

    let other = "/v2/team/app/manifests/1?ns=docker.io";
    let response = http.get(cluster.agent_url(0, other)).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(error_code(response).await, "MANIFEST_UNKNOWN");

    let invalid = "/v2/team/app/manifests/1?ns=registry/path";
    let response = http
        .get(cluster.agent_url(0, invalid))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert_eq!(error_code(response).await, "NAME_INVALID");
    cluster.stop().await;
}

#[tokio::test]
async fn bad_requests_get_the_spec_error_codes() {
    let cluster = Cluster::start(1).await;
    let manifest = cluster.push_image("team/app", "1", &[b"a layer"]).await;
    let layer = Digest::of(b"a layer");
    let unknown = Digest::of(b"never pushed");
    let http = &cluster.http;
    let cases: Vec<(reqwest::Method, String, StatusCode, &str)> = vec![
        (
            reqwest::Method::GET,
            format!("/v2/team/app/blobs/{unknown}"),
            StatusCode::NOT_FOUND,
            "BLOB_UNKNOWN",
        ),
        (
            reqwest::Method::HEAD,
            format!("/v2/team/app/blobs/{unknown}"),
            StatusCode::NOT_FOUND,
            "",
        ),
        (
            reqwest::Method::GET,
            "/v2/team/app/manifests/2".into(),
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
        ),
        (
            reqwest::Method::GET,
            format!("/v2/team/app/manifests/{layer}"),
            StatusCode::NOT_FOUND,
            "MANIFEST_UNKNOWN",
        ),
        (
            reqwest::Method::GET,
            "/v2/Team/App/manifests/1".into(),
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            reqwest::Method::GET,
            "/v2/team//app/manifests/1".into(),
            StatusCode::BAD_REQUEST,
            "NAME_INVALID",
        ),
        (
            reqwest::Method::GET,
            "/v2/team/app/blobs/sha256:00".into(),
            StatusCode::BAD_REQUEST,
            "DIGEST_INVALID",
        ),
        (
            reqwest::Method::PUT,
            "/v2/team/app/manifests/1".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
        ),
        (
            reqwest::Method::POST,
            "/v2/team/app/blobs/uploads/".into(),
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
        ),
        (
            reqwest::Method::DELETE,
            format!("/v2/team/app/manifests/{}", Digest::of(&manifest)),
            StatusCode::METHOD_NOT_ALLOWED,
            "UNSUPPORTED",
        ),
    ];
    for (method, path, status, code) in cases {
        let response = http
            .request(method.clone(), cluster.agent_url(0, &path))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), status, "{method} {path}");
        if !code.is_empty() {
            assert_eq!(error_code(response).await, code, "{method} {path}");
        }
    }
    // The tag still resolves: nothing above changed anything.
    let ok = http
        .get(cluster.agent_url(0, "/v2/team/app/manifests/1"))
        .send()
        .await
        .unwrap();
    assert_eq!(ok.bytes().await.unwrap(), manifest);
    cluster.stop().await;
}

#[tokio::test]
async fn clients_outside_the_allow_list_are_denied() {
    let cluster = Cluster::start(1).await;
    let outsider = reqwest::Client::builder()
        .local_address(other_loopback().ip())
        .build()
        .unwrap();
    let response = outsider
        .get(cluster.agent_url(0, "/v2/"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FORBIDDEN);
    assert_eq!(error_code(response).await, "DENIED");
    let metrics = cluster.agent_metrics(0).await;
    assert!(
        metrics.contains("starling_agent_requests_denied_total 1"),
        "{metrics}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn a_re_pushed_tag_reaches_pullers_within_the_tag_cache_ttl() {
    let cluster = Cluster::start(1).await;
    let first = cluster.push_image("team/app", "1", &[b"first"]).await;
    let url = cluster.agent_url(0, "/v2/team/app/manifests/1");
    let digest_now = || {
        let request = cluster.http.head(&url).send();
        async move {
            let response = request.await.unwrap();
            header(&response, "docker-content-digest").to_owned()
        }
    };
    assert_eq!(digest_now().await, Digest::of(&first).to_string());
    let second = cluster.push_image("team/app", "1", &[b"second"]).await;
    let ttl = cluster.cluster.configs.agents[0].tag_cache_ttl;
    let expected = Digest::of(&second).to_string();
    let seen = starling_testkit::poll_until(ttl + std::time::Duration::from_secs(5), || {
        let now = digest_now();
        let expected = expected.clone();
        async move { now.await == expected }
    })
    .await;
    assert!(
        seen,
        "the new digest is served within tag_cache_ttl ({ttl:?}) of the push"
    );
    cluster.stop().await;
}
