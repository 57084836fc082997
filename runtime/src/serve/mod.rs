//! The HTTP server loop every component uses instead of `axum::serve`, with bounded
//! resources on every port (`starling_config::ConnectionsConfig`):
//! - at most `max` connections at once per listener: past it, a new connection is
//!   accepted and closed at once, without reading or writing (answering 503 would mean
//!   reading the request first, which is the cost the cap avoids); the refusals are
//!   logged once per burst;
//! - a request header must arrive within `header_read_timeout` of its first byte, and a
//!   connection with nothing in flight is closed after `idle_timeout` ([`activity`]);
//! - a request body that sends nothing for `body_idle_timeout` fails ([`idle_body`]);
//!   a multi-GB upload that keeps moving is never cut;
//! - each request carries `ConnectInfo<SocketAddr>`, the client's address;
//! - with a [`ServerTls`], every connection is HTTPS: the handshake runs in the
//!   connection's task (never in the accept loop) and must finish within
//!   `header_read_timeout`; a client that fails it (plain HTTP, an unknown CA, no
//!   certificate where mutual TLS is required) is closed without an HTTP answer.
//!
//! Graceful shutdown keeps `axum::serve`'s semantics, which [`crate::Drain`] builds on:
//! when `stop` resolves the listener is closed at once, every connection is asked to
//! finish (an idle one closes, a busy one closes after its response) and `serve`
//! returns once they are all gone; the drain's middleware bounds how long that takes.
//!
//! HTTP/1.1 only: every Starling client and container runtime speaks it, and the
//! timeouts above are HTTP/1 ones.

mod activity;
mod idle_body;

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::TokioIo;
use starling_config::ConnectionsConfig;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use tower::ServiceExt;

use activity::{Activity, Expired, InFlightBody, WatchedIo};
use idle_body::IdleBody;

use crate::tls::ServerTls;

/// Serves `router` on `listener` within `limits` (over TLS when `tls` is given) until
/// `stop` resolves, then waits for the open connections to finish. Errors only if the
/// listener's address is gone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: &ConnectionsConfig,
    tls: Option<ServerTls>,
    stop: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let local = listener.local_addr()?;
    let slots = Arc::new(Semaphore::new(limits.max));
    let closing = CancellationToken::new();
    let connections = TaskTracker::new();
    let mut refusing = false;
    let mut stop = std::pin::pin!(stop);
    loop {
        let accepted = tokio::select! {
            () = &mut stop => break,
            accepted = listener.accept() => accepted,
        };
        let (stream, remote) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                accept_failed(&error).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            if !refusing {
                tracing::warn!(listen = %local, max = limits.max, "connection limit reached: new connections are closed at once");
                refusing = true;
            }
            drop(stream);
            continue;
        };
        if refusing {
            tracing::info!(listen = %local, "below the connection limit again");
            refusing = false;
        }
        let connection = Connection {
            remote,
            router: router.clone(),
            limits: *limits,
            closing: closing.clone(),
            slot,
        };
        connections.spawn(connection.start(stream, tls.clone()));
    }
    drop(listener);
    closing.cancel();
    connections.close();
    connections.wait().await;
    Ok(())
}

/// Accept errors: a connection reset before it was accepted is nothing; anything else
/// (no descriptor left) is logged and retried a second later, as `axum::serve` does.
async fn accept_failed(error: &std::io::Error) {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(
        error.kind(),
        ConnectionAborted | ConnectionRefused | ConnectionReset
    ) {
        return;
    }
    tracing::error!(%error, "accept failed; retrying in 1s");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// One accepted connection and what it is served with; `slot` is released when the
/// connection is gone.
struct Connection {
    remote: SocketAddr,
    router: Router,
    limits: ConnectionsConfig,
    closing: CancellationToken,
    slot: OwnedSemaphorePermit,
}

impl Connection {
    /// The TLS handshake first when there is one, then HTTP.
    async fn start(self, stream: TcpStream, tls: Option<ServerTls>) {
        let Some(tls) = tls else {
            return self.serve(stream).await;
        };
        let handshake = tls.acceptor().accept(stream);
        match tokio::time::timeout(self.limits.header_read_timeout, handshake).await {
            Ok(Ok(stream)) => self.serve(stream).await,
            Ok(Err(error)) => {
                tracing::debug!(remote = %self.remote, %error, "TLS handshake failed: connection closed");
            }
            Err(_) => {
                tracing::debug!(remote = %self.remote, "TLS handshake not finished in time: connection closed");
            }
        }
    }

    /// hyper serves the connection while this task watches its deadlines.
    async fn serve<S>(self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let Self {
            remote,
            router,
            limits,
            closing,
            slot,
        } = self;
        let _slot = slot;
        let activity = Arc::new(Activity::new());
        let io = TokioIo::new(WatchedIo::new(stream, activity.clone()));
        let requests = activity.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            let in_flight = requests.request_started();
            request.extensions_mut().insert(ConnectInfo(remote));
            let request =
                request.map(|body| Body::new(IdleBody::new(body, limits.body_idle_timeout)));
            let router = router.clone();
            async move {
                let response = router.oneshot(request).await?;
                Ok::<_, Infallible>(
                    response.map(|body| Body::new(InFlightBody::new(body, in_flight))),
                )
            }
        });
        let connection = http1::Builder::new().serve_connection(io, service);
        let mut connection = std::pin::pin!(connection);
        let mut finishing = false;
        loop {
            let deadline = activity.deadline(&limits);
            tokio::select! {
                served = connection.as_mut() => {
                    if let Err(error) = served {
                        tracing::debug!(%remote, %error, "connection ended with an error");
                    }
                    return;
                }
                () = closing.cancelled(), if !finishing => {
                    finishing = true;
                    connection.as_mut().graceful_shutdown();
                }
                () = tokio::time::sleep_until(deadline) => {
                    match activity.expired(&limits) {
                        Some(Expired::HeaderRead) => {
                            tracing::debug!(%remote, "request header not received in time: connection closed");
                            return;
                        }
                        Some(Expired::Idle) => {
                            tracing::debug!(%remote, "idle connection closed");
                            return;
                        }
                        None => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
#[path = "../serve_tests.rs"]
mod tests;
