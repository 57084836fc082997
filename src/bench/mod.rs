//! `starling bench`: measure a local cluster against the targets of design.md.
//!
//! - `swarm`: N rate-capped agents pull one blob at once; times against the Kumar–Ross
//!   bound and the origin's egress per blob ([`swarm`]);
//! - `pull`: one cold pull through an agent (in its own process, so its memory can be
//!   read) against a direct download from the origin ([`pull`]).
//!
//! Each prints progress bars on a terminal and, as its last line on stdout, one JSON
//! object with the figures, so scripts and tests read only that line. The pieces:
//! [`args`] (command line), [`setup`] (cluster, data dir, open-files limit), [`blob`]
//! (the random blob in the origin), [`workers`] (one timed, verified HTTP pull),
//! [`progress`] (bars), [`origin_egress`] (the origin's byte counters), [`cpu`] (cores
//! kept busy), [`agent_process`] (the pull bench's agent child) and [`report`] (bound,
//! percentiles, JSON lines).

mod agent_process;
mod args;
mod blob;
mod cpu;
mod origin_egress;
mod progress;
mod pull;
mod report;
mod setup;
mod swarm;
mod workers;

pub use args::BenchArgs;

use args::BenchKind;

/// Runs the chosen benchmark; the error names the benchmark and what failed.
pub async fn run(args: BenchArgs) -> Result<(), String> {
    match args.kind {
        BenchKind::Swarm(swarm_args) => swarm::run(swarm_args)
            .await
            .map_err(|e| format!("starling bench swarm: {e:#}")),
        BenchKind::Pull(pull_args) => pull::run(pull_args)
            .await
            .map_err(|e| format!("starling bench pull: {e:#}")),
    }
}
