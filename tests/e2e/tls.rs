//! A whole cluster on HTTPS (`ClusterSpec::tls`): two origins with replicas 2, tracker,
//! build-index, proxy and an agent, every HTTP listener on TLS and the internal
//! services on mutual TLS, with certificates made under the data directory. A blob
//! uploaded through the origin cluster client lands on both owners (replication over
//! mutual TLS); an image pushed through the proxy is pulled through the agent's HTTPS
//! registry port (tag from build-index, blobs through tracker and swarm). A client
//! without the cluster's certificate, or speaking plain HTTP, is refused by an origin.

use std::time::Duration;

use reqwest::StatusCode;
use starling_clients::origin::client::authorized_http;
use starling_clients::{OriginClient, OriginCluster};
use starling_config::ClientTlsConfig;
use starling_core::RepoName;
use starling_runtime::ClientTls;
use starling_testkit::{BlobFixture, wait_until};

use crate::support::Cluster;

#[tokio::test]
async fn an_all_https_cluster_replicates_pushes_and_pulls() {
    let cluster = Cluster::start_tls(1).await;
    let tls_config = cluster.cluster.client_tls().expect("a TLS cluster");
    let tls = ClientTls::from_config(&tls_config).unwrap();
    let origins_cfg = &cluster.cluster.configs.proxy.origins;
    let http = authorized_http(Some(&cluster.cluster.token), tls.as_ref());
    let origins = OriginCluster::with_http(origins_cfg, http.clone());

    // An upload through the origin cluster client reaches both owners.
    let namespace = RepoName::parse("team/tls").unwrap();
    let blob = BlobFixture::random(3 << 20);
    origins
        .upload(&namespace, &blob.digest, blob.len(), || {
            blob.stream(64 << 10)
        })
        .await
        .expect("upload over mutual TLS");
    for host in origins.owners(&blob.digest) {
        let owner = OriginClient::with_http(http.clone(), host.clone());
        wait_until(
            &format!("{host} holds the blob"),
            Duration::from_secs(20),
            || {
                let owner = owner.clone();
                let (namespace, digest) = (namespace.clone(), blob.digest);
                async move {
                    owner
                        .stat(&namespace, &digest)
                        .await
                        .ok()
                        .flatten()
                        .is_some()
                }
            },
        )
        .await;
    }

    // The agent serves it over HTTPS, fetched through tracker and swarm.
    let url = cluster.agent_url(0, &format!("/v2/team/tls/blobs/{}", blob.digest));
    let response = cluster.http.get(&url).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), blob.data);

    // A push through the proxy and a pull by tag through the agent.
    let layer = BlobFixture::random(1 << 20);
    let manifest = cluster.push_image("team/tls", "v1", &[&layer.data]).await;
    let url = cluster.agent_url(0, "/v2/team/tls/manifests/v1");
    let response = cluster
        .http
        .get(&url)
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.bytes().await.unwrap(), manifest);
    let url = cluster.agent_url(0, &format!("/v2/team/tls/blobs/{}", layer.digest));
    let pulled = cluster.http.get(&url).send().await.unwrap();
    assert_eq!(pulled.bytes().await.unwrap(), layer.data);

    // Origins take only the cluster's certificates, and only TLS.
    let origin = cluster.cluster.origins[0];
    let anonymous = ClientTlsConfig {
        cert_file: None,
        key_file: None,
        ..tls_config
    };
    let anonymous = ClientTls::from_config(&anonymous).unwrap();
    let no_certificate = authorized_http(None, anonymous.as_ref());
    let health = format!("https://{origin}/health");
    assert!(no_certificate.client().get(&health).send().await.is_err());
    assert!(
        http.client()
            .get(&health)
            .send()
            .await
            .unwrap()
            .status()
            .is_success()
    );
    let plain = starling_runtime::default_http_client();
    assert!(
        plain
            .get(format!("http://{origin}/health"))
            .send()
            .await
            .is_err()
    );

    cluster.stop().await;
}
