//! Cross-cluster replication between two clusters on loopback, each one origin and one
//! build-index: a tag put on cluster A reaches B's build-index only after every blob
//! it needs is on B's origin; a B that is down at first gets it later, also across a
//! restart of A; repositories no remote matches stay in A; a tag that is no manifest
//! is given up.

mod support;

use std::time::Duration;

use support::clusters::{ClusterPlan, Format, Image, TestCluster, oci_index};
use support::{repo, tag};

const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `cluster`'s build-index serves `repo:tag`, and returns its digest.
async fn wait_for_tag(
    cluster: &TestCluster,
    repo: &starling_core::RepoName,
    tag: &starling_core::Tag,
) -> starling_core::Digest {
    let client = cluster.index.client();
    starling_testkit::wait_until("the tag on the remote build-index", PATIENCE, || async {
        client.get_tag(repo, tag).await.unwrap().is_some()
    })
    .await;
    let found = client.get_tag(repo, tag).await.unwrap();
    found.expect("a tag once put stays")
}

#[tokio::test]
async fn a_tag_reaches_the_remote_cluster_with_every_blob() {
    let b_plan = ClusterPlan::new();
    let remote = b_plan.as_remote("team/.*");
    let b = b_plan.start(Vec::new());
    let a = ClusterPlan::new().start(vec![remote]);
    let (app, v1) = (repo("team/app"), tag("v1"));
    let image = Image::new(Format::Docker, 1, 2);
    for blob in image.blobs() {
        a.upload(&app, blob).await;
    }

    a.index
        .client()
        .put_tag(&app, &v1, &image.manifest.digest)
        .await
        .unwrap();

    let digest = wait_for_tag(&b, &app, &v1).await;
    assert_eq!(digest, image.manifest.digest);
    for blob in image.blobs() {
        assert!(
            b.has_blob(&app, blob).await,
            "{} is on B's origin once the tag is on B's index",
            blob.digest
        );
    }
    let delivered = r#"starling_build_index_remote_tasks_total{outcome="delivered"}"#;
    assert_eq!(a.index_metric(delivered).await, 1.0);
    let copied = r#"starling_build_index_remote_blobs_total{result="copied"}"#;
    assert_eq!(
        a.index_metric(copied).await,
        4.0,
        "config, 2 layers, manifest"
    );
    assert_eq!(
        a.index_metric("starling_build_index_remote_queue").await,
        0.0
    );
    let from_remote = r#"starling_build_index_puts_total{from="remote"}"#;
    assert_eq!(b.index_metric(from_remote).await, 1.0);
    a.index.stop().await;
    b.index.stop().await;
}

#[tokio::test]
async fn the_tag_is_not_sent_before_every_blob_is_on_the_remote() {
    let b_plan = ClusterPlan::new();
    let remote = b_plan.as_remote("team/.*");
    let b = b_plan.start(Vec::new());
    let a = ClusterPlan::new().start(vec![remote]);
    let (app, v1) = (repo("team/app"), tag("v1"));
    let image = Image::new(Format::Oci, 2, 2);
    let late_layer = &image.layers[1];
    for blob in image.blobs() {
        if blob.digest != late_layer.digest {
            a.upload(&app, blob).await;
        }
    }

    a.index
        .client()
        .put_tag(&app, &v1, &image.manifest.digest)
        .await
        .unwrap();
    a.wait_for_a_failed_remote_attempt().await;

    // The attempt copied what precedes the missing layer, and stopped there.
    assert!(b.has_blob(&app, &image.config).await);
    assert!(b.has_blob(&app, &image.layers[0]).await);
    assert!(!b.has_blob(&app, late_layer).await);
    assert!(!b.has_blob(&app, &image.manifest).await);
    assert_eq!(
        b.index.client().get_tag(&app, &v1).await.unwrap(),
        None,
        "the tag must not reach B while one of its layers is missing there"
    );

    a.upload(&app, late_layer).await;
    assert_eq!(wait_for_tag(&b, &app, &v1).await, image.manifest.digest);
    for blob in image.blobs() {
        assert!(b.has_blob(&app, blob).await, "{} on B", blob.digest);
    }
    let present = r#"starling_build_index_remote_blobs_total{result="present"}"#;
    assert!(
        a.index_metric(present).await >= 2.0,
        "the retry skipped what the failed attempt had copied"
    );
    a.index.stop().await;
    b.index.stop().await;
}

#[tokio::test]
async fn a_remote_that_is_down_gets_the_tag_later_even_across_a_restart() {
    let b_plan = ClusterPlan::new();
    let remote = b_plan.as_remote("team/.*");
    let a = ClusterPlan::new().start(vec![remote]);
    let (app, v1) = (repo("team/multi"), tag("v1"));
    let amd64 = Image::new(Format::Oci, 3, 2);
    let shared_base = amd64.layers[0].clone();
    let fresh_layer = Image::new(Format::Oci, 4, 1).layers[0].clone();
    let arm64 = Image::with_layers(Format::Oci, 5, vec![shared_base, fresh_layer]);
    let index = oci_index(&[&amd64, &arm64]);
    let mut blobs = amd64.blobs();
    blobs.extend(arm64.blobs());
    blobs.push(&index);
    for blob in &blobs {
        a.upload(&app, blob).await;
    }

    a.index
        .client()
        .put_tag(&app, &v1, &index.digest)
        .await
        .unwrap();
    a.wait_for_a_failed_remote_attempt().await;
    let a = a.restart_index().await;
    let b = b_plan.start(Vec::new());

    assert_eq!(wait_for_tag(&b, &app, &v1).await, index.digest);
    for blob in &blobs {
        assert!(b.has_blob(&app, blob).await, "{} on B", blob.digest);
    }
    assert_eq!(
        a.index_metric("starling_build_index_remote_queue").await,
        0.0
    );
    a.index.stop().await;
    b.index.stop().await;
}

#[tokio::test]
async fn a_repository_no_remote_matches_stays_in_its_cluster() {
    let b_plan = ClusterPlan::new();
    let remote = b_plan.as_remote("team/.*");
    let b = b_plan.start(Vec::new());
    let a = ClusterPlan::new().start(vec![remote]);
    let (local_only, shared) = (repo("other/app"), repo("team/app"));
    let v1 = tag("v1");
    // Different images: origins store blobs by digest, whatever the repository.
    let (image, local_image) = (
        Image::new(Format::Docker, 6, 2),
        Image::new(Format::Docker, 7, 2),
    );
    for blob in image.blobs() {
        a.upload(&shared, blob).await;
    }
    for blob in local_image.blobs() {
        a.upload(&local_only, blob).await;
    }

    // The unmatched tag is put first: once the matched one has arrived, the other
    // would have been handled too.
    let client = a.index.client();
    client
        .put_tag(&local_only, &v1, &local_image.manifest.digest)
        .await
        .unwrap();
    client
        .put_tag(&shared, &v1, &image.manifest.digest)
        .await
        .unwrap();
    wait_for_tag(&b, &shared, &v1).await;

    assert_eq!(
        b.index.client().get_tag(&local_only, &v1).await.unwrap(),
        None
    );
    for blob in local_image.blobs() {
        assert!(
            !b.has_blob(&local_only, blob).await,
            "{} stayed in A",
            blob.digest
        );
    }
    let queued = r#"starling_build_index_remote_tasks_total{outcome="queued"}"#;
    assert_eq!(
        a.index_metric(queued).await,
        1.0,
        "only team/app was queued"
    );
    a.index.stop().await;
    b.index.stop().await;
}

#[tokio::test]
async fn a_tag_that_is_no_manifest_is_given_up_at_once() {
    let b_plan = ClusterPlan::new();
    let remote = b_plan.as_remote("team/.*");
    let b = b_plan.start(Vec::new());
    let a = ClusterPlan::new().start(vec![remote]);
    let (app, v1) = (repo("team/app"), tag("v1"));
    let layer = &Image::new(Format::Docker, 8, 1).layers[0];
    a.upload(&app, layer).await;

    a.index
        .client()
        .put_tag(&app, &v1, &layer.digest)
        .await
        .unwrap();

    let given_up = r#"starling_build_index_remote_tasks_total{outcome="given_up"}"#;
    starling_testkit::wait_until("the task to be given up", PATIENCE, || async {
        a.index_metric(given_up).await == 1.0
    })
    .await;
    let failed = r#"starling_build_index_remote_tasks_total{outcome="failed"}"#;
    assert_eq!(a.index_metric(failed).await, 0.0, "not retried");
    assert_eq!(
        a.index_metric("starling_build_index_remote_queue").await,
        0.0
    );
    assert_eq!(b.index.client().get_tag(&app, &v1).await.unwrap(), None);
    assert!(!b.has_blob(&app, layer).await);
    a.index.stop().await;
    b.index.stop().await;
}
