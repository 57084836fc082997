//! The `starling` command line: parse arguments, load configuration, start a component.
//!
//! Every component runs from this one binary as `starling <component> --config FILE`.
//! A component whose crate is not built yet says so and exits non-zero after checking its
//! configuration: nothing pretends to serve.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use starling_config::{
    AgentConfig, BuildIndexConfig, Component, OriginConfig, ProxyConfig, TrackerConfig,
};
use tokio::net::TcpListener;

#[derive(Parser)]
#[command(
    name = "starling",
    version,
    about = "Peer-to-peer container image distribution"
)]
struct Cli {
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
    Dev(DevArgs),
}

#[derive(clap::Args)]
struct ConfigArg {
    /// Path to the component's YAML configuration.
    #[arg(long, short)]
    config: PathBuf,
}

#[derive(clap::Args)]
struct DevArgs {
    /// Directory that holds every component's data.
    #[arg(long, default_value = "./starling-data")]
    data_dir: PathBuf,
    /// Number of agents to start.
    #[arg(long, default_value_t = 2)]
    agents: usize,
    /// Read blobs and tags through from this registry instead of the local filesystem.
    #[arg(long)]
    upstream_registry: Option<String>,
}

#[tokio::main]
async fn main() -> ExitCode {
    init_tracing();
    let cli = Cli::parse();
    let outcome = match cli.command {
        Command::Agent(arg) => not_built::<AgentConfig>(&arg, "issue #4/#5"),
        Command::Tracker(arg) => run_tracker(&arg).await,
        Command::Origin(arg) => run_origin(&arg).await,
        Command::BuildIndex(arg) => run_build_index(&arg).await,
        Command::Proxy(arg) => run_proxy(&arg).await,
        Command::Dev(_) => {
            Err("starling dev: the local cluster is not built yet (issue #6)".into())
        }
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
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

async fn run_tracker(arg: &ConfigArg) -> Result<(), String> {
    let cfg: TrackerConfig = load(arg)?;
    let listener = bind(TrackerConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "tracker listening");
    starling_tracker::run(cfg, listener, starling_runtime::shutdown_on_signal())
        .await
        .map_err(|e| format!("starling tracker: {e}"))
}

async fn run_origin(arg: &ConfigArg) -> Result<(), String> {
    let cfg: OriginConfig = load(arg)?;
    let listener = bind(OriginConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "origin listening");
    starling_origin::run(cfg, listener, starling_runtime::shutdown_on_signal())
        .await
        .map_err(|e| format!("starling origin: {e}"))
}

async fn run_build_index(arg: &ConfigArg) -> Result<(), String> {
    let cfg: BuildIndexConfig = load(arg)?;
    let listener = bind(BuildIndexConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "build-index listening");
    starling_build_index::run(cfg, listener, starling_runtime::shutdown_on_signal())
        .await
        .map_err(|e| format!("starling build-index: {e}"))
}

async fn run_proxy(arg: &ConfigArg) -> Result<(), String> {
    let cfg: ProxyConfig = load(arg)?;
    let listener = bind(ProxyConfig::NAME, cfg.listen).await?;
    tracing::info!(addr = %cfg.listen, "proxy listening");
    starling_proxy::run(cfg, listener, starling_runtime::shutdown_on_signal())
        .await
        .map_err(|e| format!("starling proxy: {e}"))
}

/// Checks the configuration, then reports that the component cannot run yet.
fn not_built<T: Component>(arg: &ConfigArg, issue: &str) -> Result<(), String> {
    load::<T>(arg)?;
    Err(format!(
        "starling {}: configuration is valid, but the component is not built yet ({issue})",
        T::NAME
    ))
}

fn init_tracing() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}
