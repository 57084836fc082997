//! Tests of [`super`] over a real listener served by [`crate::serve`]: the listener keeps accepting through the
//! delay and closes after it, a stalled response body is cut with an error at the
//! deadline, a stalled handler answers 503, and serving then completes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::Duration;

use axum::routing::get;
use futures::{StreamExt, stream};
use tokio::net::TcpListener;

use super::*;

const DELAY: Duration = Duration::from_millis(400);
const TIMEOUT: Duration = Duration::from_millis(400);

/// `/fast` answers at once; `/stall-body` sends 3 of its 1000 bytes and stalls;
/// `/stall-handler` never answers.
fn app() -> Router {
    Router::new()
        .route("/fast", get(|| async { "fast" }))
        .route(
            "/stall-body",
            get(|| async {
                let first = stream::iter([Ok::<_, Infallible>(Bytes::from_static(b"abc"))]);
                let body = Body::from_stream(first.chain(stream::pending()));
                ([("content-length", "1000")], body)
            }),
        )
        .route("/stall-handler", get(std::future::pending::<&'static str>))
}

struct Server {
    addr: SocketAddr,
    shutdown: CancellationToken,
    served: tokio::task::JoinHandle<std::io::Result<()>>,
}

async fn start() -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let shutdown = CancellationToken::new();
    let drain = Drain::new(&shutdown, DELAY, TIMEOUT);
    let router = drain.bound(app());
    let served = tokio::spawn(async move {
        let limits = starling_config::ConnectionsConfig::default();
        crate::serve(listener, router, &limits, None, async move {
            drain.closing().await
        })
        .await
    });
    Server {
        addr,
        shutdown,
        served,
    }
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_listener_accepts_through_the_delay_then_closes() {
    let server = start().await;
    let url = format!("http://{}/fast", server.addr);
    let http = client();
    assert_eq!(
        http.get(&url).send().await.unwrap().text().await.unwrap(),
        "fast"
    );
    server.shutdown.cancel();
    tokio::time::sleep(DELAY / 4).await;
    let during = http
        .get(&url)
        .send()
        .await
        .expect("accepting during the delay");
    assert_eq!(during.text().await.unwrap(), "fast");
    tokio::time::timeout(DELAY * 2, server.served)
        .await
        .expect("serving ends soon after the delay with nothing in flight")
        .unwrap()
        .unwrap();
    let after = http.get(&url).send().await;
    assert!(after.unwrap_err().is_connect(), "the listener is closed");
}

#[tokio::test]
async fn a_stalled_body_is_cut_with_an_error_at_the_deadline() {
    let server = start().await;
    let http = client();
    let response = http
        .get(format!("http://{}/stall-body", server.addr))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let started = std::time::Instant::now();
    server.shutdown.cancel();
    let body = tokio::time::timeout((DELAY + TIMEOUT) * 3, response.bytes())
        .await
        .expect("the body ends by the deadline");
    assert!(body.is_err(), "a cut body is an error, not a short success");
    assert!(started.elapsed() >= DELAY + TIMEOUT - Duration::from_millis(50));
    tokio::time::timeout(DELAY + TIMEOUT, server.served)
        .await
        .expect("serving completes once the cut request is gone")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn a_stalled_handler_answers_503_at_the_deadline() {
    let server = start().await;
    let http = client();
    let request = http
        .get(format!("http://{}/stall-handler", server.addr))
        .send();
    let cancel = async {
        tokio::time::sleep(Duration::from_millis(50)).await;
        server.shutdown.cancel();
    };
    let (response, ()) = tokio::join!(request, cancel);
    assert_eq!(response.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    tokio::time::timeout(DELAY + TIMEOUT, server.served)
        .await
        .expect("serving completes")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn nothing_is_cut_before_shutdown() {
    let shutdown = CancellationToken::new();
    let drain = Drain::new(&shutdown, Duration::ZERO, Duration::from_millis(10));
    let cut = tokio::time::timeout(Duration::from_millis(100), drain.cut()).await;
    assert!(cut.is_err(), "no deadline runs before shutdown");
    shutdown.cancel();
    tokio::time::timeout(Duration::from_millis(500), drain.cut())
        .await
        .expect("cut 10ms after shutdown");
}
