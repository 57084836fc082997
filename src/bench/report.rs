//! The figures the benchmarks print: the Kumar–Ross lower bound, nearest-rank
//! percentiles, and the one-line JSON reports. Pure functions, so the arithmetic is
//! tested without a cluster.

use std::time::Duration;

use serde::Serialize;

/// The link capacities the bound is computed from, in bytes per second.
#[derive(Debug, Clone, Copy)]
pub struct Capacities {
    /// The origin's upload rate.
    pub origin_up: f64,
    /// Each agent's download rate.
    pub agent_down: f64,
    /// Each agent's upload rate.
    pub agent_up: f64,
}

/// Kumar & Ross's lower bound on the time for `agents` peers to all receive `size`
/// bytes: `max(F/R_origin, F/R_down, N·F/(R_origin + N·R_up))`. The origin must send
/// every byte once, the slowest peer must receive every byte, and the swarm as a whole
/// must receive `N·F` bytes with at most `R_origin + N·R_up` of upload capacity.
pub fn kumar_ross_bound(size: u64, agents: u32, caps: Capacities) -> Duration {
    let f = size as f64;
    let n = f64::from(agents);
    let seconds = (f / caps.origin_up)
        .max(f / caps.agent_down)
        .max(n * f / (caps.origin_up + n * caps.agent_up));
    Duration::from_secs_f64(seconds)
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of `samples`: the smallest sample
/// with at least `p`% of the samples at or below it. With 10 samples p99 is the maximum.
/// `None` when there are no samples.
pub fn percentile(samples: &[Duration], p: f64) -> Option<Duration> {
    let mut sorted = samples.to_vec();
    sorted.sort_unstable();
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1).copied()
}

/// The last line of `starling bench swarm`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SwarmReport {
    pub agents: u32,
    /// Origins on the ring, and how many of them hold (and seed) the blob.
    pub origins: usize,
    pub replicas: usize,
    /// Blob size in bytes.
    pub size: u64,
    /// The cap of every agent (both directions) and of every origin, bytes per second.
    pub rate: u64,
    pub bound_s: f64,
    pub p50_s: f64,
    pub p99_s: f64,
    pub max_s: f64,
    pub p50_over_bound: f64,
    pub p99_over_bound: f64,
    /// Bytes the origins sent to peers (all of them together), divided by the blob size.
    pub origin_egress_ratio: f64,
}

/// What one swarm run measured.
#[derive(Debug, Clone)]
pub struct SwarmFigures {
    pub agents: u32,
    pub origins: usize,
    pub replicas: usize,
    pub size: u64,
    pub rate: u64,
    pub bound: Duration,
    /// Each agent's pull time from the common start.
    pub pull_times: Vec<Duration>,
    pub origin_sent_bytes: u64,
}

impl SwarmReport {
    /// `None` when there are no pull times.
    pub fn new(figures: &SwarmFigures) -> Option<Self> {
        let p50 = percentile(&figures.pull_times, 50.0)?.as_secs_f64();
        let p99 = percentile(&figures.pull_times, 99.0)?.as_secs_f64();
        let max = percentile(&figures.pull_times, 100.0)?.as_secs_f64();
        let bound = figures.bound.as_secs_f64();
        Some(Self {
            agents: figures.agents,
            origins: figures.origins,
            replicas: figures.replicas,
            size: figures.size,
            rate: figures.rate,
            bound_s: round(bound, 3),
            p50_s: round(p50, 3),
            p99_s: round(p99, 3),
            max_s: round(max, 3),
            p50_over_bound: round(p50 / bound, 3),
            p99_over_bound: round(p99 / bound, 3),
            origin_egress_ratio: round(figures.origin_sent_bytes as f64 / figures.size as f64, 3),
        })
    }
}

/// The last line of `starling bench pull`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PullReport {
    /// Origins on the ring, and how many of them hold (and seed) the blob.
    pub origins: usize,
    pub replicas: usize,
    pub size: u64,
    pub agent_s: f64,
    pub direct_s: f64,
    /// `agent_s / direct_s`.
    pub ratio: f64,
    /// Time to the first body byte of the agent pull.
    pub ttfb_ms: f64,
    /// The agent process's peak resident set (VmHWM), MiB.
    pub agent_peak_rss_mib: f64,
    /// CPU seconds per GiB (getrusage): the direct download (origins and client, this
    /// process); the agent pull as a whole (the agent process from start to stop, plus
    /// this process during the pull); and of that, the agent process alone.
    pub direct_cpu_s_per_gib: f64,
    pub agent_pull_cpu_s_per_gib: f64,
    pub agent_process_cpu_s_per_gib: f64,
}

/// What one pull run measured.
#[derive(Debug, Clone, Copy)]
pub struct PullFigures {
    pub origins: usize,
    pub replicas: usize,
    pub size: u64,
    pub agent: Duration,
    pub direct: Duration,
    pub agent_ttfb: Duration,
    pub agent_peak_rss_bytes: u64,
    /// CPU time of this process during the direct download and during the agent pull.
    pub direct_cpu: Duration,
    pub cluster_cpu_during_agent_pull: Duration,
    /// CPU time of the agent process, start to stop.
    pub agent_process_cpu: Duration,
}

impl PullReport {
    pub fn new(figures: &PullFigures) -> Self {
        let per_gib = |cpu| crate::bench::cpu::seconds_per_gib(cpu, figures.size);
        let agent = figures.agent.as_secs_f64();
        let direct = figures.direct.as_secs_f64();
        Self {
            origins: figures.origins,
            replicas: figures.replicas,
            size: figures.size,
            agent_s: round(agent, 3),
            direct_s: round(direct, 3),
            ratio: round(agent / direct, 3),
            ttfb_ms: round(figures.agent_ttfb.as_secs_f64() * 1000.0, 2),
            agent_peak_rss_mib: round(figures.agent_peak_rss_bytes as f64 / f64::from(1 << 20), 1),
            direct_cpu_s_per_gib: round(per_gib(figures.direct_cpu), 3),
            agent_pull_cpu_s_per_gib: round(
                per_gib(figures.agent_process_cpu + figures.cluster_cpu_during_agent_pull),
                3,
            ),
            agent_process_cpu_s_per_gib: round(per_gib(figures.agent_process_cpu), 3),
        }
    }
}

/// One JSON object on one line.
pub fn json_line(report: &impl Serialize) -> String {
    serde_json::to_string(report).expect("a report of numbers always serializes")
}

fn round(value: f64, decimals: i32) -> f64 {
    let scale = 10f64.powi(decimals);
    (value * scale).round() / scale
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: f64 = 1024.0 * 1024.0;

    fn secs(s: f64) -> Duration {
        Duration::from_secs_f64(s)
    }

    #[test]
    fn bound_with_equal_rates_is_one_blob_at_the_rate() {
        let caps = Capacities {
            origin_up: 8.0 * MIB,
            agent_down: 8.0 * MIB,
            agent_up: 8.0 * MIB,
        };
        for agents in [1, 10, 1000] {
            let bound = kumar_ross_bound(256 << 20, agents, caps);
            assert!(
                (bound.as_secs_f64() - 32.0).abs() < 1e-9,
                "{agents}: {bound:?}"
            );
        }
    }

    #[test]
    fn bound_takes_the_tightest_of_the_three_limits() {
        let size = 100 << 20;
        // A slow origin: it must send the blob once.
        let slow_origin = Capacities {
            origin_up: MIB,
            agent_down: 10.0 * MIB,
            agent_up: 10.0 * MIB,
        };
        assert_eq!(kumar_ross_bound(size, 5, slow_origin), secs(100.0));
        // Slow downloads: every agent must receive the blob.
        let slow_down = Capacities {
            origin_up: 10.0 * MIB,
            agent_down: 2.0 * MIB,
            agent_up: 10.0 * MIB,
        };
        assert_eq!(kumar_ross_bound(size, 5, slow_down), secs(50.0));
        // Agents that barely upload: 4 agents need 400 MiB in, 10 + 4·1 MiB/s out.
        let weak_uploads = Capacities {
            origin_up: 10.0 * MIB,
            agent_down: 100.0 * MIB,
            agent_up: MIB,
        };
        let bound = kumar_ross_bound(size, 4, weak_uploads).as_secs_f64();
        assert!((bound - 400.0 / 14.0).abs() < 1e-9, "{bound}");
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples: Vec<Duration> = (1..=10).rev().map(|s| secs(f64::from(s))).collect();
        assert_eq!(percentile(&samples, 50.0), Some(secs(5.0)));
        assert_eq!(percentile(&samples, 99.0), Some(secs(10.0)));
        assert_eq!(percentile(&samples, 100.0), Some(secs(10.0)));
        assert_eq!(percentile(&samples, 10.0), Some(secs(1.0)));
        let hundred: Vec<Duration> = (1..=100).map(|s| secs(f64::from(s))).collect();
        assert_eq!(percentile(&hundred, 99.0), Some(secs(99.0)));
        assert_eq!(percentile(&[secs(3.0)], 50.0), Some(secs(3.0)));
        assert_eq!(percentile(&[], 50.0), None);
    }

    #[test]
    fn swarm_json_line_has_the_keys_in_order() {
        let figures = SwarmFigures {
            agents: 3,
            origins: 2,
            replicas: 2,
            size: 4 << 20,
            rate: 1 << 20,
            bound: secs(4.0),
            pull_times: vec![secs(4.4), secs(4.2), secs(5.0)],
            origin_sent_bytes: 5 << 20,
        };
        let line = json_line(&SwarmReport::new(&figures).unwrap());
        assert_eq!(
            line,
            r#"{"agents":3,"origins":2,"replicas":2,"size":4194304,"rate":1048576,"bound_s":4.0,"p50_s":4.4,"p99_s":5.0,"max_s":5.0,"p50_over_bound":1.1,"p99_over_bound":1.25,"origin_egress_ratio":1.25}"#
        );
        let no_pulls = SwarmFigures {
            pull_times: Vec::new(),
            ..figures
        };
        assert!(SwarmReport::new(&no_pulls).is_none());
    }

    #[test]
    fn pull_json_line_has_the_keys_in_order() {
        let figures = PullFigures {
            origins: 2,
            replicas: 2,
            size: 1 << 30,
            agent: secs(2.2),
            direct: secs(2.0),
            agent_ttfb: Duration::from_micros(12_345),
            agent_peak_rss_bytes: 48 << 20,
            direct_cpu: secs(1.5),
            cluster_cpu_during_agent_pull: secs(1.25),
            agent_process_cpu: secs(2.0),
        };
        assert_eq!(
            json_line(&PullReport::new(&figures)),
            r#"{"origins":2,"replicas":2,"size":1073741824,"agent_s":2.2,"direct_s":2.0,"ratio":1.1,"ttfb_ms":12.35,"agent_peak_rss_mib":48.0,"direct_cpu_s_per_gib":1.5,"agent_pull_cpu_s_per_gib":3.25,"agent_process_cpu_s_per_gib":2.0}"#
        );
    }
}
