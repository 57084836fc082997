//! `starling bench swarm`: N agents, each capped at R in and out, with every origin
//! capped at R out, pull one blob of F bytes at once. The cluster has the topology of a
//! deployment (`--origins`, default two with replicas 2): every owner of the blob seeds
//! it, so the bound counts their upload capacity together. Each agent's time runs from
//! the common start until its HTTP body is fully read and hashes to the blob's digest;
//! the report compares the percentiles with the Kumar–Ross bound and the origins' peer
//! egress (summed) with F. `--origin-rate` gives the origins a cap of their own, to tell
//! the origins' share of a slow run from the agents'.

use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use starling_cluster::LocalCluster;
use tokio::task::JoinSet;
use tokio::time::Instant;

use crate::bench::args::SwarmArgs;
use crate::bench::blob::{BenchBlob, put_random_blob};
use crate::bench::cpu;
use crate::bench::origin_egress::origins_sent_bytes;
use crate::bench::progress::{self, Progress};
use crate::bench::report::{
    Capacities, SwarmFigures, SwarmReport, json_line, kumar_ross_bound, percentile,
};
use crate::bench::setup::{self, DataDir, Rates};
use crate::bench::workers::{PullTarget, PullTimes, timed_pull};

const NAMESPACE: &str = "bench/swarm";
/// How long the blob's first owner may take to copy it to the others (uncapped: the
/// origins copy over HTTP, not through their capped peer ports).
const COPY_TIMEOUT: Duration = Duration::from_secs(600);

pub async fn run(args: SwarmArgs) -> anyhow::Result<()> {
    ensure!(args.size.as_u64() > 0, "--size must be at least 1B");
    ensure!(args.rate.as_u64() > 0, "--rate must be at least 1B/s");
    let origin_rate = args.origin_rate.unwrap_or(args.rate);
    ensure!(
        origin_rate.as_u64() > 0,
        "--origin-rate must be at least 1B/s"
    );
    let open_files = setup::raise_open_files_limit().context("raising the open-files limit")?;
    let dir = DataDir::new(&args.data)?;
    let progress = Progress::new();
    progress.note(&format!(
        "starting a cluster of {} agents capped at {} and {} origins (replicas {}) capped \
         at {origin_rate} under {} (open files: {open_files})",
        args.agents,
        args.rate,
        args.topology.origins,
        args.topology.replicas(),
        dir.path().display()
    ));
    let rates = Rates {
        agent: Some(args.rate),
        origin: Some(origin_rate),
    };
    let agents = args.agents as usize;
    let cluster = setup::start_cluster(dir.path(), agents, args.topology, rates).await?;
    let measured = measure(&cluster, &args, &progress, &dir).await;
    let stopped = cluster.stop().await.context("stopping the cluster");
    let report = measured?;
    stopped?;
    progress.note(&format!(
        "bound {:.2}s, p50 {:.2}s ({:.3}x), p99 {:.2}s ({:.3}x), origin sent {:.3}x the blob",
        report.bound_s,
        report.p50_s,
        report.p50_over_bound,
        report.p99_s,
        report.p99_over_bound,
        report.origin_egress_ratio
    ));
    println!("{}", json_line(&report));
    Ok(())
}

async fn measure(
    cluster: &LocalCluster,
    args: &SwarmArgs,
    progress: &Progress,
    dir: &DataDir,
) -> anyhow::Result<SwarmReport> {
    let size = args.size.as_u64();
    let rate = args.rate.as_u64() as f64;
    let origin_rate = args.origin_rate.unwrap_or(args.rate).as_u64() as f64;
    let ring = &cluster.configs.proxy.origins;
    let blob = put_random_blob(
        ring,
        &cluster.token,
        NAMESPACE,
        size,
        dir.path(),
        COPY_TIMEOUT,
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
    let caps = Capacities {
        origin_up: origin_rate * blob.owners.len() as f64,
        agent_down: rate,
        agent_up: rate,
    };
    let bound = kumar_ross_bound(size, args.agents, caps);
    let timeout = args.timeout.unwrap_or(bound * 10 + Duration::from_secs(60));

    let http = starling_runtime::default_http_client();
    let sent_before = origins_sent_bytes(&http, &cluster.origins).await?;
    let (cpu_before, wall_start) = (cpu::process_cpu_time()?, Instant::now());
    let times = tokio::time::timeout(timeout, pull_everywhere(cluster, &blob, progress))
        .await
        .map_err(|_| anyhow!("not every agent finished within {timeout:?}"))??;
    let cpu = cpu::process_cpu_time()?.saturating_sub(cpu_before);
    note_costs(progress, cpu, wall_start.elapsed(), &times);
    let delivered = size * u64::from(args.agents);
    progress.note(&format!(
        "CPU per byte delivered to an agent: {:.2} ns",
        cpu.as_secs_f64() * 1e9 / delivered.max(1) as f64
    ));
    let sent_after = origins_sent_bytes(&http, &cluster.origins).await?;

    let figures = SwarmFigures {
        agents: args.agents,
        origins: cluster.origins.len(),
        replicas: blob.owners.len(),
        size,
        rate: args.rate.as_u64(),
        bound,
        pull_times: times.iter().map(|t| t.done).collect(),
        origin_sent_bytes: sent_after.saturating_sub(sent_before),
    };
    SwarmReport::new(&figures).context("no pull finished")
}

/// Says how busy the CPU was (the figures mean little when it was the limit) and when
/// the first bytes arrived (how well the swarm streams).
fn note_costs(progress: &Progress, cpu: Duration, wall: Duration, times: &[PullTimes]) {
    let first_bytes: Vec<Duration> = times.iter().map(|t| t.first_byte).collect();
    let first = |p| {
        percentile(&first_bytes, p)
            .unwrap_or_default()
            .as_secs_f64()
    };
    progress.note(&format!(
        "the pulls kept {:.2} cores busy on average ({} available); first bytes after \
         {:.2}s (p50) to {:.2}s (max)",
        cpu::cores_busy(cpu, wall),
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        first(50.0),
        first(100.0),
    ));
}

/// Starts one pull per agent at the same instant; returns each agent's times.
async fn pull_everywhere(
    cluster: &LocalCluster,
    blob: &BenchBlob,
    progress: &Progress,
) -> anyhow::Result<Vec<PullTimes>> {
    let http = starling_runtime::default_http_client();
    let pulls: Vec<_> = cluster
        .agents
        .iter()
        .enumerate()
        .map(|(k, agent)| {
            let target = PullTarget {
                url: format!(
                    "http://{}/v2/{}/blobs/{}",
                    agent.registry, blob.namespace, blob.digest
                ),
                digest: blob.digest,
                size: blob.size,
            };
            (k, target, progress.bar(&format!("agent {k}"), blob.size))
        })
        .collect();
    let start = Instant::now();
    let mut running = JoinSet::new();
    for (k, target, bar) in pulls {
        let http = http.clone();
        running.spawn(async move {
            let outcome = timed_pull(&http, &target, start, |n| bar.inc(n)).await;
            match &outcome {
                Ok(times) => progress::finish(&bar, times.done),
                Err(error) => progress::abandon(&bar, error),
            }
            outcome.with_context(|| format!("agent {k}"))
        });
    }
    let mut times = Vec::with_capacity(cluster.agents.len());
    while let Some(joined) = running.join_next().await {
        times.push(joined.context("a pull task panicked")??);
    }
    Ok(times)
}
