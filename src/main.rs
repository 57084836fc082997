//! The `starling` command line: parse arguments, load configuration, start a component.
//!
//! Every component runs from this one binary as `starling <component> --config FILE`
//! (`--check` only validates the file); `starling dev` runs a whole cluster on loopback,
//! `starling bench` measures one, and `starling containerd-hosts` points a node's
//! containerd at its agent.

use std::path::PathBuf;
use std::process::ExitCode;

mod bench;
mod check;
mod containerd_hosts;
mod dev;
mod logging;

use clap::{Parser, Subcommand};
use starling_config::{
    AgentConfig, BuildIndexConfig, Component, OriginConfig, ProxyConfig, TrackerConfig,
};
use starling_runtime::shutdown_on_signal;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

#[derive(Parser)]
#[command(
    name = "starling",
    version,
    about = "Peer-to-peer container image distribution"
)]
struct Cli {
    /// Log format on stderr; default from STARLING_LOG_FORMAT, else text.
    #[arg(long, global = true, value_enum)]
    log_format: Option<logging::LogFormat>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Per-node agent: Registry v2 read API for docker/containerd, P2P download and seeding.
    Agent(ConfigArg),
    /// BitTorrent tracker: announces, peer hand-out, metainfo lookup.
    Tracker(ConfigArg),
    /// Blob store: uploads, read-through from the storage backend, metainfo, seeding.
    Origin(ConfigArg),
    /// Tag to digest index with cross-cluster replication.
    BuildIndex(ConfigArg),
    /// Registry v2 push and pull API for builders: blobs to origins, tags to build-index.
    Proxy(ConfigArg),
    /// A whole local cluster on loopback: proxy, origin, tracker, build-index and agents.
    Dev(dev::DevArgs),
    /// Measure a local cluster: swarm distribution against the bound, one pull's cost.
    Bench(bench::BenchArgs),
    /// Write containerd hosts.toml files that send a node's pulls through its agent.
    ContainerdHosts(containerd_hosts::HostsArgs),
}

#[derive(clap::Args)]
struct ConfigArg {
    /// Path to the component's YAML configuration.
    #[arg(long, short)]
    config: PathBuf,
    /// Load and validate the configuration, report, and exit without starting.
    #[arg(long)]
    check: bool,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = logging::resolve(cli.log_format, std::env::var(logging::FORMAT_ENV).ok());
    let outcome = match format {
        Ok(format) => {
            logging::init(format);
            // Before any component opens a socket: the soft limit (often 1024) is
            // far below what thousands of connections and uploads need.
            if serves(&cli.command) {
                let _ = starling_runtime::raise_fd_limit();
            }
            run(cli.command).await
        }
        Err(message) => Err(message),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

/// Whether `command` runs servers (and so needs the raised fd limit), not a check.
fn serves(command: &Command) -> bool {
    match command {
        Command::Agent(arg)
        | Command::Tracker(arg)
        | Command::Origin(arg)
        | Command::BuildIndex(arg)
        | Command::Proxy(arg) => !arg.check,
        Command::Dev(_) | Command::Bench(_) => true,
        Command::ContainerdHosts(_) => false,
    }
}

async fn run(command: Command) -> Result<(), String> {
    // Components register their signal handlers before they load or bind anything, so
    // a SIGTERM during start-up (Kubernetes sends one at any time) stops them cleanly.
    match command {
        Command::Agent(arg) if arg.check => check::run::<AgentConfig>(&arg.config),
        Command::Tracker(arg) if arg.check => check::run::<TrackerConfig>(&arg.config),
        Command::Origin(arg) if arg.check => check::run::<OriginConfig>(&arg.config),
        Command::BuildIndex(arg) if arg.check => check::run::<BuildIndexConfig>(&arg.config),
        Command::Proxy(arg) if arg.check => check::run::<ProxyConfig>(&arg.config),
        Command::Agent(arg) => run_agent(&arg, shutdown_on_signal()).await,
        Command::Tracker(arg) => run_tracker(&arg, shutdown_on_signal()).await,
        Command::Origin(arg) => run_origin(&arg, shutdown_on_signal()).await,
        Command::BuildIndex(arg) => run_build_index(&arg, shutdown_on_signal()).await,
        Command::Proxy(arg) => run_proxy(&arg, shutdown_on_signal()).await,
        Command::Dev(args) => dev::run(args).await,
        Command::Bench(args) => bench::run(args).await,
        Command::ContainerdHosts(args) => {
            containerd_hosts::run(&args).map_err(|e| format!("starling containerd-hosts: {e}"))
        }
    }
}

/// Loads a component's configuration, naming the component in the error.
fn load<T: Component>(arg: &ConfigArg) -> Result<T, String> {
    starling_config::load::<T>(&arg.config).map_err(|e| format!("starling {}: {e}", T::NAME))
}

/// Binds `addr`, naming the component and the address in the error.
async fn bind(component: &str, addr: std::net::SocketAddr) -> Result<TcpListener, String> {
    TcpListener::bind(addr)
        .await
        .map_err(|e| format!("starling {component}: cannot listen on {addr}: {e}"))
}

async fn run_agent(arg: &ConfigArg, shutdown: CancellationToken) -> Result<(), String> {
    let cfg: AgentConfig = load(arg)?;
    let listeners = starling_agent::AgentListeners::bind(&cfg)
        .await
        .map_err(|e| format!("starling agent: {e}"))?;
    starling_agent::run(cfg, listeners, shutdown)
        .await
        .map_err(|e| format!("starling agent: {e}"))
}

async fn run_tracker(arg: &ConfigArg, shutdown: CancellationToken) -> Result<(), String> {
    let cfg: TrackerConfig = load(arg)?;
    let listener = bind(TrackerConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "tracker listening");
    starling_tracker::run(cfg, listener, shutdown)
        .await
        .map_err(|e| format!("starling tracker: {e}"))
}

async fn run_origin(arg: &ConfigArg, shutdown: CancellationToken) -> Result<(), String> {
    let cfg: OriginConfig = load(arg)?;
    let listener = bind(OriginConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "origin listening");
    starling_origin::run(cfg, listener, shutdown)
        .await
        .map_err(|e| format!("starling origin: {e}"))
}

async fn run_build_index(arg: &ConfigArg, shutdown: CancellationToken) -> Result<(), String> {
    let cfg: BuildIndexConfig = load(arg)?;
    let listener = bind(BuildIndexConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "build-index listening");
    starling_build_index::run(cfg, listener, shutdown)
        .await
        .map_err(|e| format!("starling build-index: {e}"))
}

async fn run_proxy(arg: &ConfigArg, shutdown: CancellationToken) -> Result<(), String> {
    let cfg: ProxyConfig = load(arg)?;
    let listener = bind(ProxyConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "proxy listening");
    starling_proxy::run(cfg, listener, shutdown)
        .await
        .map_err(|e| format!("starling proxy: {e}"))
}
