//! The origin's P2P side on real sockets: `GET /peer` names the engine, a blob seeds once
//! its metainfo is served, and after a restart the origin still answers a peer's
//! handshake for any torrent it generated before (the info-hash index is rebuilt from the
//! kept metainfo files), without anyone asking for the metainfo again.

use std::time::Duration;

use starling_clients::OriginPeer;
use starling_core::metainfo::MetaInfo;
use starling_core::peer_wire::{Handshake, read_handshake, write_handshake};
use starling_core::{InfoHash, PeerId};
use starling_testkit::{BlobFixture, OriginFixture};
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;

/// Five pieces of 256 KiB, the last one short.
const BLOB_LEN: usize = (1 << 20) + 4096;

/// Handshakes with the origin's engine for `info_hash`; true if it answered for that
/// torrent and announced a piece it holds, false if it closed the connection instead.
/// Origins super-seed (BEP 16): no bitfield, one `have` at a time.
async fn serves(peer: &OriginPeer, info_hash: InfoHash) -> bool {
    let mut stream = TcpStream::connect(peer.peer_addr.as_str()).await.unwrap();
    let ours = Handshake::new(info_hash, PeerId::from_bytes(*b"-XX0001-origintest00"));
    write_handshake(&mut stream, &ours).await.unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(10), read_handshake(&mut stream))
        .await
        .expect("the origin answers or closes in time");
    let Ok(theirs) = answer else {
        return false;
    };
    assert_eq!(theirs.info_hash, info_hash);
    assert_eq!(theirs.peer_id, peer.peer_id);
    let mut have = [0u8; 9];
    stream.read_exact(&mut have).await.unwrap();
    assert_eq!(have[..5], [0, 0, 0, 5, 4], "a have, not a bitfield");
    let piece = u32::from_be_bytes(have[5..].try_into().unwrap());
    assert!(piece < 5, "one of the five pieces, not {piece}");
    true
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_origin_seeds_what_it_described_even_after_a_restart() {
    let root = tempfile::tempdir().unwrap();
    let blob = BlobFixture::random(BLOB_LEN);
    let ns = BlobFixture::namespace();
    let first = OriginFixture::start_alone(root.path()).await;
    first.wait_ready().await;
    first
        .client()
        .upload(&ns, &blob.digest, blob.len(), blob.stream(64 << 10))
        .await
        .unwrap();

    let text = reqwest::get(first.url("/peer"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let body: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(body["peer_id"].as_str().unwrap().len(), 40, "{body}");
    let peer = first.client().peer().await.unwrap();
    assert_eq!(peer.peer_id.as_bytes()[8], b'O', "an origin-class peer id");
    assert_eq!(body["peer_addr"], peer.peer_addr.as_str());

    let metainfo = first.client().metainfo(&ns, &blob.digest).await.unwrap();
    let info_hash = metainfo.info_hash();
    assert!(serves(&peer, info_hash).await, "seeding once described");
    assert!(
        !serves(&peer, InfoHash::from_bytes([3; 20])).await,
        "an unknown torrent is refused"
    );
    first.stop().await;

    let second = OriginFixture::start_alone(root.path()).await;
    second.wait_ready().await;
    let restarted = second.client().peer().await.unwrap();
    assert_ne!(
        restarted.peer_id, peer.peer_id,
        "a new engine, a new peer id"
    );
    assert_eq!(second.metric("starling_p2p_torrents").await, 0.0);
    assert!(
        serves(&restarted, info_hash).await,
        "seeding on demand after the restart"
    );
    assert_eq!(
        second.metric("starling_p2p_inbound_resolved_total").await,
        1.0
    );
    let kept = MetaInfo::from_bytes(
        &std::fs::read(
            root.path()
                .join("metainfo")
                .join(&blob.digest.hex()[0..2])
                .join(&blob.digest.hex()[2..4])
                .join(format!("{}.torrent", blob.digest.hex())),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(kept.info_hash(), info_hash);
    second.stop().await;
}
