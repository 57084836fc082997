//! Graceful drain of an HTTP server on shutdown, so a rolling update loses no request.
//!
//! Once the component's shutdown token fires, the component turns readiness 503 (its
//! own state), and [`Drain`] then:
//! 1. keeps the listener accepting for `delay`, so endpoints controllers and load
//!    balancers that saw the 503 stop sending new requests before connections are
//!    refused ([`Drain::closing`], the server's graceful-shutdown signal);
//! 2. closes the listener; requests in flight carry on;
//! 3. `timeout` after the listener closed, cuts every request still in flight
//!    ([`Drain::bound`]'s middleware): a handler still working answers 503, a response
//!    body still streaming ends with an error, so hyper closes the connection and the
//!    client sees a failed transfer (never a short blob that looks complete). With no
//!    request left, axum's graceful shutdown completes and `run` moves on.
//!
//! The instant shutdown was first observed is recorded once, so every request is cut at
//! the same deadline however late it started.

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::FutureExt;
use futures::future::BoxFuture;
use http_body::{Frame, SizeHint};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

/// The drain schedule of one server, shared by its graceful-shutdown signal and its
/// request middleware.
#[derive(Debug, Clone)]
pub struct Drain {
    shutdown: CancellationToken,
    delay: Duration,
    timeout: Duration,
    since: Arc<OnceLock<Instant>>,
}

impl Drain {
    /// Drains after `shutdown` fires: listeners close `delay` later, requests in flight
    /// are cut `timeout` after that.
    pub fn new(shutdown: &CancellationToken, delay: Duration, timeout: Duration) -> Self {
        Self {
            shutdown: shutdown.clone(),
            delay,
            timeout,
            since: Arc::new(OnceLock::new()),
        }
    }

    /// Resolves when the listener should stop accepting: `delay` after shutdown.
    pub async fn closing(&self) {
        let since = self.stopped_at().await;
        tokio::time::sleep_until(since + self.delay).await;
    }

    /// Resolves when requests still in flight are cut.
    pub async fn cut(&self) {
        let since = self.stopped_at().await;
        tokio::time::sleep_until(since + self.delay + self.timeout).await;
    }

    /// `router` with every request bounded by [`Self::cut`].
    pub fn bound(&self, router: Router) -> Router {
        router.layer(middleware::from_fn_with_state(self.clone(), cut_in_flight))
    }

    async fn stopped_at(&self) -> Instant {
        self.shutdown.cancelled().await;
        *self.since.get_or_init(Instant::now)
    }
}

/// Middleware: the handler races the cut; the response body is cut too.
async fn cut_in_flight(State(drain): State<Drain>, request: Request, next: Next) -> Response {
    let response = tokio::select! {
        response = next.run(request) => response,
        () = drain.cut() => {
            tracing::warn!("request cut: still running when the drain timeout ran out");
            return (StatusCode::SERVICE_UNAVAILABLE, "shutting down").into_response();
        }
    };
    let (parts, body) = response.into_parts();
    if body.is_end_stream() {
        return Response::from_parts(parts, body);
    }
    let cut = async move { drain.cut().await }.boxed();
    Response::from_parts(parts, Body::new(CutBody { inner: body, cut }))
}

/// A response body that fails once the drain cuts it.
struct CutBody {
    inner: Body,
    cut: BoxFuture<'static, ()>,
}

impl HttpBody for CutBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if self.cut.poll_unpin(cx).is_ready() {
            tracing::warn!("response cut: still streaming when the drain timeout ran out");
            let error = std::io::Error::other("the server is shutting down");
            return Poll::Ready(Some(Err(axum::Error::new(error))));
        }
        Pin::new(&mut self.inner).poll_frame(cx)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

#[cfg(test)]
#[path = "drain_tests.rs"]
mod tests;
