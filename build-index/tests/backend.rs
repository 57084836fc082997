//! Write-through to a filesystem tag backend, read-through into an empty database, and
//! tags surviving a restart.

mod support;

use starling_clients::PageRequest;
use support::{TestIndex, config, digest, repo, tag, with_filesystem_backend};

#[tokio::test]
async fn puts_reach_the_backend_and_a_fresh_index_reads_them_back() {
    let backend = tempfile::tempdir().unwrap();
    let first_db = tempfile::tempdir().unwrap();
    let cfg = with_filesystem_backend(config(first_db.path(), "127.0.0.1:1", &[]), backend.path());
    let index = TestIndex::start(cfg).await;
    let (app, v1) = (repo("team/app"), tag("v1"));
    index
        .client()
        .put_tag(&app, &v1, &digest("manifest"))
        .await
        .unwrap();
    index.stop().await;

    let stored = backend.path().join("tags/team/app/_tags/v1");
    assert_eq!(
        std::fs::read_to_string(&stored).unwrap(),
        digest("manifest").to_string()
    );

    // Another build-index with an empty database and the same backend.
    let second_db = tempfile::tempdir().unwrap();
    let cfg = with_filesystem_backend(config(second_db.path(), "127.0.0.1:2", &[]), backend.path());
    let fresh = TestIndex::start(cfg).await;
    let client = fresh.client();
    assert_eq!(
        client.get_tag(&app, &v1).await.unwrap(),
        Some(digest("manifest"))
    );
    assert_eq!(client.get_tag(&app, &tag("v2")).await.unwrap(), None);
    let tags = client
        .list_tags(&app, &PageRequest::default())
        .await
        .unwrap();
    assert_eq!(
        tags.items,
        std::slice::from_ref(&v1),
        "listings include the backend's tags"
    );

    // The backend is gone; the copy read through a moment ago is still fresh.
    std::fs::remove_dir_all(backend.path().join("tags")).unwrap();
    assert_eq!(
        client.get_tag(&app, &v1).await.unwrap(),
        Some(digest("manifest"))
    );
    fresh.stop().await;
}

#[tokio::test]
async fn tags_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path(), "127.0.0.1:1", &[]);
    let index = TestIndex::start(cfg.clone()).await;
    let (app, v1) = (repo("a/b"), tag("v1"));
    index
        .client()
        .put_tag(&app, &v1, &digest("one"))
        .await
        .unwrap();
    index
        .client()
        .put_tag(&repo("c"), &v1, &digest("two"))
        .await
        .unwrap();
    index.stop().await;

    let restarted = TestIndex::start(cfg).await;
    let client = restarted.client();
    assert_eq!(
        client.get_tag(&app, &v1).await.unwrap(),
        Some(digest("one"))
    );
    let repos = client
        .list_repositories(&PageRequest::default())
        .await
        .unwrap();
    assert_eq!(repos.items, [app, repo("c")]);
    restarted.stop().await;
}
