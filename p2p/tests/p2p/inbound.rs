//! Seeding on demand: an origin-class engine with an `InboundResolver` serves a blob it
//! holds but does not seed when a peer handshakes for its info hash, and refuses info
//! hashes the resolver does not know. Origins given no trackers never announce; agents
//! need trackers.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use starling_core::announce::Event;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::{Handshake, read_handshake, write_handshake};
use starling_core::{InfoHash, PeerId};
use starling_p2p::{
    AnnounceRequest, Announcer, Engine, EngineParts, Error, HealthPolicy, InboundResolver,
    MemoryMetaInfo, MetaInfoSource, TrackerUrl,
};
use starling_runtime::MetricsRegistry;
use starling_store::{Store, StoreOptions};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, metric_value, namespace,
    settings, source_for,
};

/// Knows a fixed set of torrents and counts the questions.
#[derive(Default)]
struct FixedResolver {
    known: HashMap<InfoHash, MetaInfo>,
    asked: AtomicUsize,
}

#[async_trait]
impl InboundResolver for FixedResolver {
    async fn resolve(&self, info_hash: &InfoHash) -> Option<MetaInfo> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.known.get(info_hash).cloned()
    }
}

/// An origin-class engine without trackers holding `blob` in its store, not seeding it.
async fn holding_origin(blob: &Blob, resolver: Arc<FixedResolver>) -> Node {
    let source: Arc<dyn MetaInfoSource> = Arc::new(MemoryMetaInfo::default());
    let node = Node::start_custom(settings(true), &[], source, Some(resolver)).await;
    node.put(blob).await;
    node
}

/// Handshakes for `info_hash`; the peer's answer, or `None` if it closed without one.
async fn handshake(engine: &Engine, info_hash: InfoHash) -> Option<(Handshake, TcpStream)> {
    let mut stream = TcpStream::connect(engine.local_addr()).await.unwrap();
    let ours = Handshake::new(info_hash, PeerId::from_bytes(*b"-XX0001-inbound00000"));
    write_handshake(&mut stream, &ours).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), read_handshake(&mut stream))
        .await
        .expect("the engine answers or closes in time");
    answer.ok().map(|theirs| (theirs, stream))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_held_blob_is_served_to_a_peer_that_asks_for_it() {
    init_tracing();
    let blob = Blob::random(1 << 20).await;
    let mut resolver = FixedResolver::default();
    resolver
        .known
        .insert(blob.meta.info_hash(), blob.meta.clone());
    let resolver = Arc::new(resolver);
    let origin = holding_origin(&blob, resolver.clone()).await;
    assert!(
        origin.engine.progress(&blob.digest).is_none(),
        "nothing seeds yet"
    );

    let unknown = InfoHash::from_bytes([9; 20]);
    assert!(
        handshake(&origin.engine, unknown).await.is_none(),
        "an info hash the resolver does not know is refused"
    );

    let (theirs, mut stream) = handshake(&origin.engine, blob.meta.info_hash())
        .await
        .expect("the engine answers for a blob it holds");
    assert_eq!(theirs.info_hash, blob.meta.info_hash());
    assert_eq!(theirs.peer_id, origin.engine.peer_id());
    // The first message reveals one of the 4 pieces of 256 KiB: origins super-seed
    // (BEP 16), announcing pieces with `have` rather than a full bitfield.
    let mut frame = [0u8; 9];
    stream.read_exact(&mut frame).await.unwrap();
    assert_eq!(frame[..5], [0, 0, 0, 5, 4]);
    assert!(u32::from_be_bytes(frame[5..].try_into().unwrap()) < 4);
    assert!(
        origin.engine.progress(&blob.digest).is_some(),
        "seeding now"
    );
    assert_eq!(resolver.asked.load(Ordering::SeqCst), 2);
    assert_eq!(
        metric_value(
            &origin.metrics_text(),
            "starling_p2p_inbound_resolved_total"
        ),
        1.0
    );
    drop(stream);
    origin.stop().await;
}

/// The tracker learns the origin from someone else (here: an announce on its behalf, as
/// the tracker's origin ring does in production), never from the origin itself.
async fn announce_on_behalf(tracker: &TestTracker, origin: &Engine, blob: &Blob) {
    let announcer = Announcer::new(
        vec![TrackerUrl::parse(&tracker.url()).unwrap()],
        HealthPolicy::default(),
    )
    .unwrap();
    let request = AnnounceRequest {
        info_hash: blob.meta.info_hash(),
        peer_id: origin.peer_id(),
        port: origin.local_addr().port(),
        ip: None,
        uploaded: 0,
        downloaded: 0,
        left: 0,
        event: Event::Started,
        compact: true,
        numwant: Some(0),
        zone: None,
        rack: None,
    };
    announcer.announce(&blob.digest, &request).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_downloads_from_an_origin_that_seeds_on_demand() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let blob = Blob::random(3 << 20).await;
    let mut resolver = FixedResolver::default();
    resolver
        .known
        .insert(blob.meta.info_hash(), blob.meta.clone());
    let origin = holding_origin(&blob, Arc::new(resolver)).await;
    announce_on_behalf(&tracker, &origin.engine, &blob).await;

    let agent = Node::start(settings(false), &[tracker.url()], &source_for(&blob)).await;
    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    assert!(
        origin.engine.stats().bytes_uploaded >= blob.data.len() as u64,
        "the origin was the only source"
    );
    agent.stop().await;
    origin.stop().await;
    tracker.stop().await;
}

#[tokio::test]
async fn only_origins_may_run_without_trackers() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open_root(StoreOptions {
        root: dir.path().to_path_buf(),
        idle_ttl: Duration::from_secs(3600),
        high_watermark: u64::MAX,
        low_watermark: u64::MAX,
    })
    .await
    .unwrap();
    let metrics = MetricsRegistry::new();
    let parts = EngineParts {
        store,
        listener: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        trackers: Vec::new(),
        metainfo: Arc::new(MemoryMetaInfo::default()),
        inbound: None,
        metrics: &metrics,
    };
    let refused = Engine::start(settings(false), parts, CancellationToken::new()).await;
    assert!(
        matches!(refused, Err(Error::NoTrackers)),
        "an agent without trackers could never find a peer"
    );
}
