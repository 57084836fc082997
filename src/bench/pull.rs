//! `starling bench pull`: one cold pull of a blob through an agent against a direct
//! download of the same blob from an origin (`GET /namespace/{ns}/blobs/{digest}`),
//! both uncapped on loopback and both hashed by the client as they arrive. The cluster
//! has the topology of a deployment (`--origins`, default two with replicas 2), so the
//! lone agent finds every owner of the blob seeding it.
//!
//! The direct download, from the blob's first owner, runs first. The blob was just uploaded, so both read the origin's
//! copy from the page cache; the agent starts with an empty cache and gets every piece
//! through the peer wire, verifying SHA-1 per piece and sha256 over the blob as it
//! commits. The agent runs as a child process so its peak resident set and its CPU time
//! (getrusage of the reaped child) can be read apart from the origins' and the client's;
//! `--block-size` and `--pipeline-depth` change its block requests, to tell per-block
//! costs from per-byte ones.

use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use starling_cluster::LocalCluster;
use tokio::time::Instant;

use crate::bench::agent_process::AgentProcess;
use crate::bench::args::PullArgs;
use crate::bench::blob::{BenchBlob, put_random_blob};
use crate::bench::cpu;
use crate::bench::progress::{self, Progress};
use crate::bench::report::{PullFigures, PullReport, json_line};
use crate::bench::setup::{self, DataDir, Rates};
use crate::bench::workers::{PullTarget, PullTimes, timed_pull};

const NAMESPACE: &str = "bench/pull";

pub async fn run(args: PullArgs) -> anyhow::Result<()> {
    ensure!(args.size.as_u64() > 0, "--size must be at least 1B");
    let dir = DataDir::new(&args.data)?;
    let progress = Progress::new();
    progress.note(&format!(
        "starting a cluster of {} origins (replicas {}) without agents under {}",
        args.topology.origins,
        args.topology.replicas(),
        dir.path().display()
    ));
    let cluster = setup::start_cluster(dir.path(), 0, args.topology, Rates::default()).await?;
    let measured = measure(&cluster, &args, &progress, &dir).await;
    let stopped = cluster.stop().await.context("stopping the cluster");
    let report = measured?;
    stopped?;
    progress.note(&format!(
        "agent {:.3}s, direct {:.3}s ({:.3}x), first byte after {:.1} ms, agent peak RSS {:.1} MiB",
        report.agent_s, report.direct_s, report.ratio, report.ttfb_ms, report.agent_peak_rss_mib
    ));
    progress.note(&format!(
        "CPU per GiB: direct {:.3}s, through the agent {:.3}s ({:.3}s in the agent process)",
        report.direct_cpu_s_per_gib,
        report.agent_pull_cpu_s_per_gib,
        report.agent_process_cpu_s_per_gib
    ));
    println!("{}", json_line(&report));
    Ok(())
}

async fn measure(
    cluster: &LocalCluster,
    args: &PullArgs,
    progress: &Progress,
    dir: &DataDir,
) -> anyhow::Result<PullReport> {
    let ring = &cluster.configs.proxy.origins;
    let size = args.size.as_u64();
    let blob = put_random_blob(
        ring,
        &cluster.token,
        NAMESPACE,
        size,
        dir.path(),
        args.timeout,
    )
    .await?;
    progress.note(&format!(
        "blob {} ({} bytes, {} pieces of {} bytes) is in the origins {}",
        blob.digest,
        blob.size,
        blob.piece_count,
        blob.piece_length,
        blob.owners.join(", ")
    ));
    let puller = Puller {
        http: starling_runtime::default_http_client(),
        progress,
        timeout: args.timeout,
    };
    let direct_url = format!(
        "http://{}{}",
        blob.owners[0],
        starling_clients::origin::paths::blob(&blob.namespace, &blob.digest)
    );
    let cpu_before_direct = cpu::process_cpu_time()?;
    let direct = puller.pull("direct", direct_url, &blob).await?;
    let direct_cpu = cpu::process_cpu_time()?.saturating_sub(cpu_before_direct);

    let any_port = SocketAddr::from(([127, 0, 0, 1], 0));
    let mut config = cluster.agent_config(0, [any_port; 3]);
    if let Some(block_size) = args.block_size {
        config.peer.block_size = block_size;
    }
    if let Some(depth) = args.pipeline_depth {
        config.peer.pipeline_depth = depth;
    }
    progress.note(&format!(
        "agent requests blocks of {} with {} in flight per peer (to standard clients; \
         see p2p connection/pipeline.rs for Starling peers)",
        config.peer.block_size, config.peer.pipeline_depth
    ));
    let children_cpu_before = cpu::reaped_children_cpu_time()?;
    let agent = AgentProcess::start(&config, &dir.path().join("agent")).await?;
    let agent_url = format!(
        "http://{}/v2/{}/blobs/{}",
        agent.registry, blob.namespace, blob.digest
    );
    let cpu_before_pull = cpu::process_cpu_time()?;
    let pulled = puller.pull("agent", agent_url, &blob).await;
    let cluster_cpu_during_agent_pull = cpu::process_cpu_time()?.saturating_sub(cpu_before_pull);
    let peak_rss = agent.peak_rss_bytes();
    let stopped = agent.stop().await;
    let through_agent = pulled?;
    let agent_peak_rss_bytes = peak_rss?;
    stopped?;
    // The agent is this process's only child, and `stop` has reaped it.
    let agent_process_cpu = cpu::reaped_children_cpu_time()?.saturating_sub(children_cpu_before);

    Ok(PullReport::new(&PullFigures {
        origins: cluster.origins.len(),
        replicas: blob.owners.len(),
        size: blob.size,
        agent: through_agent.done,
        direct: direct.done,
        agent_ttfb: through_agent.first_byte,
        agent_peak_rss_bytes,
        direct_cpu,
        cluster_cpu_during_agent_pull,
        agent_process_cpu,
    }))
}

/// Timed downloads that share a client, the progress bars and a time limit.
struct Puller<'a> {
    http: reqwest::Client,
    progress: &'a Progress,
    timeout: Duration,
}

impl Puller<'_> {
    /// One timed download of `blob` from `url`, with its own start.
    async fn pull(&self, label: &str, url: String, blob: &BenchBlob) -> anyhow::Result<PullTimes> {
        let target = PullTarget {
            url,
            digest: blob.digest,
            size: blob.size,
        };
        let bar = self.progress.bar(label, blob.size);
        let start = Instant::now();
        let outcome = tokio::time::timeout(
            self.timeout,
            timed_pull(&self.http, &target, start, |n| bar.inc(n)),
        )
        .await
        .map_err(|_| anyhow!("the {label} pull took longer than {:?}", self.timeout))
        .and_then(|pulled| pulled);
        match &outcome {
            Ok(times) => progress::finish(&bar, times.done),
            Err(error) => progress::abandon(&bar, error),
        }
        outcome.with_context(|| format!("{label} pull"))
    }
}
