//! Test support: a tracker on a real loopback socket, announce URLs, response decoding
//! (through the shared codec),
//! a raw HTTP/1.1 client, `wait_until`, and an [`origin_proxy`] that counts and holds
//! the requests a tracker sends to an origin.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod origin_proxy;

use std::net::SocketAddr;
use std::time::Duration;

use starling_config::tracker::TrackerConfig;
use starling_core::announce::{AnnounceResponse, Peers};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A tracker served by `starling_tracker::run` on 127.0.0.1 with an ephemeral port.
pub struct TestTracker {
    pub addr: SocketAddr,
    shutdown: CancellationToken,
    task: JoinHandle<starling_tracker::Result<()>>,
}

impl TestTracker {
    pub async fn start(cfg: TrackerConfig) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        Self::start_on(listener, cfg)
    }

    /// Serves `cfg` on an already bound listener (whose address the config may name).
    pub fn start_on(listener: TcpListener, cfg: TrackerConfig) -> Self {
        let addr = listener.local_addr().unwrap();
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(starling_tracker::run(cfg, listener, shutdown.clone()));
        Self {
            addr,
            shutdown,
            task,
        }
    }

    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://{}{path_and_query}", self.addr)
    }

    /// Requests shutdown and waits for `run` to return; panics if it failed or hung.
    pub async fn stop(self) {
        self.shutdown.cancel();
        let outcome = tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("run returns after shutdown")
            .expect("run does not panic");
        outcome.expect("run ends cleanly");
    }
}

/// A tracker config tuned for tests: short intervals, small hand-outs.
pub fn test_config() -> TrackerConfig {
    TrackerConfig {
        announce_interval: Duration::from_secs(10),
        peer_ttl: Duration::from_secs(30),
        announce_limit: 20,
        ..TrackerConfig::default()
    }
}

/// Percent-encodes every byte.
pub fn enc(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("%{b:02X}")).collect()
}

/// A 20-byte peer id `-ST0001-` + 12 digits of `n`.
pub fn peer_id(n: u64) -> [u8; 20] {
    let mut id = [0u8; 20];
    id[..8].copy_from_slice(b"-ST0001-");
    id[8..].copy_from_slice(format!("{n:012}").as_bytes());
    id
}

/// `/announce?...` for a peer; `extra` is appended verbatim (start it with `&`).
pub fn announce_path(
    info_hash: &[u8; 20],
    peer: &[u8; 20],
    port: u16,
    left: u64,
    extra: &str,
) -> String {
    format!(
        "/announce?info_hash={}&peer_id={}&port={port}&uploaded=0&downloaded=0&left={left}{extra}",
        enc(info_hash),
        enc(peer)
    )
}

/// A decoded announce response, flattened for assertions.
#[derive(Debug, Default)]
pub struct Reply {
    pub failure: Option<String>,
    pub interval: i64,
    pub complete: i64,
    pub incomplete: i64,
    /// From `peers`/`peers6` (compact) or the dict list.
    pub peers: Vec<SocketAddr>,
    /// Only in non-compact replies, in the same order as `peers`.
    pub peer_ids: Vec<Vec<u8>>,
}

/// Decodes a tracker body with the shared codec (`starling_core::announce`); panics
/// on anything that is not an announce response or lacks a count or the interval.
pub fn decode(body: &[u8]) -> Reply {
    let response = AnnounceResponse::decode(body).unwrap_or_else(|error| {
        panic!(
            "not an announce response ({error}): {:?}",
            String::from_utf8_lossy(body)
        )
    });
    let reply = match response {
        AnnounceResponse::Failure { reason } => {
            return Reply {
                failure: Some(reason),
                ..Reply::default()
            };
        }
        AnnounceResponse::Reply(reply) => reply,
    };
    let number = |value: Option<u64>, key: &str| {
        let value = value.unwrap_or_else(|| panic!("{key} missing: {reply:?}"));
        i64::try_from(value).expect("a count that fits i64")
    };
    let peer_ids = match &reply.peers {
        Peers::Compact(_) => Vec::new(),
        Peers::Dicts(entries) => entries
            .iter()
            .map(|entry| {
                let id = entry.peer_id.expect("every dict peer carries its peer id");
                id.as_bytes().to_vec()
            })
            .collect(),
    };
    Reply {
        failure: None,
        interval: number(reply.interval.map(|i| i.as_secs()), "interval"),
        complete: number(reply.complete, "complete"),
        incomplete: number(reply.incomplete, "incomplete"),
        peers: reply.addrs(),
        peer_ids,
    }
}

/// `GET url` with reqwest; asserts HTTP 200 and decodes the body.
pub async fn get_reply(client: &reqwest::Client, url: &str) -> Reply {
    let response = client.get(url).send().await.expect("tracker reachable");
    assert_eq!(response.status(), 200, "{url}");
    decode(&response.bytes().await.unwrap())
}

/// Sends `GET <target> HTTP/1.1` over a fresh TCP connection, byte for byte, and
/// returns (status code, body). `target` may hold any bytes.
pub async fn raw_get(addr: SocketAddr, target: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(addr).await.expect("connect");
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(target);
    request.extend_from_slice(
        format!(" HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    );
    stream.write_all(&request).await.unwrap();
    let mut response = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut response))
        .await
        .expect("the server answers and closes")
        .unwrap();
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete HTTP head");
    let head = String::from_utf8_lossy(&response[..split]).into_owned();
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    assert!(
        !head
            .to_ascii_lowercase()
            .contains("transfer-encoding: chunked"),
        "raw client expects a plain body: {head}"
    );
    (status, response[split + 4..].to_vec())
}

/// Polls until a condition holds or the timeout passes; returns whether it held.
#[allow(unused_imports)]
pub use starling_testkit::poll_until as wait_until;
