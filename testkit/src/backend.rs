//! [`CountingBackend`]: wraps a backend, counts its calls, and can hold downloads at a
//! gate or fail uploads (a simulated outage) on demand.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use async_trait::async_trait;
use starling_backend::{Backend, ByteStream, Error, Key, ListScope, Result};
use tokio::sync::watch;

/// A backend wrapper for tests.
pub struct CountingBackend {
    inner: Arc<dyn Backend>,
    stats: AtomicUsize,
    downloads: AtomicUsize,
    uploads: AtomicUsize,
    failing: AtomicBool,
    gate: watch::Sender<bool>,
}

impl CountingBackend {
    pub fn new(inner: Arc<dyn Backend>) -> Arc<Self> {
        Arc::new(Self {
            inner,
            stats: AtomicUsize::new(0),
            downloads: AtomicUsize::new(0),
            uploads: AtomicUsize::new(0),
            failing: AtomicBool::new(false),
            gate: watch::Sender::new(true),
        })
    }

    /// Stats asked so far (failed ones included).
    pub fn stats(&self) -> usize {
        self.stats.load(Ordering::SeqCst)
    }

    /// Downloads started so far.
    pub fn downloads(&self) -> usize {
        self.downloads.load(Ordering::SeqCst)
    }

    /// Uploads attempted so far (failed ones included).
    pub fn uploads(&self) -> usize {
        self.uploads.load(Ordering::SeqCst)
    }

    /// While set, every call fails as if the backend were unreachable.
    pub fn set_failing(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    /// Makes downloads wait (after being counted) until [`Self::open_gate`].
    pub fn close_gate(&self) {
        self.gate.send_replace(false);
    }

    pub fn open_gate(&self) {
        self.gate.send_replace(true);
    }

    fn check(&self) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Io(std::io::Error::new(
                std::io::ErrorKind::ConnectionRefused,
                "simulated backend outage",
            )));
        }
        Ok(())
    }
}

#[async_trait]
impl Backend for CountingBackend {
    async fn stat(&self, key: &Key) -> Result<Option<u64>> {
        self.stats.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.stat(key).await
    }

    async fn download(&self, key: &Key) -> Result<ByteStream> {
        self.downloads.fetch_add(1, Ordering::SeqCst);
        let mut gate = self.gate.subscribe();
        // The sender lives in `self`, so the wait cannot fail while `self` is borrowed.
        let _ = gate.wait_for(|open| *open).await;
        self.check()?;
        self.inner.download(key).await
    }

    async fn upload(&self, key: &Key, size: u64, body: ByteStream) -> Result<()> {
        self.uploads.fetch_add(1, Ordering::SeqCst);
        self.check()?;
        self.inner.upload(key, size, body).await
    }

    async fn list(&self, scope: &ListScope) -> Result<Vec<String>> {
        self.check()?;
        self.inner.list(scope).await
    }
}

impl fmt::Debug for CountingBackend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CountingBackend")
            .field("inner", &self.inner)
            .field("stats", &self.stats())
            .field("downloads", &self.downloads())
            .field("uploads", &self.uploads())
            .finish()
    }
}
