//! Three origins on a hash ring with two replicas: an upload to any origin lands on
//! every owner, reads through `OriginCluster` survive a dead origin, health checks mark
//! it down and bring it back, and copies to a dead owner are retried until it returns.

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use starling_clients::{ClientError, OriginCluster};
use starling_config::OriginConfig;
use starling_core::{DigestHasher, RepoName};
use starling_testkit::{
    BlobFixture, OriginFixture, loopback_listener, origin_config, restartable_listener, wait_until,
};
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

const WAIT: Duration = Duration::from_secs(20);

fn ns() -> RepoName {
    BlobFixture::namespace()
}

fn config(root: &Path, i: usize, addrs: &[SocketAddr]) -> OriginConfig {
    let mut cfg = origin_config(&root.join(format!("origin-{i}")), addrs[i], addrs);
    cfg.cluster.replicas = 2;
    cfg
}

/// A random blob whose owners satisfy `wanted`.
fn blob_where(cluster: &OriginCluster, wanted: impl Fn(&[String]) -> bool) -> BlobFixture {
    loop {
        let blob = BlobFixture::random(400_000);
        if wanted(&cluster.owners(&blob.digest)) {
            return blob;
        }
    }
}

async fn has_blob(origin: &OriginFixture, blob: &BlobFixture) -> bool {
    origin
        .client()
        .stat(&ns(), &blob.digest)
        .await
        .ok()
        .flatten()
        == Some(blob.len())
}

#[tokio::test]
async fn uploads_reach_every_owner_and_reads_survive_a_dead_origin() {
    let dir = tempfile::tempdir().unwrap();
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(restartable_listener().await);
    }
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.local_addr().unwrap()).collect();
    let mut origins: Vec<Option<OriginFixture>> = listeners
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            Some(OriginFixture::start_on(
                l,
                config(dir.path(), i, &addrs),
                None,
            ))
        })
        .collect();
    let hosts: Vec<String> = addrs.iter().map(ToString::to_string).collect();
    let cluster = OriginCluster::new(&config(dir.path(), 0, &addrs).cluster);
    let health = CancellationToken::new();
    let checks = cluster.start_health_checks(health.clone());

    // Uploaded to the one origin that does not own it: both owners get a copy.
    let blob = blob_where(&cluster, |owners| !owners.contains(&hosts[0]));
    let owners = cluster.owners(&blob.digest);
    let receiver = origins[0].as_ref().unwrap();
    receiver
        .client()
        .upload(&ns(), &blob.digest, blob.len(), blob.stream(64 * 1024))
        .await
        .unwrap();
    for owner in &owners {
        let i = hosts.iter().position(|h| h == owner).unwrap();
        let fixture = origins[i].as_ref().unwrap();
        wait_until("the copy on an owner", WAIT, || has_blob(fixture, &blob)).await;
        assert_eq!(
            fixture
                .metric("starling_origin_replicated_bytes_total")
                .await,
            0.0,
            "copies are not copied on"
        );
    }
    wait_until("the receiver's queue to drain", WAIT, || async {
        receiver
            .metric("starling_origin_replication_queue_depth")
            .await
            == 0.0
    })
    .await;
    assert_eq!(
        receiver
            .metric("starling_origin_replicated_bytes_total")
            .await,
        2.0 * blob.len() as f64
    );

    // Kill the primary owner: reads through the cluster still succeed.
    let primary = owners[0].clone();
    let dead = hosts.iter().position(|h| *h == primary).unwrap();
    origins[dead].take().unwrap().stop().await;
    let download = cluster.download(&ns(), &blob.digest).await.unwrap();
    let mut hasher = DigestHasher::new();
    let mut body = download.body;
    while let Some(chunk) = body.next().await {
        hasher.update(&chunk.unwrap());
    }
    assert_eq!(hasher.finish(), blob.digest);
    assert_eq!(
        cluster.stat(&ns(), &blob.digest).await.unwrap(),
        Some(blob.len())
    );
    assert_eq!(
        cluster
            .metainfo(&ns(), &blob.digest)
            .await
            .unwrap()
            .digest()
            .unwrap(),
        blob.digest
    );
    wait_until("the dead origin to be marked down", WAIT, || async {
        !cluster.is_up(&primary)
    })
    .await;
    assert_eq!(
        cluster.candidates(&blob.digest).last().unwrap().host(),
        primary,
        "down hosts go last"
    );

    // A blob the dead origin owns, uploaded to its live co-owner, waits for it.
    let pending = blob_where(&cluster, |o| {
        o.contains(&primary) && !o.contains(&hosts[(dead + 1) % 3])
    });
    let co_owner = cluster
        .owners(&pending.digest)
        .into_iter()
        .find(|h| *h != primary)
        .unwrap();
    let live = origins[hosts.iter().position(|h| *h == co_owner).unwrap()]
        .as_ref()
        .unwrap();
    live.client()
        .upload(
            &ns(),
            &pending.digest,
            pending.len(),
            pending.stream(64 * 1024),
        )
        .await
        .unwrap();
    wait_until("a failed copy attempt", WAIT, || async {
        live.metric("starling_origin_task_retries_total").await >= 1.0
    })
    .await;

    // Restart it where the ring expects it, on the same store.
    let listener = TcpListener::bind(addrs[dead]).await.unwrap();
    origins[dead] = Some(OriginFixture::start_on(
        listener,
        config(dir.path(), dead, &addrs),
        None,
    ));
    wait_until("the restarted origin to be marked up", WAIT, || async {
        cluster.is_up(&primary)
    })
    .await;
    let restarted = origins[dead].as_ref().unwrap();
    assert!(
        has_blob(restarted, &blob).await,
        "its store survived the restart"
    );
    wait_until("the retried copy to arrive", WAIT, || {
        has_blob(restarted, &pending)
    })
    .await;

    health.cancel();
    checks.await.unwrap();
    for fixture in origins.into_iter().flatten() {
        fixture.stop().await;
    }
}

#[tokio::test]
async fn cluster_uploads_fail_over_to_the_next_owner() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (loopback_listener().await, loopback_listener().await);
    let addrs = [a.local_addr().unwrap(), b.local_addr().unwrap()];
    let first = OriginFixture::start_on(a, config(dir.path(), 0, &addrs), None);
    let second = OriginFixture::start_on(b, config(dir.path(), 1, &addrs), None);
    let cluster = OriginCluster::new(&config(dir.path(), 0, &addrs).cluster);
    let blob = blob_where(&cluster, |owners| owners[0] == addrs[0].to_string());
    first.stop().await;

    let took = cluster
        .upload(&ns(), &blob.digest, blob.len(), || blob.stream(64 * 1024))
        .await
        .unwrap();
    assert_eq!(took, addrs[1].to_string());
    assert!(has_blob(&second, &blob).await);
    // "Not found" from the live owner is not conclusive while another owner is down.
    let missing = BlobFixture::random(10);
    let err = cluster.stat(&ns(), &missing.digest).await.unwrap_err();
    assert!(matches!(err, ClientError::AllFailed(_)), "{err}");
    let second_only = OriginCluster::new(&config(dir.path(), 0, &addrs[1..]).cluster);
    assert_eq!(
        second_only.stat(&ns(), &missing.digest).await.unwrap(),
        None
    );
    second.stop().await;
}
