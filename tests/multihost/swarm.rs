//! The path without faults: push through the proxy, pull through every agent at once,
//! and the agents traded pieces among themselves rather than each fetching the whole
//! image from the origins.

use futures::future::join_all;

use crate::cluster::Cluster;
use crate::configs::{Spec, agent_name};
use crate::pull::{TestImage, push, skopeo_pull};
use crate::suite::{Suite, counter};

const MIB: usize = 1024 * 1024;

#[tokio::test]
async fn an_image_pushed_through_the_proxy_is_pulled_through_every_agent_from_the_swarm() {
    let Some(suite) = Suite::start().await else {
        return;
    };
    let spec = Spec {
        replicas: 2,
        agents: 3,
        rate: "2MiB/s",
    };
    let cluster = Cluster::start(spec, suite.image).await;
    let image = TestImage::random(6 * MIB);
    push(&cluster, &image).await;

    let out = tempfile::tempdir().unwrap();
    let dirs: Vec<_> = (0..spec.agents)
        .map(|k| out.path().join(agent_name(k)))
        .collect();
    join_all(
        dirs.iter()
            .enumerate()
            .map(|(k, dir)| skopeo_pull(&cluster, k, &image, dir)),
    )
    .await;

    let mut from_agents = 0.0;
    for k in 0..spec.agents {
        let metrics = cluster.metrics(&agent_name(k)).await;
        let agents = counter(
            &metrics,
            "starling_p2p_downloaded_bytes_total",
            Some("agent"),
        );
        let origins = counter(
            &metrics,
            "starling_p2p_downloaded_bytes_total",
            Some("origin"),
        );
        eprintln!("agent-{k}: {agents} bytes from agents, {origins} from origins");
        from_agents += agents;
    }
    assert!(
        from_agents > 0.0,
        "no agent downloaded anything from another agent: the swarm did not form"
    );
}
