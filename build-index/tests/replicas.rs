//! Build-index replicas on loopback: a put reaches every replica, a replica that was down
//! receives it once it is back, and queued forwards survive a restart of the sender.

mod support;

use std::time::Duration;

use starling_clients::PageRequest;
use support::{Reserved, TestIndex, config, digest, repo, tag, wait_until};

const PATIENCE: Duration = Duration::from_secs(10);

async fn metrics(index: &TestIndex) -> String {
    reqwest::get(index.url("/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap()
}

async fn queued(index: &TestIndex) -> u64 {
    let text = metrics(index).await;
    let line = text
        .lines()
        .find(|l| l.starts_with("starling_build_index_replication_queue "))
        .unwrap_or_else(|| panic!("no queue gauge in\n{text}"));
    line.rsplit(' ').next().unwrap().parse().unwrap()
}

#[tokio::test]
async fn a_put_to_one_replica_is_read_from_the_other() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (ra, rb) = (Reserved::new(), Reserved::new());
    let (ha, hb) = (ra.host(), rb.host());
    let a = TestIndex::start_on(
        config(dirs[0].path(), &ha, std::slice::from_ref(&hb)),
        ra.listen(),
    );
    let b = TestIndex::start_on(
        config(dirs[1].path(), &hb, std::slice::from_ref(&ha)),
        rb.listen(),
    );
    let (app, v1) = (repo("team/app"), tag("v1"));

    a.client().put_tag(&app, &v1, &digest("one")).await.unwrap();
    // The forward completes before the put returns: no waiting needed.
    assert_eq!(
        b.client().get_tag(&app, &v1).await.unwrap(),
        Some(digest("one"))
    );

    b.client().put_tag(&app, &v1, &digest("two")).await.unwrap();
    b.client()
        .put_tag(&app, &tag("v2"), &digest("three"))
        .await
        .unwrap();
    for index in [&a, &b] {
        let client = index.client();
        assert_eq!(
            client.get_tag(&app, &v1).await.unwrap(),
            Some(digest("two"))
        );
        let tags = client
            .list_tags(&app, &PageRequest::default())
            .await
            .unwrap();
        assert_eq!(tags.items, [v1.clone(), tag("v2")]);
        assert_eq!(queued(index).await, 0);
    }
    let text = metrics(&a).await;
    assert!(
        text.contains(r#"starling_build_index_forwards_total{outcome="delivered"} 1"#),
        "{text}"
    );
    assert!(
        text.contains(r#"starling_build_index_puts_total{from="replica"} 2"#),
        "{text}"
    );
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn a_replica_that_was_down_receives_the_put_when_it_comes_back() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let (ra, rb) = (Reserved::new(), Reserved::new());
    let (ha, hb) = (ra.host(), rb.host());
    let a = TestIndex::start_on(
        config(dirs[0].path(), &ha, std::slice::from_ref(&hb)),
        ra.listen(),
    );
    let (app, v1) = (repo("team/app"), tag("v1"));

    a.client().put_tag(&app, &v1, &digest("one")).await.unwrap();
    a.client()
        .put_tag(&app, &v1, &digest("newer"))
        .await
        .unwrap();
    assert_eq!(
        queued(&a).await,
        1,
        "one queued forward per tag, holding the newest put"
    );

    let b = TestIndex::start_on(
        config(dirs[1].path(), &hb, std::slice::from_ref(&ha)),
        rb.listen(),
    );
    let client = b.client();
    let delivered = wait_until(PATIENCE, || async {
        client.get_tag(&app, &v1).await.unwrap() == Some(digest("newer"))
    })
    .await;
    assert!(delivered, "the queued forward reached the replica");
    assert!(wait_until(PATIENCE, || async { queued(&a).await == 0 }).await);
    a.stop().await;
    b.stop().await;
}

#[tokio::test]
async fn queued_forwards_survive_a_restart_of_the_sender() {
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let rb = Reserved::new();
    let hb = rb.host();
    let cfg_a = config(dirs[0].path(), "127.0.0.1:1", std::slice::from_ref(&hb));
    let a = TestIndex::start(cfg_a.clone()).await;
    let (app, v1) = (repo("a"), tag("v1"));
    a.client().put_tag(&app, &v1, &digest("one")).await.unwrap();
    assert_eq!(queued(&a).await, 1);
    a.stop().await;

    let b = TestIndex::start_on(config(dirs[1].path(), &hb, &[]), rb.listen());
    assert_eq!(b.client().get_tag(&app, &v1).await.unwrap(), None);
    let a = TestIndex::start(cfg_a).await;
    let client = b.client();
    let delivered = wait_until(PATIENCE, || async {
        client.get_tag(&app, &v1).await.unwrap() == Some(digest("one"))
    })
    .await;
    assert!(delivered, "the restarted sender retried its queued forward");
    a.stop().await;
    b.stop().await;
}
