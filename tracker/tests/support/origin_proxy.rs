//! [`OriginProxy`]: an HTTP proxy on loopback between a tracker and one origin. It
//! counts the metainfo requests that reach the origin, which the origin itself does not
//! expose, and can hold them at a gate so a test controls when the origin answers.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

struct Shared {
    upstream: SocketAddr,
    http: reqwest::Client,
    metainfo_requests: AtomicUsize,
    gate: watch::Sender<bool>,
}

/// Forwards every GET to `upstream`, counting those for `.../metainfo`.
pub struct OriginProxy {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: CancellationToken,
    task: JoinHandle<std::io::Result<()>>,
}

impl OriginProxy {
    pub async fn start(upstream: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind loopback");
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(Shared {
            upstream,
            http: reqwest::Client::new(),
            metainfo_requests: AtomicUsize::new(0),
            gate: watch::Sender::new(true),
        });
        let app = Router::new().fallback(forward).with_state(shared.clone());
        let shutdown = CancellationToken::new();
        let stop = shutdown.clone();
        let task = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(stop.cancelled_owned())
                .await
        });
        Self {
            addr,
            shared,
            shutdown,
            task,
        }
    }

    /// `host:port` to put in a tracker's origin list.
    pub fn host(&self) -> String {
        self.addr.to_string()
    }

    /// Metainfo requests received so far (held ones included).
    pub fn metainfo_requests(&self) -> usize {
        self.shared.metainfo_requests.load(Ordering::SeqCst)
    }

    /// Holds metainfo requests (after counting them) until [`Self::open_gate`].
    pub fn close_gate(&self) {
        self.shared.gate.send_replace(false);
    }

    pub fn open_gate(&self) {
        self.shared.gate.send_replace(true);
    }

    pub async fn stop(self) {
        self.open_gate();
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(10), self.task)
            .await
            .expect("the proxy stops")
            .expect("the proxy does not panic")
            .expect("the proxy ends cleanly");
    }
}

async fn forward(State(shared): State<Arc<Shared>>, request: Request) -> Response {
    let path = request.uri().path_and_query().map_or("/", |p| p.as_str());
    if request.uri().path().ends_with("/metainfo") {
        shared.metainfo_requests.fetch_add(1, Ordering::SeqCst);
        let mut gate = shared.gate.subscribe();
        let _ = gate.wait_for(|open| *open).await;
    }
    let url = format!("http://{}{path}", shared.upstream);
    let upstream = match shared.http.get(&url).send().await {
        Ok(upstream) => upstream,
        Err(error) => return (StatusCode::BAD_GATEWAY, error.to_string()).into_response(),
    };
    let status = StatusCode::from_u16(upstream.status().as_u16()).unwrap();
    let content_type = upstream
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_owned();
    let body = upstream.bytes().await.unwrap_or_default();
    (status, [(header::CONTENT_TYPE, content_type)], body).into_response()
}
