//! The benchmarks' command line. Sizes and rates are written as in the configuration
//! (`256MiB`, `8MiB/s`) and parsed by the config crate's unit types.

use std::path::PathBuf;
use std::time::Duration;

use clap::builder::TypedValueParser as _;
use starling_config::{ByteRate, ByteSize};

#[derive(clap::Args)]
pub struct BenchArgs {
    #[command(subcommand)]
    pub kind: BenchKind,
}

#[derive(clap::Subcommand)]
pub enum BenchKind {
    /// N agents capped at a rate pull one blob at once; compares with the Kumar–Ross bound.
    Swarm(SwarmArgs),
    /// One cold pull through an agent process against a direct download from the origin.
    Pull(PullArgs),
}

#[derive(clap::Args, Debug, Clone)]
pub struct SwarmArgs {
    /// Number of agents pulling at once.
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..))]
    pub agents: u32,
    /// Blob size, e.g. 256MiB.
    #[arg(long)]
    pub size: ByteSize,
    /// Ingress and egress cap of every agent, and egress cap of the origin, e.g. 8MiB/s.
    #[arg(long)]
    pub rate: ByteRate,
    /// Egress cap of the origin when it should differ from --rate (a diagnostic: with a
    /// faster origin the bound is set by the agents' links alone).
    #[arg(long)]
    pub origin_rate: Option<ByteRate>,
    /// Give up when a pull takes longer than this (default: ten times the bound plus 60s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub timeout: Option<Duration>,
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub data: DataDirArg,
}

#[derive(clap::Args, Debug, Clone)]
pub struct PullArgs {
    /// Blob size, e.g. 1GiB.
    #[arg(long)]
    pub size: ByteSize,
    /// Give up when a download takes longer than this.
    #[arg(long, value_parser = humantime::parse_duration, default_value = "10m")]
    pub timeout: Duration,
    /// The agent's block request size, when it should differ from its default (a
    /// diagnostic: per-block costs against bytes).
    #[arg(long)]
    pub block_size: Option<ByteSize>,
    /// The agent's block requests in flight per peer, when it should differ from its
    /// default (a diagnostic: latency against bytes in flight).
    #[arg(long)]
    pub pipeline_depth: Option<usize>,
    #[command(flatten)]
    pub topology: TopologyArg,
    #[command(flatten)]
    pub data: DataDirArg,
}

#[derive(clap::Args, Debug, Clone, Copy)]
pub struct TopologyArg {
    /// Origins on the ring, as in a deployment; each blob is held (and seeded) by
    /// min(2, N) of them.
    #[arg(long, default_value_t = starling_cluster::DEFAULT_ORIGINS,
          value_parser = clap::value_parser!(u32).range(1..).map(|n| n as usize))]
    pub origins: usize,
}

impl TopologyArg {
    /// Origins that hold each blob.
    pub fn replicas(self) -> usize {
        starling_cluster::default_replicas(self.origins)
    }
}

#[derive(clap::Args, Debug, Clone)]
pub struct DataDirArg {
    /// Directory for the cluster's data and the blob (default: a temporary directory,
    /// removed at the end). Every agent keeps a copy of the blob there.
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
}

#[cfg(test)]
mod tests {
    use clap::Parser;

    use super::*;

    #[derive(clap::Parser)]
    struct Cli {
        #[command(subcommand)]
        kind: BenchKind,
    }

    #[test]
    fn sizes_and_rates_take_units() {
        let cli = Cli::try_parse_from([
            "bench", "swarm", "--agents", "3", "--size", "4MiB", "--rate", "64MiB/s",
        ])
        .unwrap();
        let BenchKind::Swarm(args) = cli.kind else {
            panic!("swarm expected");
        };
        assert_eq!(args.agents, 3);
        assert_eq!(args.size, ByteSize::mib(4));
        assert_eq!(args.rate, ByteRate::mib_per_sec(64));
        assert_eq!(args.origin_rate, None);
        assert_eq!(args.timeout, None);
        assert_eq!(args.topology.origins, 2, "the topology of a deployment");
        assert_eq!(args.topology.replicas(), 2);
    }

    #[test]
    fn rejects_a_rate_without_per_second_and_zero_agents() {
        let no_unit = [
            "bench", "swarm", "--agents", "3", "--size", "4MiB", "--rate", "64MiB",
        ];
        assert!(Cli::try_parse_from(no_unit).is_err());
        let no_agents = [
            "bench", "swarm", "--agents", "0", "--size", "4MiB", "--rate", "1MiB/s",
        ];
        assert!(Cli::try_parse_from(no_agents).is_err());
    }

    #[test]
    fn pull_has_a_default_timeout() {
        let cli = Cli::try_parse_from(["bench", "pull", "--size", "1GiB"]).unwrap();
        let BenchKind::Pull(args) = cli.kind else {
            panic!("pull expected");
        };
        assert_eq!(args.size, ByteSize::gib(1));
        assert_eq!(args.timeout, Duration::from_secs(600));
        assert_eq!(args.topology.origins, 2);
    }

    #[test]
    fn one_origin_has_one_replica_and_none_is_refused() {
        let cli = Cli::try_parse_from(["bench", "pull", "--size", "1MiB", "--origins", "1"]);
        let BenchKind::Pull(args) = cli.unwrap().kind else {
            panic!("pull expected");
        };
        assert_eq!((args.topology.origins, args.topology.replicas()), (1, 1));
        let none = ["bench", "pull", "--size", "1MiB", "--origins", "0"];
        assert!(Cli::try_parse_from(none).is_err());
    }
}
