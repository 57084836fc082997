//! A request body that fails when the client sends nothing for a while, so a trickling
//! or stalled upload cannot hold its connection forever; one that keeps moving is never
//! cut, however large.
//!
//! The clock runs only while the handler waits on the body: a handler that reads the
//! body late is not charged for the time before it started reading.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Bytes;
use futures::FutureExt;
use http_body::{Body as HttpBody, Frame, SizeHint};
use hyper::body::Incoming;
use tokio::time::{Instant, Sleep};

pub struct IdleBody {
    inner: Incoming,
    timeout: Duration,
    /// Set while the handler waits for bytes: when it runs out, the body fails.
    waiting: Option<Pin<Box<Sleep>>>,
}

impl IdleBody {
    pub fn new(inner: Incoming, timeout: Duration) -> Self {
        Self {
            inner,
            timeout,
            waiting: None,
        }
    }
}

impl HttpBody for IdleBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        if let Poll::Ready(frame) = Pin::new(&mut self.inner).poll_frame(cx) {
            self.waiting = None;
            return Poll::Ready(frame.map(|frame| frame.map_err(axum::Error::new)));
        }
        let timeout = self.timeout;
        let waiting = self
            .waiting
            .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(Instant::now() + timeout)));
        if waiting.poll_unpin(cx).is_ready() {
            tracing::debug!(?timeout, "request body sent nothing in time");
            let error = std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!("the request body sent nothing for {timeout:?}"),
            );
            return Poll::Ready(Some(Err(axum::Error::new(error))));
        }
        Poll::Pending
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
