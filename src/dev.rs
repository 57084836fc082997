//! `starling dev`: the whole cluster on loopback, the first thing a new user runs.
//!
//! Starts a [`LocalCluster`] on the design ports (or from `--base-port`) with the
//! topology of a deployment, two origins with replicas 2 (`--origins N`: N origins,
//! each blob on min(2, N) of them), prints what runs where and how to push and pull,
//! and stops every component cleanly on Ctrl-C or SIGTERM (in-flight requests finish,
//! partial downloads are kept for the next start). `--tls` puts every HTTP listener and
//! client on HTTPS (mutual TLS between the cluster's services) with a CA and
//! certificates made under `<data dir>/tls/` at each start.

use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use starling_cluster::{ClusterSpec, DEFAULT_ORIGINS, LocalCluster, PortPlan};

#[derive(clap::Args)]
pub struct DevArgs {
    /// Directory that holds every component's data.
    #[arg(long, default_value = "./starling-data")]
    pub data_dir: PathBuf,
    /// Number of agents to start.
    #[arg(long, default_value_t = 2)]
    pub agents: usize,
    /// Number of origins on the ring; each blob is held by min(2, N) of them.
    #[arg(long, default_value_t = DEFAULT_ORIGINS, value_parser = origins_in_range)]
    pub origins: usize,
    /// Read blobs and tags through from this registry instead of the local filesystem.
    #[arg(long)]
    pub upstream_registry: Option<String>,
    /// The registry `--upstream-registry` mirrors (e.g. `docker.io`): only its images
    /// (`docker.io/library/alpine`) are read through, the rest stays local.
    #[arg(long, requires = "upstream_registry")]
    pub mirror_of: Option<String>,
    /// First port of the cluster: proxy on it, origin 0 (peer, HTTP), tracker and
    /// build-index on the next four, origin k on base+100k+1 and +2, agent k from
    /// base+1000(k+1).
    #[arg(long, default_value_t = 15000)]
    pub base_port: u16,
    /// HTTPS everywhere, mutual TLS between the services; a new CA and certificates
    /// under `<data dir>/tls/` at each start.
    #[arg(long)]
    pub tls: bool,
    /// Apache htpasswd file (bcrypt, `htpasswd -Bc FILE user`) whose users the proxy
    /// requires on pushes and listings.
    #[arg(long, value_name = "FILE")]
    pub htpasswd: Option<PathBuf>,
    /// A repository regex (repeatable) whose pulls through the agents need credentials
    /// the proxy accepts (`docker login <agent>`); needs --htpasswd.
    #[arg(long = "private", value_name = "PATTERN", requires = "htpasswd")]
    pub private: Vec<String>,
}

pub async fn run(args: DevArgs) -> Result<(), String> {
    let spec = ClusterSpec {
        upstream_registry: args.upstream_registry.clone(),
        upstream_mirror_of: args.mirror_of.clone(),
        tls: args.tls,
        proxy_htpasswd: args.htpasswd.clone(),
        private_repositories: args.private.clone(),
        ports: PortPlan::Fixed {
            base: args.base_port,
        },
        ..ClusterSpec::dev(&args.data_dir, args.agents).with_origins(args.origins)
    };
    // Before anything starts: a SIGTERM during start-up must stop the cluster, not
    // kill the process.
    let signal = starling_runtime::shutdown_on_signal();
    let mut cluster = LocalCluster::start(spec)
        .await
        .map_err(|e| format!("starling dev: {e}"))?;
    // The summary is for whoever started us; one that stopped reading (a closed pipe)
    // must not take the cluster down with a panic on a failed print.
    let _ = writeln!(std::io::stdout(), "{}", summary(&cluster, &args));
    let token = cluster.shutdown_token();
    tokio::spawn(async move {
        signal.cancelled().await;
        token.cancel();
    });
    let outcome = cluster.wait().await;
    eprintln!("starling dev: stopping");
    let stopped = cluster.stop().await;
    outcome
        .and(stopped)
        .map_err(|e| format!("starling dev: {e}"))
}

/// What runs where, and the commands to try.
fn summary(cluster: &LocalCluster, args: &DevArgs) -> String {
    let mut out = String::new();
    let storage = match (&args.upstream_registry, &args.mirror_of) {
        (Some(url), Some(mirrored)) => format!(
            "{mirrored} images read through from {url}, the rest under {}",
            args.data_dir.join("backend").display()
        ),
        (Some(url), None) => format!("read through from {url}"),
        (None, _) => format!(
            "filesystem under {}",
            args.data_dir.join("backend").display()
        ),
    };
    let (origins, replicas) = (
        cluster.origins.len(),
        cluster.configs.proxy.origins.replicas,
    );
    let plural = if origins == 1 { "" } else { "s" };
    let _ = writeln!(
        out,
        "Starling dev cluster ({origins} origin{plural}, each blob on {replicas}; {storage})"
    );
    let url = |addr| cluster.base_url(addr);
    let _ = writeln!(out, "  proxy        {}  (docker push)", url(cluster.proxy));
    for (k, origin) in cluster.configs.origins.iter().enumerate() {
        let _ = writeln!(
            out,
            "  origin {k:<5} {}  peer {}",
            url(origin.listen),
            origin.peer.listen
        );
    }
    let _ = writeln!(out, "  tracker      {}", url(cluster.tracker));
    let _ = writeln!(out, "  build-index  {}", url(cluster.build_index));
    let _ = writeln!(
        out,
        "  writes to origins and build-index need the token in {}",
        starling_cluster::token::token_path(&args.data_dir).display()
    );
    if let Some(tls) = cluster.client_tls() {
        let ca = tls.ca_file.unwrap_or_default();
        let cert = tls.cert_file.unwrap_or_default();
        let _ = writeln!(
            out,
            "  TLS: trust {}; origins, tracker and build-index need a client certificate ({})",
            ca.display(),
            cert.display()
        );
    }
    for (k, agent) in cluster.agents.iter().enumerate() {
        let _ = writeln!(
            out,
            "  agent {k:<6} {}  (docker pull)  peer {}  admin {}",
            url(agent.registry),
            agent.peer,
            url(agent.admin)
        );
    }
    if !args.private.is_empty() {
        let _ = writeln!(
            out,
            "  private repositories {} need `docker login <agent>` as a user of the proxy's htpasswd",
            args.private.join(", ")
        );
    }
    let proxy = cluster.proxy;
    let _ = writeln!(out, "\nPush an image:");
    let _ = writeln!(out, "  docker tag IMAGE {proxy}/team/app:1");
    let _ = writeln!(out, "  docker push {proxy}/team/app:1");
    if let Some(agent) = cluster.agents.first() {
        let registry = agent.registry;
        let _ = writeln!(out, "Pull it through agent 0:");
        let _ = writeln!(out, "  docker pull {registry}/team/app:1");
        let _ = writeln!(
            out,
            "  skopeo copy --src-tls-verify=false docker://{registry}/team/app:1 oci:app:1"
        );
    }
    let _ = writeln!(out, "Press Ctrl-C to stop.");
    out
}

/// `--origins`: at least one, and few enough to fit the port plan.
fn origins_in_range(value: &str) -> Result<usize, String> {
    let n: usize = value.parse().map_err(|e| format!("{e}"))?;
    if (1..=starling_cluster::MAX_FIXED_ORIGINS).contains(&n) {
        Ok(n)
    } else {
        Err(format!(
            "must be between 1 and {}",
            starling_cluster::MAX_FIXED_ORIGINS
        ))
    }
}
