//! The build-index on a real loopback socket, through `BuildIndexClient`,
//! `BuildIndexCluster` and raw HTTP: tags, paging, bad input, failover.

mod support;

use reqwest::StatusCode;
use serde_json::Value;
use starling_clients::{BuildIndexCluster, BuildIndexError as Error, PageRequest, PutOutcome};
use support::{Reserved, TestIndex, config, digest, repo, tag};

#[tokio::test]
async fn tags_are_put_read_and_listed_page_by_page() {
    let dir = tempfile::tempdir().unwrap();
    let index = TestIndex::start(config(dir.path(), "127.0.0.1:1", &[])).await;
    let client = index.client();
    let app = repo("team/app");

    let first = client
        .put_tag(&app, &tag("v1"), &digest("one"))
        .await
        .unwrap();
    let second = client
        .put_tag(&app, &tag("v1"), &digest("two"))
        .await
        .unwrap();
    assert_eq!((first, second), (PutOutcome::Created, PutOutcome::Updated));
    assert_eq!(
        client.get_tag(&app, &tag("v1")).await.unwrap(),
        Some(digest("two"))
    );
    assert_eq!(client.get_tag(&app, &tag("v9")).await.unwrap(), None);

    let http = reqwest::Client::new();
    let head = http
        .head(index.url("/tags/team%2Fapp/v1"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::OK);
    assert_eq!(head.headers()["content-length"], "71");
    assert!(head.bytes().await.unwrap().is_empty());
    let head = http
        .head(index.url("/tags/team%2Fapp/v9"))
        .send()
        .await
        .unwrap();
    assert_eq!(head.status(), StatusCode::NOT_FOUND);

    for name in ["v5", "v2", "v4", "v3"] {
        client
            .put_tag(&app, &tag(name), &digest(name))
            .await
            .unwrap();
    }
    let mut request = PageRequest::first(2);
    let mut seen = Vec::new();
    loop {
        let page = client.list_tags(&app, &request).await.unwrap();
        assert!(page.items.len() <= 2);
        seen.extend(page.items.iter().map(ToString::to_string));
        match page.next {
            Some(last) => request = PageRequest::after(2, last),
            None => break,
        }
    }
    assert_eq!(seen, ["v1", "v2", "v3", "v4", "v5"]);
    let none = client
        .list_tags(&repo("nobody"), &PageRequest::default())
        .await
        .unwrap();
    assert!(none.items.is_empty() && none.next.is_none());

    for name in ["a/b/c", "zeta"] {
        client
            .put_tag(&repo(name), &tag("latest"), &digest(name))
            .await
            .unwrap();
    }
    let mut request = PageRequest::first(1);
    let mut repos = Vec::new();
    loop {
        let page = client.list_repositories(&request).await.unwrap();
        repos.extend(page.items.iter().map(ToString::to_string));
        match page.next {
            Some(last) => request = PageRequest::after(1, last),
            None => break,
        }
    }
    assert_eq!(repos, ["a/b/c", "team/app", "zeta"]);
    index.stop().await;
}

#[tokio::test]
async fn bad_input_gets_the_registry_error_body_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let index = TestIndex::start(config(dir.path(), "127.0.0.1:1", &[])).await;
    let http = reqwest::Client::new();
    let good = digest("x").to_string();
    let cases = [
        ("/tags/Team%2Fapp/v1", good.as_str(), 400, "NAME_INVALID"),
        ("/tags/..%2F..%2Fetc/v1", good.as_str(), 400, "NAME_INVALID"),
        (
            "/tags/a%2F%2e%2e%2Fb/v1",
            good.as_str(),
            400,
            "NAME_INVALID",
        ),
        ("/tags/app/.v1", good.as_str(), 400, "TAG_INVALID"),
        ("/tags/app/v1", "sha256:1234", 400, "DIGEST_INVALID"),
        ("/tags/app/v1", "md5:abc", 400, "DIGEST_INVALID"),
        ("/tags/team/app/v1", good.as_str(), 404, "NAME_UNKNOWN"),
    ];
    for (path, body, status, code) in cases {
        let response = http
            .put(index.url(path))
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "{path}");
        assert_eq!(response.headers()["content-type"], "application/json");
        let json: Value = response.json().await.unwrap();
        assert_eq!(json["errors"][0]["code"], code, "{path}: {json}");
    }

    let unknown = http.get(index.url("/tags/app/v1")).send().await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let json: Value = unknown.json().await.unwrap();
    assert_eq!(json["errors"][0]["code"], "MANIFEST_UNKNOWN");

    let client = index.client();
    let repos = client
        .list_repositories(&PageRequest::default())
        .await
        .unwrap();
    assert!(
        repos.items.is_empty(),
        "no bad put left a trace: {:?}",
        repos.items
    );
    assert_eq!(
        client.get_tag(&repo("app"), &tag("v1")).await.unwrap(),
        None
    );
    index.stop().await;
}

#[tokio::test]
async fn the_cluster_client_tries_hosts_in_order() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    // Two independent build-indexes (no replication) and a host that is down.
    let a = TestIndex::start(config(dirs[0].path(), "127.0.0.1:1", &[])).await;
    let b = TestIndex::start(config(dirs[1].path(), "127.0.0.1:2", &[])).await;
    let down = Reserved::new();
    let (app, v1) = (repo("team/app"), tag("v1"));

    let cluster = BuildIndexCluster::new(&[down.host(), a.host(), b.host()]).unwrap();
    assert_eq!(
        cluster.put_tag(&app, &v1, &digest("one")).await.unwrap(),
        PutOutcome::Created
    );
    assert_eq!(
        a.client().get_tag(&app, &v1).await.unwrap(),
        Some(digest("one"))
    );
    assert_eq!(
        b.client().get_tag(&app, &v1).await.unwrap(),
        None,
        "only the first live host"
    );

    let reversed = BuildIndexCluster::new(&[down.host(), b.host(), a.host()]).unwrap();
    assert_eq!(
        reversed.get_tag(&app, &v1).await.unwrap(),
        Some(digest("one")),
        "a host that does not know the tag is not the final word"
    );
    assert_eq!(reversed.get_tag(&app, &tag("v2")).await.unwrap(), None);
    let listed = reversed
        .list_repositories(&PageRequest::default())
        .await
        .unwrap();
    assert!(
        listed.items.is_empty(),
        "b answers first, and b has nothing"
    );

    let all_down = BuildIndexCluster::new(&[down.host()]).unwrap();
    let err = all_down.get_tag(&app, &v1).await.unwrap_err();
    assert!(matches!(err, Error::Request { .. }), "{err}");
    assert!(matches!(BuildIndexCluster::new(&[]), Err(Error::NoHosts)));
    a.stop().await;
    b.stop().await;
}
