//! Strangers that try to stall a swarm, as raw TCP peers speaking the wire protocol:
//! idle connections that fill an origin's peer limit with keep-alives (and reconnect
//! when dropped), and a peer that corrupts one block of each piece it is asked for and
//! never answers the rest. Either way a real agent completes the blob from the honest
//! origin in bounded time, and the corrupter is banned and disconnected.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use starling_core::announce::Event;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::{
    Block, Handshake, Message, MessageCodec, read_handshake, write_handshake,
};
use starling_core::{Bitfield, PeerId};
use starling_p2p::{AnnounceRequest, Announcer, HealthPolicy, TrackerUrl};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until, with_egress,
};

/// How long the agent may take for a 4 MiB blob once the attack is on.
const BOUND: Duration = Duration::from_secs(30);

/// A standard client's peer id (no Starling class), numbered.
fn stranger_id(n: u8) -> PeerId {
    let mut id = *b"-XX0001-stranger0000";
    id[19] = b'0' + n % 10;
    id[18] = b'0' + n / 10;
    PeerId::from_bytes(id)
}

/// Connects to `addr` for `meta`'s torrent and exchanges handshakes.
async fn handshake(
    addr: SocketAddr,
    meta: &MetaInfo,
    id: PeerId,
) -> Option<Framed<TcpStream, MessageCodec>> {
    let mut stream = TcpStream::connect(addr).await.ok()?;
    write_handshake(&mut stream, &Handshake::new(meta.info_hash(), id))
        .await
        .ok()?;
    read_handshake(&mut stream).await.ok()?;
    Some(Framed::new(stream, MessageCodec::default()))
}

/// A peer that handshakes, sends an empty bitfield's worth of nothing and then only
/// keep-alives, reconnecting at once whenever it is dropped, until `stop`.
async fn idle_peer(addr: SocketAddr, meta: MetaInfo, id: PeerId, stop: CancellationToken) {
    while !stop.is_cancelled() {
        if let Some(mut framed) = handshake(addr, &meta, id).await {
            let mut keepalive = tokio::time::interval(Duration::from_millis(500));
            loop {
                tokio::select! {
                    _ = stop.cancelled() => return,
                    _ = keepalive.tick() => {
                        if framed.send(Message::KeepAlive).await.is_err() {
                            break;
                        }
                    }
                    message = framed.next() => {
                        if !matches!(message, Some(Ok(_))) {
                            break;
                        }
                    }
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_strangers_filling_an_origin_cannot_keep_an_agent_out() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(4 << 20).await;
    let mut origin_settings = settings(true);
    origin_settings.p2p.max_peers_per_torrent = 6;
    origin_settings.p2p.interest_grace = Duration::from_secs(1);
    origin_settings.p2p.evict_idle_after = Duration::from_secs(2);
    let origin = Node::seeder(origin_settings, &trackers, &blob).await;

    let stop = CancellationToken::new();
    for n in 0..6 {
        let (meta, stop) = (blob.meta.clone(), stop.clone());
        tokio::spawn(idle_peer(
            origin.engine.local_addr(),
            meta,
            stranger_id(n),
            stop,
        ));
    }
    assert!(
        wait_until(PATIENCE, || async {
            origin.engine.stats().connections == 6
        })
        .await,
        "the idle strangers fill the origin's limit"
    );

    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;
    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, len) = tokio::time::timeout(BOUND, digest_stream(stream))
        .await
        .expect("the agent gets the blob although strangers keep reconnecting")
        .unwrap();
    assert_eq!((digest, len), (blob.digest, blob.data.len() as u64));
    assert!(
        origin
            .metrics_text()
            .contains("starling_p2p_peers_evicted_total"),
        "evictions are counted"
    );
    stop.cancel();
    agent.stop().await;
    origin.stop().await;
    tracker.stop().await;
}

/// What the corrupter saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    closed: AtomicUsize,
    corrupt_blocks: AtomicUsize,
}

/// A seeder that answers the first request of each piece with wrong bytes and
/// ignores every other request.
async fn corrupter(listener: TcpListener, meta: MetaInfo, id: PeerId, seen: Arc<Seen>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            return;
        };
        seen.connections.fetch_add(1, Ordering::SeqCst);
        let (meta, seen) = (meta.clone(), seen.clone());
        tokio::spawn(async move {
            serve_corrupt(&mut stream, &meta, id, &seen).await;
            seen.closed.fetch_add(1, Ordering::SeqCst);
        });
    }
}

async fn serve_corrupt(stream: &mut TcpStream, meta: &MetaInfo, id: PeerId, seen: &Seen) {
    if read_handshake(stream).await.is_err()
        || write_handshake(stream, &Handshake::new(meta.info_hash(), id))
            .await
            .is_err()
    {
        return;
    }
    let mut framed = Framed::new(stream, MessageCodec::default());
    let full = Bitfield::full(meta.piece_count());
    if framed
        .send(Message::Bitfield(full.to_bytes()))
        .await
        .is_err()
    {
        return;
    }
    let mut touched = HashSet::new();
    while let Some(Ok(message)) = framed.next().await {
        let reply = match message {
            Message::Interested => Message::Unchoke,
            Message::Request(r) if touched.insert(r.index) => {
                seen.corrupt_blocks.fetch_add(1, Ordering::SeqCst);
                Message::Piece(Block {
                    index: r.index,
                    begin: r.begin,
                    data: Bytes::from(vec![0xAB; r.length as usize]),
                })
            }
            _ => continue,
        };
        if framed.send(reply).await.is_err() {
            return;
        }
    }
}

/// Announces `addr` as a seeder of `meta` under `id`.
async fn announce_seeder(tracker: &str, meta: &MetaInfo, id: PeerId, addr: SocketAddr) {
    let announcer = Announcer::new(
        vec![TrackerUrl::parse(tracker).unwrap()],
        HealthPolicy::default(),
    )
    .unwrap();
    let request = AnnounceRequest {
        info_hash: meta.info_hash(),
        peer_id: id,
        port: addr.port(),
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
    announcer
        .announce(&meta.digest().unwrap(), &request)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_corrupting_one_block_per_piece_is_banned_and_the_download_completes() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(4 << 20).await;
    // The honest origin is slow and, being an origin, only asked for what no agent
    // serving us has: the agent turns to the corrupter first.
    let origin = Node::seeder(with_egress(settings(true), 2), &trackers, &blob).await;
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let id = stranger_id(42);
    let seen = Arc::new(Seen::default());
    tokio::spawn(corrupter(listener, blob.meta.clone(), id, seen.clone()));
    announce_seeder(&tracker.url(), &blob.meta, id, addr).await;
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;

    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, _) = tokio::time::timeout(BOUND, digest_stream(stream))
        .await
        .expect("the download completes from the honest origin")
        .unwrap();
    assert_eq!(digest, blob.digest);
    assert!(
        seen.corrupt_blocks.load(Ordering::SeqCst) >= 1,
        "it attacked"
    );
    assert!(agent.engine.stats().pieces_rejected >= 1);
    assert!(
        agent.engine.is_banned(&id),
        "the partial corrupter is banned"
    );
    assert!(
        !agent.engine.is_banned(&origin.engine.peer_id()),
        "the origin that filled its pieces in is not"
    );
    assert!(
        wait_until(PATIENCE, || async {
            seen.closed.load(Ordering::SeqCst) == seen.connections.load(Ordering::SeqCst)
        })
        .await,
        "the agent hung up on the corrupter"
    );
    agent.stop().await;
    origin.stop().await;
    tracker.stop().await;
}
