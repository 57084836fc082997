//! Peers built from the core codec that misbehave: one answers every request with wrong
//! bytes (caught by the SHA-1 check, banned, never dialled again), one unchokes and then
//! never answers (its requests time out and go elsewhere). Either way the download
//! completes from the honest seeder.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use bytes::Bytes;
use futures::{SinkExt, StreamExt};
use starling_core::Bitfield;
use starling_core::PeerId;
use starling_core::announce::Event;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::{
    Block, Handshake, Message, MessageCodec, read_handshake, write_handshake,
};
use starling_p2p::{AnnounceRequest, Announcer, HealthPolicy, TrackerUrl};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::codec::Framed;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until, with_egress,
};

/// How a fake seeder answers block requests.
#[derive(Clone, Copy)]
enum Behaviour {
    /// With wrong bytes of the right length.
    Garbage,
    /// Not at all.
    Silent,
}

/// What a fake seeder saw.
#[derive(Default)]
struct Seen {
    connections: AtomicUsize,
    closed: AtomicUsize,
    requests: AtomicUsize,
}

impl Seen {
    fn get(counter: &AtomicUsize) -> usize {
        counter.load(Ordering::SeqCst)
    }
}

/// A seeder built from the core codec that never serves a good block.
struct FakePeer {
    addr: SocketAddr,
    peer_id: PeerId,
    seen: Arc<Seen>,
}

impl FakePeer {
    async fn start(meta: &MetaInfo, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let peer = Self {
            addr: listener.local_addr().unwrap(),
            // Not a Starling id: a standard client, so it gets no origin treatment.
            peer_id: PeerId::from_bytes(*b"-XX0001-fakepeer0000"),
            seen: Arc::default(),
        };
        let (meta, id, seen) = (meta.clone(), peer.peer_id, peer.seen.clone());
        tokio::spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                seen.connections.fetch_add(1, Ordering::SeqCst);
                let (meta, seen) = (meta.clone(), seen.clone());
                tokio::spawn(async move {
                    serve(stream, &meta, id, behaviour, &seen).await;
                    seen.closed.fetch_add(1, Ordering::SeqCst);
                });
            }
        });
        peer
    }

    /// Announces itself to the tracker as a seeder.
    async fn announce(&self, tracker: &str, meta: &MetaInfo) {
        let announcer = Announcer::new(
            vec![TrackerUrl::parse(tracker).unwrap()],
            HealthPolicy::default(),
        )
        .unwrap();
        let request = AnnounceRequest {
            info_hash: meta.info_hash(),
            peer_id: self.peer_id,
            port: self.addr.port(),
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
}

async fn serve(
    mut stream: TcpStream,
    meta: &MetaInfo,
    id: PeerId,
    behaviour: Behaviour,
    seen: &Seen,
) {
    let Ok(theirs) = read_handshake(&mut stream).await else {
        return;
    };
    assert_eq!(theirs.info_hash, meta.info_hash());
    write_handshake(&mut stream, &Handshake::new(meta.info_hash(), id))
        .await
        .unwrap();
    let mut framed = Framed::new(stream, MessageCodec::default());
    let full = Bitfield::full(meta.piece_count());
    if framed
        .send(Message::Bitfield(full.to_bytes()))
        .await
        .is_err()
    {
        return;
    }
    while let Some(Ok(message)) = framed.next().await {
        if matches!(message, Message::Request(_)) {
            seen.requests.fetch_add(1, Ordering::SeqCst);
        }
        let reply = match message {
            Message::Interested => Message::Unchoke,
            Message::Request(_) if matches!(behaviour, Behaviour::Silent) => continue,
            Message::Request(r) => Message::Piece(Block {
                index: r.index,
                begin: r.begin,
                data: Bytes::from(vec![0xAB; r.length as usize]),
            }),
            _ => continue,
        };
        if framed.send(reply).await.is_err() {
            return;
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_peer_serving_bad_pieces_is_banned_and_the_download_completes() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(4 << 20).await;
    // The honest seeder is an origin and slow, so the agent asks the corrupt peer first.
    let seeder = Node::seeder(with_egress(settings(true), 2), &trackers, &blob).await;
    let corrupt = FakePeer::start(&blob.meta, Behaviour::Garbage).await;
    corrupt.announce(&tracker.url(), &blob.meta).await;
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;

    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, _) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!(digest, blob.digest);
    assert!(agent.engine.is_banned(&corrupt.peer_id));
    assert!(agent.engine.stats().pieces_rejected >= 1);
    assert!(
        wait_until(PATIENCE, || async { Seen::get(&corrupt.seen.closed) == 1 }).await,
        "the engine hung up on the corrupt peer"
    );
    // The tracker still lists the corrupt peer, and the agent kept announcing (1 s
    // interval) throughout: it was dialled exactly once.
    assert_eq!(Seen::get(&corrupt.seen.connections), 1);
    let text = agent.metrics_text();
    assert!(
        text.contains("starling_p2p_pieces_rejected_total"),
        "{text}"
    );
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_a_peer_leaves_unanswered_go_to_another_peer() {
    init_tracing();
    let tracker = TestTracker::start().await;
    let trackers = vec![tracker.url()];
    let blob = Blob::random(4 << 20).await;
    // Slow enough that the silent peer is connected long before the origin is done.
    let seeder = Node::seeder(with_egress(settings(true), 2), &trackers, &blob).await;
    let silent = FakePeer::start(&blob.meta, Behaviour::Silent).await;
    silent.announce(&tracker.url(), &blob.meta).await;
    let agent = Node::start(settings(false), &trackers, &source_for(&blob)).await;

    let stream = agent
        .engine
        .download(&namespace(), &blob.digest)
        .await
        .unwrap();
    let (digest, _) = tokio::time::timeout(PATIENCE, digest_stream(stream))
        .await
        .expect("the download completes")
        .unwrap();
    assert_eq!(digest, blob.digest);
    assert_eq!(Seen::get(&silent.seen.connections), 1, "the agent asked it");
    assert!(
        !agent.engine.is_banned(&silent.peer_id),
        "slow is not malicious"
    );
    agent.stop().await;
    seeder.stop().await;
    tracker.stop().await;
}
