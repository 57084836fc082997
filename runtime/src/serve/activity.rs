//! What one connection is doing, for its deadlines: requests in flight (from the
//! service call until the response body is finished or dropped), when it last went
//! idle, and when the first byte of the next request arrived.
//!
//! With nothing in flight, a connection that reads no byte is closed `idle_timeout`
//! after it went idle, and one that read a byte but no full header yet is closed
//! `header_read_timeout` after that byte. While a request is in flight neither runs
//! (its body has its own timeout, and the drain bounds it at shutdown).

use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};

use axum::body::{Body, Bytes, HttpBody};
use http_body::{Frame, SizeHint};
use starling_config::ConnectionsConfig;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::Instant;

/// Which deadline passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expired {
    HeaderRead,
    Idle,
}

#[derive(Debug)]
struct State {
    in_flight: usize,
    idle_since: Instant,
    first_byte: Option<Instant>,
}

#[derive(Debug)]
pub struct Activity {
    state: Mutex<State>,
}

impl Activity {
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State {
                in_flight: 0,
                idle_since: Instant::now(),
                first_byte: None,
            }),
        }
    }

    /// A request's header was parsed; it is in flight until the guard drops.
    pub fn request_started(self: &Arc<Self>) -> InFlight {
        let mut state = self.lock();
        state.in_flight += 1;
        state.first_byte = None;
        InFlight(self.clone())
    }

    fn bytes_read(&self) {
        let mut state = self.lock();
        if state.in_flight == 0 && state.first_byte.is_none() {
            state.first_byte = Some(Instant::now());
        }
    }

    /// The next instant a deadline may pass; with a request in flight, when to look
    /// again (the shorter timeout from now).
    pub fn deadline(&self, limits: &ConnectionsConfig) -> Instant {
        let state = self.lock();
        match (state.in_flight, state.first_byte) {
            (0, Some(first)) => first + limits.header_read_timeout,
            (0, None) => state.idle_since + limits.idle_timeout,
            _ => Instant::now() + limits.header_read_timeout.min(limits.idle_timeout),
        }
    }

    /// The deadline that has passed by now, if any.
    pub fn expired(&self, limits: &ConnectionsConfig) -> Option<Expired> {
        let state = self.lock();
        let now = Instant::now();
        match (state.in_flight, state.first_byte) {
            (0, Some(first)) if now >= first + limits.header_read_timeout => {
                Some(Expired::HeaderRead)
            }
            (0, None) if now >= state.idle_since + limits.idle_timeout => Some(Expired::Idle),
            _ => None,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state
            .lock()
            .expect("connection activity lock poisoned")
    }
}

/// One request in flight; dropping it ends the request.
pub struct InFlight(Arc<Activity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut state = self.0.lock();
        state.in_flight -= 1;
        if state.in_flight == 0 {
            state.idle_since = Instant::now();
            state.first_byte = None;
        }
    }
}

/// A response body that keeps its request in flight until it is finished or dropped.
pub struct InFlightBody {
    inner: Body,
    in_flight: Option<InFlight>,
}

impl InFlightBody {
    pub fn new(inner: Body, in_flight: InFlight) -> Self {
        Self {
            inner,
            in_flight: Some(in_flight),
        }
    }
}

impl HttpBody for InFlightBody {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        if let Poll::Ready(None) = polled {
            self.in_flight.take();
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// The connection's socket (or TLS stream), noting each read in its [`Activity`].
pub struct WatchedIo<S> {
    stream: S,
    activity: Arc<Activity>,
}

impl<S> WatchedIo<S> {
    pub fn new(stream: S, activity: Arc<Activity>) -> Self {
        Self { stream, activity }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for WatchedIo<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.stream).poll_read(cx, buf);
        if matches!(polled, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.activity.bytes_read();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for WatchedIo<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }
}
