//! Garbage on the peer port gets a closed connection, and the engine keeps serving.

use std::net::SocketAddr;
use std::time::Duration;

use starling_core::peer_wire::{Handshake, MAX_BLOCK_LEN, write_handshake};
use starling_core::{InfoHash, PeerId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::{
    Blob, Node, PATIENCE, TestTracker, digest_stream, init_tracing, namespace, settings,
    source_for, wait_until,
};

/// Reads until the engine closes the connection; returns how many bytes came first.
async fn bytes_until_closed(stream: &mut TcpStream) -> usize {
    let mut total = 0;
    let mut buf = [0u8; 4096];
    let closed = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    })
    .await;
    assert!(closed.is_ok(), "the engine closes the connection");
    total
}

/// Connects, sends a valid handshake for `info_hash`, then `after` raw bytes.
async fn after_handshake(addr: SocketAddr, info_hash: InfoHash, after: &[u8]) -> usize {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let ours = Handshake::new(info_hash, PeerId::from_bytes(*b"-XX0001-garbage00000"));
    write_handshake(&mut stream, &ours).await.unwrap();
    stream.write_all(after).await.unwrap();
    bytes_until_closed(&mut stream).await
}

/// A `request` frame.
fn request(index: u32, begin: u32, length: u32) -> Vec<u8> {
    let mut frame = vec![0, 0, 0, 13, 6];
    for field in [index, begin, length] {
        frame.extend_from_slice(&field.to_be_bytes());
    }
    frame
}

/// A seeding engine (with a tracker) to throw garbage at.
struct Target {
    tracker: TestTracker,
    seeder: Node,
    blob: Blob,
}

impl Target {
    async fn start() -> Self {
        init_tracing();
        let tracker = TestTracker::start().await;
        let blob = Blob::random(1 << 20).await;
        let seeder = Node::seeder(settings(true), &[tracker.url()], &blob).await;
        Self {
            tracker,
            seeder,
            blob,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.seeder.engine.local_addr()
    }

    /// The engine let go of every connection and still serves the blob to an agent.
    async fn assert_still_serves(self) {
        let released = wait_until(PATIENCE, || async {
            self.seeder.engine.stats().connections == 0
        });
        assert!(released.await, "every garbage connection was released");
        let source = source_for(&self.blob);
        let agent = Node::start(settings(false), &[self.tracker.url()], &source).await;
        let stream = agent.engine.download(&namespace(), &self.blob.digest).await;
        let (digest, _) = tokio::time::timeout(PATIENCE, digest_stream(stream.unwrap()))
            .await
            .expect("the engine still serves")
            .unwrap();
        assert_eq!(digest, self.blob.digest);
        agent.stop().await;
        self.seeder.stop().await;
        self.tracker.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_before_a_handshake_gets_no_reply_and_a_closed_connection() {
    let target = Target::start().await;
    let addr = target.addr();
    let mut random = TcpStream::connect(addr).await.unwrap();
    random
        .write_all(&[0xde, 0xad, 0xbe, 0xef, 1, 2, 3])
        .await
        .unwrap();
    assert_eq!(bytes_until_closed(&mut random).await, 0);

    let mut half = TcpStream::connect(addr).await.unwrap();
    let handshake = Handshake::new(target.blob.meta.info_hash(), PeerId::generate());
    half.write_all(&handshake.to_bytes()[..30]).await.unwrap();
    let received = bytes_until_closed(&mut half).await;
    assert_eq!(received, 0, "closed after the handshake timeout");

    let unknown = InfoHash::from_bytes([7; 20]);
    assert_eq!(
        after_handshake(addr, unknown, &[]).await,
        0,
        "no torrent, no answer"
    );
    target.assert_still_serves().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn protocol_violations_after_the_handshake_close_the_connection() {
    let target = Target::start().await;
    let info_hash = target.blob.meta.info_hash();
    // The seeder is an origin, which super-seeds: its first message is one `have`.
    let have_frame = 4 + 1 + 4;
    let violations: Vec<(&str, Vec<u8>)> = vec![
        ("an over-long length prefix", vec![0xff, 0xff, 0xff, 0xf0]),
        ("an unknown message id", vec![0, 0, 0, 1, 20]),
        ("a bitfield of the wrong size", vec![0, 0, 0, 2, 5, 0xff]),
        (
            "a request above the block limit",
            request(0, 0, MAX_BLOCK_LEN + 1),
        ),
        ("a request for a missing piece", request(9999, 0, 16384)),
        (
            "a request past the end of a piece",
            request(0, 0x3ffff, 16384),
        ),
    ];
    for (what, bytes) in violations {
        // Our handshake always comes back first; the `have` may or may not get out
        // before the violation is read.
        let received = after_handshake(target.addr(), info_hash, &bytes).await;
        assert!(
            [68, 68 + have_frame].contains(&received),
            "{what}: {received} bytes"
        );
    }
    target.assert_still_serves().await;
}
