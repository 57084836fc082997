//! Single-flight by digest: concurrent requests for the same missing blob (or the same
//! metainfo) share one piece of work instead of each doing it.
//!
//! The work runs in its own named task, so a client that disconnects does not cancel
//! the fetch the others wait for, and a prefetch can start it without waiting.
//!
//! Invariant: a flight's map entry is removed (by a drop guard, so also on panic)
//! *before* its outcome is published. Together with the caller's `settled` check, which
//! runs under the map lock, this means a request either joins the running flight, or
//! finds the finished result (e.g. the committed blob), and never starts a second
//! flight for work that has just completed. The map lock is a leaf, held only for map
//! updates and the `settled` check.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::sync::{Arc, Mutex};

use starling_core::Digest;
use starling_runtime::spawn_named;
use tokio::sync::watch;

use crate::error::{Error, Result};

type Outcome<T> = Option<std::result::Result<T, Arc<Error>>>;
type Flights<T> = Arc<Mutex<HashMap<Digest, watch::Receiver<Outcome<T>>>>>;

/// Flights in progress, keyed by digest.
pub struct SingleFlight<T> {
    flights: Flights<T>,
}

/// Where a caller stands after [`SingleFlight::start`].
pub enum Joined<T> {
    /// The result already existed (`settled` returned it).
    Settled(T),
    /// A flight is running (just started or joined); wait for it with [`Joined::wait`].
    Waiting(watch::Receiver<Outcome<T>>),
}

impl<T: Clone + Send + Sync + 'static> SingleFlight<T> {
    pub fn new() -> Self {
        Self {
            flights: Arc::default(),
        }
    }

    /// Joins the flight for `digest`, or returns what `settled` finds, or starts `work`
    /// in a task named `name`. `settled` runs under the map lock and must be cheap.
    pub fn start<F>(
        &self,
        name: &'static str,
        digest: Digest,
        settled: impl FnOnce() -> Option<T>,
        work: F,
    ) -> Joined<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
    {
        let mut flights = self.flights.lock().expect("single-flight lock poisoned");
        if let Some(running) = flights.get(&digest) {
            return Joined::Waiting(running.clone());
        }
        if let Some(done) = settled() {
            return Joined::Settled(done);
        }
        let (publish, outcome) = watch::channel(None);
        flights.insert(digest, outcome.clone());
        let guard = Landing {
            flights: self.flights.clone(),
            digest,
        };
        spawn_named(name, async move {
            let result = work.await.map_err(Arc::new);
            drop(guard);
            // Nobody may be waiting any more (all clients left); that is fine.
            let _ = publish.send(Some(result));
            Ok::<(), Infallible>(())
        });
        Joined::Waiting(outcome)
    }

    /// [`SingleFlight::start`], then waits for the outcome.
    pub async fn run<F>(
        &self,
        name: &'static str,
        digest: Digest,
        settled: impl FnOnce() -> Option<T>,
        work: F,
    ) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
    {
        self.start(name, digest, settled, work).wait().await
    }

    /// Flights in progress (for tests and diagnostics).
    pub fn in_flight(&self) -> usize {
        self.flights
            .lock()
            .expect("single-flight lock poisoned")
            .len()
    }
}

impl<T: Clone + Send + Sync + 'static> Default for SingleFlight<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Clone> Joined<T> {
    pub async fn wait(self) -> Result<T> {
        let mut outcome = match self {
            Self::Settled(done) => return Ok(done),
            Self::Waiting(outcome) => outcome,
        };
        let published = outcome.wait_for(Option::is_some).await.map_err(|_| {
            Error::Config("a single-flight task ended without a result (it panicked)".into())
        })?;
        match published.as_ref().expect("waited for Some") {
            Ok(done) => Ok(done.clone()),
            Err(shared) => Err(Error::Shared(shared.clone())),
        }
    }
}

/// Removes a flight's map entry when its task ends, however it ends.
struct Landing<T> {
    flights: Flights<T>,
    digest: Digest,
}

impl<T> Drop for Landing<T> {
    fn drop(&mut self) {
        if let Ok(mut flights) = self.flights.lock() {
            flights.remove(&self.digest);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights = Arc::new(SingleFlight::<u64>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let digest = Digest::of(b"x");
        let mut waiters = Vec::new();
        for _ in 0..10 {
            let (runs, release) = (runs.clone(), release.clone());
            let joined = flights.start("test", digest, || None, async move {
                runs.fetch_add(1, Ordering::SeqCst);
                release.notified().await;
                Ok(7)
            });
            waiters.push(tokio::spawn(joined.wait()));
        }
        assert_eq!(flights.in_flight(), 1);
        release.notify_one();
        for waiter in waiters {
            assert_eq!(waiter.await.unwrap().unwrap(), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
        let settled = flights
            .run("test", digest, || Some(9), async { Ok(1) })
            .await;
        assert_eq!(settled.unwrap(), 9, "a settled result skips the work");
    }

    #[tokio::test]
    async fn failures_and_panics_reach_every_waiter_and_clear_the_entry() {
        let flights = SingleFlight::<u64>::new();
        let digest = Digest::of(b"y");
        let err = flights
            .run("test", digest, || None, async {
                Err(Error::Config("nope".into()))
            })
            .await
            .unwrap_err();
        assert!(matches!(err.root(), Error::Config(_)), "{err}");
        assert_eq!(flights.in_flight(), 0);

        let err = flights
            .run("test", digest, || None, async { panic!("boom") })
            .await
            .unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(
            flights
                .run("test", digest, || None, async { Ok(3) })
                .await
                .unwrap(),
            3
        );
    }
}
