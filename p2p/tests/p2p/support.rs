//! Test support: an in-process tracker, random blobs with their metainfo, engines on
//! loopback with their own stores, and `wait_until`.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use rand::RngExt;
use starling_config::tracker::TrackerConfig;
use starling_config::{ByteRate, ClusterConfig, HealthCheckConfig, P2pConfig};
use starling_core::metainfo::{MetaInfo, generate};
use starling_core::{Digest, DigestHasher, PieceLengthPolicy, RepoName};
use starling_p2p::{
    BlobStream, Engine, EngineParts, EngineSettings, InboundResolver, MemoryMetaInfo,
    MetaInfoSource,
};
use starling_runtime::MetricsRegistry;
use starling_store::{Store, StoreOptions};
use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Every wait in these tests gives up after this long.
pub const PATIENCE: Duration = Duration::from_secs(40);

/// Logs to the test output when `RUST_LOG` is set.
pub fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

/// A `starling_tracker` served in-process on a loopback listener.
pub struct TestTracker {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<starling_tracker::Result<()>>,
}

impl TestTracker {
    pub async fn start() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        Self::start_on(listener)
    }

    /// Serves on an already bound listener, so a restarted tracker keeps its address.
    pub fn start_on(listener: std::net::TcpListener) -> Self {
        Self::serve(listener, ClusterConfig::default())
    }

    /// A tracker asking `origins` (`host:port`, probed every 100 ms) for metainfo and
    /// handing them out as seeders.
    pub fn with_origins(origins: &[String]) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut cluster = ClusterConfig::with_hosts(origins.iter().cloned());
        cluster.replicas = origins.len().max(1);
        cluster.health_check = HealthCheckConfig {
            interval: Duration::from_millis(100),
            timeout: Duration::from_millis(100),
            fails: 2,
            passes: 2,
        };
        Self::serve(listener, cluster)
    }

    fn serve(listener: std::net::TcpListener, origins: ClusterConfig) -> Self {
        listener.set_nonblocking(true).unwrap();
        let listener = TcpListener::from_std(listener).unwrap();
        let addr = listener.local_addr().unwrap();
        let cfg = TrackerConfig {
            announce_interval: Duration::from_secs(1),
            peer_ttl: Duration::from_secs(10),
            announce_limit: 50,
            advertise: addr.to_string(),
            origins,
            ..TrackerConfig::default()
        };
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(starling_tracker::run(cfg, listener, shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the tracker stops")
            .expect("the tracker does not panic")
            .expect("the tracker ends cleanly");
    }
}

/// Random bytes with their digest and metainfo (default piece length policy).
pub struct Blob {
    pub data: Vec<u8>,
    pub digest: Digest,
    pub meta: MetaInfo,
}

impl Blob {
    pub async fn random(len: usize) -> Self {
        let mut data = vec![0u8; len];
        rand::rng().fill(&mut data[..]);
        let (meta, digest) = generate(&data[..], len as u64, &PieceLengthPolicy::default())
            .await
            .unwrap();
        Self { data, digest, meta }
    }

    pub fn piece_len(&self) -> u64 {
        self.meta.info().piece_length()
    }
}

/// Settings for test engines: short timers, everything else default.
pub fn settings(origin: bool) -> EngineSettings {
    let mut p2p = P2pConfig::with_listen("127.0.0.1:0".parse().unwrap());
    p2p.announce_interval = Duration::from_secs(1);
    p2p.request_timeout = Duration::from_secs(3);
    let mut settings = if origin {
        EngineSettings::origin(p2p)
    } else {
        EngineSettings::agent(p2p)
    };
    settings.handshake_timeout = Duration::from_secs(2);
    settings.choke_interval = Duration::from_secs(2);
    settings.tracker_health.request_timeout = Duration::from_secs(2);
    settings
}

pub fn with_egress(mut settings: EngineSettings, mib_per_sec: u64) -> EngineSettings {
    settings.p2p.egress_rate = Some(ByteRate::mib_per_sec(mib_per_sec));
    settings
}

pub fn namespace() -> RepoName {
    RepoName::parse("team/app").unwrap()
}

/// One engine with its own store directory.
pub struct Node {
    pub engine: Engine,
    pub store: Store,
    pub shutdown: CancellationToken,
    _metrics: MetricsRegistry,
    _dir: Option<TempDir>,
}

impl Node {
    /// An engine on a fresh temporary store.
    pub async fn start(
        settings: EngineSettings,
        trackers: &[String],
        source: &Arc<MemoryMetaInfo>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut node = Self::start_at(&root, settings, trackers, source).await;
        node._dir = Some(dir);
        node
    }

    /// An engine on the store at `root` (which the caller keeps alive).
    pub async fn start_at(
        root: &Path,
        settings: EngineSettings,
        trackers: &[String],
        source: &Arc<MemoryMetaInfo>,
    ) -> Self {
        let source: Arc<dyn MetaInfoSource> = source.clone();
        Self::start_with(root, settings, trackers, source, None).await
    }

    /// An engine on a fresh temporary store with any metainfo source and resolver.
    pub async fn start_custom(
        settings: EngineSettings,
        trackers: &[String],
        source: Arc<dyn MetaInfoSource>,
        inbound: Option<Arc<dyn InboundResolver>>,
    ) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let mut node = Self::start_with(&root, settings, trackers, source, inbound).await;
        node._dir = Some(dir);
        node
    }

    async fn start_with(
        root: &Path,
        settings: EngineSettings,
        trackers: &[String],
        source: Arc<dyn MetaInfoSource>,
        inbound: Option<Arc<dyn InboundResolver>>,
    ) -> Self {
        let store = Store::open_root(StoreOptions {
            root: root.to_path_buf(),
            idle_ttl: Duration::from_secs(3600),
            high_watermark: u64::MAX,
            low_watermark: u64::MAX,
        })
        .await
        .unwrap();
        let metrics = MetricsRegistry::new();
        let shutdown = CancellationToken::new();
        let parts = EngineParts {
            store: store.clone(),
            listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            trackers: trackers.to_vec(),
            metainfo: source,
            inbound,
            metrics: &metrics,
        };
        let engine = Engine::start(settings, parts, shutdown.clone())
            .await
            .unwrap();
        Self {
            engine,
            store,
            shutdown,
            _metrics: metrics,
            _dir: None,
        }
    }

    /// An engine seeding `blob` from its store (an origin, unless told otherwise).
    pub async fn seeder(settings: EngineSettings, trackers: &[String], blob: &Blob) -> Self {
        let source = Arc::new(MemoryMetaInfo::default());
        let node = Self::start(settings, trackers, &source).await;
        node.put(blob).await;
        node.engine.seed(blob.meta.clone()).await.unwrap();
        node
    }

    pub async fn put(&self, blob: &Blob) {
        let mut upload = self.store.begin_upload().await.unwrap();
        for chunk in blob.data.chunks(1 << 20) {
            upload.write(chunk).await.unwrap();
        }
        upload.commit(&blob.digest).await.unwrap();
    }

    pub fn metrics_text(&self) -> String {
        self._metrics.render()
    }

    /// Cancels the engine and waits until all its tasks are done.
    pub async fn stop(&self) {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(15), self.engine.stopped())
            .await
            .expect("the engine stops");
    }
}

/// A metainfo source that knows `blob`.
pub fn source_for(blob: &Blob) -> Arc<MemoryMetaInfo> {
    let source = Arc::new(MemoryMetaInfo::default());
    source.insert(blob.meta.clone()).unwrap();
    source
}

/// Reads a stream to its end, hashing as it goes; returns (digest, length).
pub async fn digest_stream(mut stream: BlobStream) -> std::io::Result<(Digest, u64)> {
    let mut hasher = DigestHasher::new();
    let mut len = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        len += chunk.len() as u64;
        hasher.update(&chunk);
    }
    Ok((hasher.finish(), len))
}

/// The value of the Prometheus series `series` (name and labels, exactly as rendered)
/// in `text`, or 0 when it is absent.
pub fn metric_value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|line| {
            line.strip_prefix(series)?
                .strip_prefix(' ')?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(0.0)
}

/// Polls until a condition holds or the timeout passes; returns whether it held.
#[allow(unused_imports)]
pub use starling_testkit::poll_until as wait_until;
