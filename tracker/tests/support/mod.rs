//! Test support: a tracker on a real loopback socket, announce URLs, response decoding,
//! a raw HTTP/1.1 client, `wait_until`, and an [`origin_proxy`] that counts and holds
//! the requests a tracker sends to an origin.

// Each test binary uses a different subset of these helpers.
#![allow(dead_code)]

pub mod origin_proxy;

use std::borrow::Cow;
use std::collections::BTreeMap;

use std::net::SocketAddr;
use std::time::Duration;

use bendy::decoding::{Decoder, FromBencode};
use bendy::value::Value;
use starling_config::tracker::TrackerConfig;
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

/// A decoded announce response.
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

type Dict<'a> = BTreeMap<Cow<'a, [u8]>, Value<'a>>;

fn int(dict: &Dict, key: &[u8]) -> i64 {
    match dict.get(key) {
        Some(Value::Integer(n)) => *n,
        other => panic!(
            "{} is not an integer: {other:?}",
            String::from_utf8_lossy(key)
        ),
    }
}

fn bytes<'a>(dict: &'a Dict, key: &[u8]) -> Option<&'a [u8]> {
    match dict.get(key)? {
        Value::Bytes(b) => Some(b),
        other => panic!(
            "{} is not a byte string: {other:?}",
            String::from_utf8_lossy(key)
        ),
    }
}

/// Decodes a bencoded tracker body; panics on anything that is not a dict.
pub fn decode(body: &[u8]) -> Reply {
    // `Value::from_bencode` allows no nesting at all, so decode with an explicit depth.
    let mut decoder = Decoder::new(body).with_max_depth(4);
    let value = decoder
        .next_object()
        .and_then(|object| Value::decode_bencode_object(object.expect("a value")));
    let Ok(Value::Dict(dict)) = value else {
        panic!(
            "not a bencoded dict ({value:?}): {:?}",
            String::from_utf8_lossy(body)
        );
    };
    if let Some(reason) = bytes(&dict, b"failure reason") {
        return Reply {
            failure: Some(String::from_utf8(reason.to_vec()).unwrap()),
            ..Reply::default()
        };
    }
    let mut reply = Reply {
        interval: int(&dict, b"interval"),
        complete: int(&dict, b"complete"),
        incomplete: int(&dict, b"incomplete"),
        ..Reply::default()
    };
    match dict.get(&b"peers"[..]) {
        Some(Value::Bytes(v4)) => {
            assert_eq!(v4.len() % 6, 0, "compact IPv4 entries are 6 bytes");
            for e in v4.chunks(6) {
                let ip = std::net::Ipv4Addr::new(e[0], e[1], e[2], e[3]);
                reply
                    .peers
                    .push(SocketAddr::from((ip, u16::from_be_bytes([e[4], e[5]]))));
            }
            for e in bytes(&dict, b"peers6").unwrap_or_default().chunks(18) {
                let ip: [u8; 16] = e[..16].try_into().unwrap();
                reply
                    .peers
                    .push(SocketAddr::from((ip, u16::from_be_bytes([e[16], e[17]]))));
            }
        }
        Some(Value::List(list)) => {
            for item in list {
                let Value::Dict(peer) = item else {
                    panic!("peer is not a dict: {item:?}")
                };
                let ip = std::str::from_utf8(bytes(peer, b"ip").unwrap()).unwrap();
                let port = u16::try_from(int(peer, b"port")).unwrap();
                reply.peers.push(SocketAddr::new(ip.parse().unwrap(), port));
                reply
                    .peer_ids
                    .push(bytes(peer, b"peer id").unwrap().to_vec());
            }
        }
        other => panic!("peers missing or malformed: {other:?}"),
    }
    reply
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
