//! Tests of [`super::serve`] over real loopback sockets, with timeouts of a second or
//! two: a header trickled one byte a second is cut at the header timeout, an idle
//! keep-alive connection at the idle timeout, a stalled request body at the body
//! timeout (a slow one that keeps moving is not), and connections past the cap are
//! closed at once while those already open keep working.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::routing::{get, post};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::*;

const SECOND: Duration = Duration::from_secs(1);

fn limits(max: usize) -> ConnectionsConfig {
    ConnectionsConfig {
        max,
        header_read_timeout: SECOND,
        idle_timeout: SECOND * 2,
        body_idle_timeout: SECOND,
    }
}

fn app() -> Router {
    Router::new()
        .route("/", get(|| async { "ok" }))
        .route(
            "/upload",
            post(|body: Bytes| async move { body.len().to_string() }),
        )
        .route(
            "/peer",
            get(|ConnectInfo(peer): ConnectInfo<SocketAddr>| async move { peer.to_string() }),
        )
}

struct Server {
    addr: SocketAddr,
    stop: CancellationToken,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start(limits: ConnectionsConfig) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let stopped = stop.clone();
    let served = tokio::spawn(async move {
        serve(listener, app(), &limits, None, async move {
            stopped.cancelled().await
        })
        .await
    });
    Server { addr, stop, served }
}

const GET: &[u8] = b"GET / HTTP/1.1\r\nhost: test\r\n\r\n";

/// Reads one response to a `GET /` (its body is `ok`, the last bytes).
async fn read_response(stream: &mut TcpStream) -> String {
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(b"ok") {
        let read = tokio::time::timeout(SECOND * 5, stream.read(&mut buf))
            .await
            .expect("a response in time")
            .unwrap();
        assert!(read > 0, "connection closed before the response");
        response.extend_from_slice(&buf[..read]);
    }
    String::from_utf8(response).unwrap()
}

/// Whether the server closes `stream` (EOF or reset) within `within`.
async fn closed_within(stream: &mut TcpStream, within: Duration) -> bool {
    let mut buf = [0u8; 1024];
    let deadline = tokio::time::Instant::now() + within;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => {}
        }
    }
}

#[tokio::test]
async fn a_header_sent_one_byte_a_second_is_cut_at_the_header_timeout() {
    let server = start(limits(16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let started = Instant::now();
    let mut cut = false;
    for byte in GET.iter().take(10) {
        if stream.write_all(&[*byte]).await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut stream, SECOND).await {
            cut = true;
            break;
        }
    }
    assert!(cut, "the trickling header was still open after 10 s");
    let elapsed = started.elapsed();
    assert!(
        elapsed >= SECOND && elapsed < SECOND * 4,
        "cut after {elapsed:?}, not at the 1 s header timeout"
    );
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed_at_the_idle_timeout() {
    let server = start(limits(16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    stream.write_all(GET).await.unwrap();
    assert!(read_response(&mut stream).await.starts_with("HTTP/1.1 200"));
    let idle = Instant::now();
    assert!(
        !closed_within(&mut stream, SECOND).await,
        "open through the header timeout: idle is not a slow header"
    );
    stream.write_all(GET).await.unwrap();
    read_response(&mut stream).await;
    let idle_again = Instant::now();
    assert!(
        closed_within(&mut stream, SECOND * 5).await,
        "the idle connection stayed open"
    );
    let after = idle_again.elapsed();
    assert!(
        after >= SECOND * 2 - Duration::from_millis(100) && after < SECOND * 4,
        "closed {after:?} after going idle; the idle timeout is 2 s"
    );
    assert!(
        idle.elapsed() > SECOND * 2,
        "a request restarts the idle timer"
    );
}

#[tokio::test]
async fn connections_past_the_cap_are_closed_while_open_ones_keep_working() {
    let server = start(ConnectionsConfig {
        idle_timeout: SECOND * 30,
        ..limits(2)
    })
    .await;
    let mut open = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(GET).await.unwrap();
        read_response(&mut stream).await;
        open.push(stream);
    }
    for _ in 0..3 {
        let mut refused = TcpStream::connect(server.addr).await.unwrap();
        let _ = refused.write_all(GET).await;
        assert!(
            closed_within(&mut refused, SECOND).await,
            "a connection past the cap is closed at once"
        );
    }
    for stream in &mut open {
        stream.write_all(GET).await.unwrap();
        assert!(read_response(stream).await.starts_with("HTTP/1.1 200"));
    }
    drop(open.pop());
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut freed = TcpStream::connect(server.addr).await.unwrap();
    freed.write_all(GET).await.unwrap();
    read_response(&mut freed).await;
}

#[tokio::test]
async fn a_stalled_body_fails_and_a_slow_moving_one_does_not() {
    let server = start(limits(16)).await;
    let mut stalled = TcpStream::connect(server.addr).await.unwrap();
    stalled
        .write_all(b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 10\r\n\r\nab")
        .await
        .unwrap();
    let started = Instant::now();
    assert!(
        closed_within(&mut stalled, SECOND * 4).await,
        "the stalled body kept its connection"
    );
    assert!(started.elapsed() >= SECOND - Duration::from_millis(100));

    let mut slow = TcpStream::connect(server.addr).await.unwrap();
    slow.write_all(b"POST /upload HTTP/1.1\r\nhost: test\r\ncontent-length: 6\r\n\r\n")
        .await
        .unwrap();
    for part in [b"ab", b"cd", b"ef"] {
        tokio::time::sleep(SECOND / 2).await;
        slow.write_all(part).await.unwrap();
    }
    tokio::time::sleep(SECOND / 2).await;
    let mut response = vec![0u8; 1024];
    let read = slow.read(&mut response).await.unwrap();
    let response = String::from_utf8_lossy(&response[..read]).to_string();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    assert!(response.ends_with("\r\n\r\n6"), "{response}");
}

#[tokio::test]
async fn requests_carry_the_client_address_and_stop_ends_serving() {
    let server = start(limits(16)).await;
    let mut stream = TcpStream::connect(server.addr).await.unwrap();
    let local = stream.local_addr().unwrap();
    stream
        .write_all(b"GET /peer HTTP/1.1\r\nhost: test\r\n\r\n")
        .await
        .unwrap();
    let mut response = Vec::new();
    let mut buf = [0u8; 1024];
    while !response.ends_with(local.to_string().as_bytes()) {
        let read = tokio::time::timeout(SECOND * 5, stream.read(&mut buf))
            .await
            .unwrap()
            .unwrap();
        assert!(read > 0, "{}", String::from_utf8_lossy(&response));
        response.extend_from_slice(&buf[..read]);
    }
    server.stop.cancel();
    assert!(
        closed_within(&mut stream, SECOND).await,
        "idle closes at stop"
    );
    tokio::time::timeout(SECOND, server.served)
        .await
        .expect("serving ends with no connection left")
        .unwrap()
        .unwrap();
    assert!(
        TcpStream::connect(server.addr).await.is_err(),
        "listener closed"
    );
}
