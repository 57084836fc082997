//! Preheat on push, with real processes: the proxy's push notifications, the origins'
//! receiver of the distribution notification format (fed by the proxy and by Debian's
//! `docker-registry`), agents that preload pushed tags of the repositories they opted
//! into, and the agent's `POST /preload` endpoint.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use starling_cluster::ClusterSpec;
use starling_config::{PreheatConfig, RepositoryPattern};
use starling_core::Digest;
use starling_core::registry::media_type::{OCI_CONFIG, OCI_MANIFEST};
use starling_testkit::{DistributionRegistry, NotifyEndpoint, RegistryOptions, wait_until};

use crate::support::Cluster;

const WAIT: Duration = Duration::from_secs(30);

/// The value of an unlabelled counter in a Prometheus text page (0 if absent).
fn counter(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .find_map(|line| {
            line.strip_prefix(name)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0)
}

/// The sum over every series of `name` (any labels).
fn sum(metrics: &str, name: &str) -> u64 {
    metrics
        .lines()
        .filter(|line| line.starts_with(name))
        .filter_map(|line| line.rsplit(' ').next()?.parse::<f64>().ok())
        .sum::<f64>() as u64
}

async fn get_text(http: &reqwest::Client, url: String) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

async fn origin_metrics(cluster: &Cluster, k: usize) -> String {
    let url = format!(
        "{}/metrics",
        cluster.cluster.base_url(cluster.cluster.origins[k])
    );
    get_text(&cluster.http, url).await
}

fn preheat(patterns: &[&str]) -> PreheatConfig {
    PreheatConfig {
        repositories: patterns
            .iter()
            .map(|p| RepositoryPattern(starling_config::pattern::anchored(p).unwrap()))
            .collect(),
        poll_interval: Duration::from_millis(200),
        jitter: Duration::from_millis(300),
        ..PreheatConfig::default()
    }
}

fn layer(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

#[tokio::test]
async fn a_push_through_the_proxy_is_preloaded_by_agents_that_opted_in() {
    let cluster = Cluster::start_with(1, |spec| ClusterSpec {
        proxy_notifications: true,
        preheat: Some(preheat(&["team/.*"])),
        ..spec
    })
    .await;
    wait_until("the agent's first change-feed poll", WAIT, || async {
        counter(
            &cluster.agent_metrics(0).await,
            "starling_agent_preheat_polls_total",
        ) >= 1
    })
    .await;

    // A repository the agent did not opt into, then one it did.
    cluster
        .push_image("other/app", "1", &[&layer(1, 100_000)])
        .await;
    let wanted = layer(2, 3 * 1024 * 1024 + 17);
    cluster.push_image("team/app", "1", &[&wanted]).await;

    wait_until("the agent to preload team/app:1", WAIT, || async {
        counter(
            &cluster.agent_metrics(0).await,
            "starling_agent_preloads_completed_total",
        ) >= 1
    })
    .await;
    let metrics = cluster.agent_metrics(0).await;
    assert_eq!(
        counter(&metrics, "starling_agent_preloads_started_total"),
        1,
        "other/app is not preloaded:\n{metrics}"
    );
    assert_eq!(counter(&metrics, "starling_agent_preloads_failed_total"), 0);
    assert!(
        counter(&metrics, "starling_agent_preload_bytes_total") >= wanted.len() as u64,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "starling_agent_blobs_served_total"),
        0,
        "no client pulled"
    );

    // A later pull is served from the cache: no byte more comes from the swarm.
    let swarm_before = sum(&metrics, "starling_p2p_downloaded_bytes_total");
    assert!(swarm_before >= wanted.len() as u64, "{metrics}");
    let digest = Digest::of(&wanted);
    let pulled = cluster
        .http
        .get(cluster.agent_url(0, &format!("/v2/team/app/blobs/{digest}")))
        .send()
        .await
        .unwrap();
    assert_eq!(pulled.status(), StatusCode::OK);
    assert_eq!(pulled.bytes().await.unwrap().as_ref(), wanted.as_slice());
    let after = cluster.agent_metrics(0).await;
    assert_eq!(
        sum(&after, "starling_p2p_downloaded_bytes_total"),
        swarm_before,
        "the pull came from the cache:\n{after}"
    );

    // The proxy told origin 0 of both pushes; it had the owners warm their blobs.
    wait_until("origin 0 to take both push events", WAIT, || async {
        counter(
            &origin_metrics(&cluster, 0).await,
            "starling_origin_warm_blobs_total",
        ) >= 4
    })
    .await;
    let origin = origin_metrics(&cluster, 0).await;
    assert_eq!(
        counter(&origin, "starling_origin_notifications_received_total"),
        2,
        "{origin}"
    );
    assert_eq!(
        counter(&origin, "starling_origin_warm_failures_total"),
        0,
        "{origin}"
    );
    let proxy = get_text(
        &cluster.http,
        format!(
            "{}/metrics",
            cluster.cluster.base_url(cluster.cluster.proxy)
        ),
    )
    .await;
    assert_eq!(
        counter(&proxy, "starling_proxy_notifications_sent_total"),
        2,
        "{proxy}"
    );
    cluster.stop().await;
}

#[tokio::test]
async fn the_preload_endpoint_brings_an_image_into_the_cache_on_demand() {
    let cluster = Cluster::start(1).await;
    let wanted = layer(3, 2 * 1024 * 1024 + 5);
    let manifest = cluster.push_image("team/ondemand", "v1", &[&wanted]).await;
    let admin = cluster.cluster.base_url(cluster.cluster.agents[0].admin);
    let preload = |query: &str| cluster.http.post(format!("{admin}/preload?{query}")).send();

    let first = preload("repository=team/ondemand&tag=v1").await.unwrap();
    assert_eq!(first.status(), StatusCode::OK);
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["digest"], Digest::of(&manifest).to_string());
    assert_eq!(body["blobs"], 2, "config and layer: {body}");
    assert!(
        body["downloaded_bytes"].as_u64().unwrap() >= wanted.len() as u64,
        "{body}"
    );

    // Everything is cached now: by digest, nothing moves.
    let again = preload(&format!(
        "repository=team/ondemand&digest={}",
        Digest::of(&manifest)
    ))
    .await
    .unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    let body: Value = again.json().await.unwrap();
    assert_eq!(body["downloaded_bytes"], 0, "{body}");

    let unknown = preload("repository=team/ondemand&tag=nope").await.unwrap();
    assert_eq!(unknown.status(), StatusCode::NOT_FOUND);
    let neither = preload("repository=team/ondemand").await.unwrap();
    assert_eq!(neither.status(), StatusCode::BAD_REQUEST);

    let metrics = cluster.agent_metrics(0).await;
    assert_eq!(
        counter(&metrics, "starling_agent_preloads_started_total"),
        3,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "starling_agent_preloads_completed_total"),
        2,
        "{metrics}"
    );
    assert_eq!(
        counter(&metrics, "starling_agent_preloads_failed_total"),
        1,
        "{metrics}"
    );
    cluster.stop().await;
}

/// Pushes an OCI image of one layer to the registry at `base` (monolithic uploads).
async fn push_to_registry(
    http: &reqwest::Client,
    base: &str,
    repo: &str,
    tag: &str,
    layer: &[u8],
) -> Digest {
    let config =
        br#"{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}"#;
    for blob in [config.as_slice(), layer] {
        // distribution answers a POST with a digest by opening an upload (202), so the
        // bytes go in the PUT that closes it.
        let started = http
            .post(format!("{base}/v2/{repo}/blobs/uploads/"))
            .send()
            .await
            .unwrap();
        assert_eq!(started.status(), StatusCode::ACCEPTED, "upload start");
        let location = started.headers()["location"].to_str().unwrap().to_owned();
        let location = if location.starts_with('/') {
            format!("{base}{location}")
        } else {
            location
        };
        let separator = if location.contains('?') { '&' } else { '?' };
        let url = format!("{location}{separator}digest={}", Digest::of(blob));
        let response = http.put(url).body(blob.to_vec()).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::CREATED, "blob upload");
    }
    let manifest = serde_json::to_vec(&json!({
        "schemaVersion": 2,
        "mediaType": OCI_MANIFEST,
        "config": {"mediaType": OCI_CONFIG, "digest": Digest::of(config).to_string(), "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": Digest::of(layer).to_string(), "size": layer.len()}],
    }))
    .unwrap();
    let response = http
        .put(format!("{base}/v2/{repo}/manifests/{tag}"))
        .header("content-type", OCI_MANIFEST)
        .body(manifest.clone())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::CREATED, "manifest push");
    Digest::of(&manifest)
}

#[tokio::test]
async fn a_distribution_registry_notification_warms_the_origins_from_the_backend() {
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("storage");
    // The cluster reads through from `upstream`; `pushed` is a second instance on the
    // same storage, the one builders push to, which notifies origin 0.
    let upstream = DistributionRegistry::start_with(
        &dir.path().join("upstream"),
        RegistryOptions {
            storage: Some(storage.clone()),
            ..RegistryOptions::default()
        },
    )
    .await;
    let cluster = Cluster::start_with(1, |spec| ClusterSpec {
        upstream_registry: Some(upstream.url()),
        ..spec
    })
    .await;
    let receiver = format!(
        "{}/notifications",
        cluster.cluster.base_url(cluster.cluster.origins[0])
    );
    let pushed = DistributionRegistry::start_with(
        &dir.path().join("pushed"),
        RegistryOptions {
            storage: Some(storage),
            notify: Some(NotifyEndpoint {
                url: receiver.clone(),
                bearer: Some(cluster.cluster.token.as_str().to_owned()),
            }),
            ..RegistryOptions::default()
        },
    )
    .await;

    // Without the cluster token the receiver refuses.
    let anonymous = reqwest::Client::new()
        .post(&receiver)
        .body(r#"{"events":[]}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    let wanted = layer(4, 1024 * 1024 + 3);
    push_to_registry(&cluster.http, &pushed.url(), "team/built", "1", &wanted).await;

    // Manifest, config and layer are read through from the backend by their owners.
    let reads = || async {
        let mut total = 0;
        for k in 0..cluster.cluster.origins.len() {
            total += counter(
                &origin_metrics(&cluster, k).await,
                "starling_origin_backend_reads_total",
            );
        }
        total
    };
    wait_until("the owners to read the image through", WAIT, || async {
        reads().await >= 3
    })
    .await;
    let origin = origin_metrics(&cluster, 0).await;
    assert_eq!(
        counter(&origin, "starling_origin_warm_blobs_total"),
        2,
        "{origin}"
    );
    assert_eq!(
        counter(&origin, "starling_origin_warm_failures_total"),
        0,
        "{origin}"
    );
    cluster.stop().await;
}
