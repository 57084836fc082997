//! The OCI distribution spec's conformance checks (pull, push, content discovery,
//! content management), written against the spec because the upstream Go suite
//! (`opencontainers/distribution-spec/conformance`) cannot be built offline here.
//!
//! Every check is a named request sequence with its expected answers, run against the
//! proxy (the whole API) and an agent (the read API; writes must be refused the spec's
//! way). The test prints `passed/total` per category and fails listing every failed
//! check, so one run shows the whole picture rather than the first miss.

mod checks;
mod discovery;
mod management;
mod pull;
mod push;

use checks::Report;

use crate::support::Cluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_oci_distribution_spec_checks_pass_on_proxy_and_agent() {
    let cluster = Cluster::start(1).await;
    let proxy = cluster.cluster.base_url(cluster.cluster.proxy);
    let agent = cluster.cluster.base_url(cluster.cluster.agents[0].registry);
    let mut report = Report::default();

    let image = push::run(&mut report, &cluster.http, &proxy).await;
    pull::run(&mut report, "proxy", &cluster.http, &proxy, &image).await;
    pull::run(&mut report, "agent", &cluster.http, &agent, &image).await;
    discovery::run(&mut report, "proxy", &cluster.http, &proxy, &proxy, &image).await;
    discovery::run(&mut report, "agent", &cluster.http, &agent, &proxy, &image).await;
    management::run(&mut report, "proxy", &cluster.http, &proxy, &image).await;
    management::run(&mut report, "agent", &cluster.http, &agent, &image).await;

    println!("{}", report.summary());
    let failed = report.failures();
    assert!(failed.is_empty(), "failed checks:\n{}", failed.join("\n"));
    cluster.stop().await;
}
