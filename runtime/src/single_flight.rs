//! Single-flight: concurrent callers asking for the same key share one piece of work
//! (the origin's read-through download and torrent generation, the tracker's metainfo
//! fetch from the origins).
//!
//! The work runs in its own named task, so a caller that goes away (an HTTP client
//! disconnecting) does not cancel what the other callers wait for, and a prefetch can
//! start it without waiting ([`SingleFlight::start`]).
//!
//! Invariant: a flight's map entry is removed (by a drop guard, so also on panic)
//! *before* its value is published. Work that also stores its result elsewhere (a
//! cache, the blob store) does so before it returns, and the caller's `settled` check
//! runs under the map lock; so a caller either joins the running flight or finds the
//! stored result, and never starts a second flight for work that has just finished.
//! The map lock is a leaf, held only for map updates and the `settled` check, never
//! across an await.

use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::spawn_named;
use thiserror::Error;
use tokio::sync::watch;

type Flights<K, V> = Arc<Mutex<HashMap<K, watch::Receiver<Option<V>>>>>;

/// The shared work ended without a value: its task panicked (and logged why).
#[derive(Debug, Clone, Copy, Error)]
#[error("the shared work ended without a result (it panicked)")]
pub struct Abandoned;

/// Flights in progress, keyed by `K`, each ending in a `V` handed to every waiter.
pub struct SingleFlight<K, V> {
    flights: Flights<K, V>,
}

impl<K, V> SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    pub fn new() -> Self {
        Self {
            flights: Arc::default(),
        }
    }

    /// Joins the flight for `key`; or returns what `settled` finds; or starts the
    /// future `work()` builds in a task named `name`. Returns without waiting.
    /// `settled` runs under the map lock and must be cheap.
    pub fn start<W, F>(
        &self,
        name: &'static str,
        key: K,
        settled: impl FnOnce() -> Option<V>,
        work: W,
    ) -> Flight<V>
    where
        W: FnOnce() -> F,
        F: Future<Output = V> + Send + 'static,
    {
        let mut flights = lock(&self.flights);
        if let Some(running) = flights.get(&key) {
            return Flight::Waiting(running.clone());
        }
        if let Some(done) = settled() {
            return Flight::Settled(done);
        }
        let (publish, outcome) = watch::channel(None);
        flights.insert(key.clone(), outcome.clone());
        let landing = Landing {
            flights: self.flights.clone(),
            key,
        };
        let work = work();
        spawn_named(name, async move {
            let value = work.await;
            drop(landing);
            // Every caller may have gone away meanwhile; that is fine.
            let _ = publish.send(Some(value));
            Ok::<(), Infallible>(())
        });
        Flight::Waiting(outcome)
    }

    /// [`SingleFlight::start`], then waits for the value.
    pub async fn run<W, F>(
        &self,
        name: &'static str,
        key: K,
        settled: impl FnOnce() -> Option<V>,
        work: W,
    ) -> Result<V, Abandoned>
    where
        W: FnOnce() -> F,
        F: Future<Output = V> + Send + 'static,
    {
        self.start(name, key, settled, work).wait().await
    }

    /// Flights in progress (for tests and diagnostics).
    pub fn in_flight(&self) -> usize {
        lock(&self.flights).len()
    }
}

impl<K, V> Default for SingleFlight<K, V>
where
    K: Hash + Eq + Clone + Send + 'static,
    V: Clone + Send + Sync + 'static,
{
    fn default() -> Self {
        Self::new()
    }
}

/// Where a caller stands after [`SingleFlight::start`].
pub enum Flight<V> {
    /// The result already existed (`settled` returned it).
    Settled(V),
    /// A flight is running (just started or joined).
    Waiting(watch::Receiver<Option<V>>),
}

impl<V: Clone> Flight<V> {
    /// The flight's value; [`Abandoned`] if its task panicked.
    pub async fn wait(self) -> Result<V, Abandoned> {
        let mut outcome = match self {
            Self::Settled(done) => return Ok(done),
            Self::Waiting(outcome) => outcome,
        };
        let published = outcome
            .wait_for(Option::is_some)
            .await
            .map_err(|_| Abandoned)?;
        Ok(published.clone().expect("waited for a value"))
    }
}

/// The map holds no invariant a panic could break mid-update, so a poisoned lock is
/// still usable.
fn lock<K, V>(flights: &Flights<K, V>) -> MutexGuard<'_, HashMap<K, watch::Receiver<Option<V>>>> {
    flights.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a flight's map entry when its task ends, however it ends.
struct Landing<K: Hash + Eq, V> {
    flights: Flights<K, V>,
    key: K,
}

impl<K: Hash + Eq, V> Drop for Landing<K, V> {
    fn drop(&mut self) {
        lock(&self.flights).remove(&self.key);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use futures::future::join_all;
    use tokio::sync::Notify;

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run() {
        let flights = SingleFlight::<&str, u64>::new();
        let runs = Arc::new(AtomicUsize::new(0));
        let release = Arc::new(Notify::new());
        let calls = (0..10).map(|_| {
            let (runs, release) = (runs.clone(), release.clone());
            flights.run(
                "test",
                "a",
                || None,
                move || async move {
                    runs.fetch_add(1, Ordering::SeqCst);
                    release.notified().await;
                    7
                },
            )
        });
        // `join!` polls every call (each joins or starts the flight synchronously)
        // before the second branch releases the work.
        let (values, ()) = tokio::join!(join_all(calls), async {
            assert_eq!(flights.in_flight(), 1);
            let other = flights.run("test", "b", || None, || async { 8 }).await;
            assert_eq!(other.unwrap(), 8, "another key does not wait");
            release.notify_one();
        });
        assert!(values.into_iter().all(|v| v.unwrap() == 7));
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.in_flight(), 0);
    }

    #[tokio::test]
    async fn a_settled_result_skips_the_work_and_later_calls_run_again() {
        let flights = SingleFlight::<u8, u64>::new();
        let settled = flights
            .run("test", 1, || Some(9), || async { unreachable!("settled") })
            .await;
        assert_eq!(settled.unwrap(), 9);
        assert_eq!(
            flights
                .run("test", 1, || None, || async { 1 })
                .await
                .unwrap(),
            1
        );
        assert_eq!(
            flights
                .run("test", 1, || None, || async { 2 })
                .await
                .unwrap(),
            2,
            "a finished flight is not reused: results live in the caller's cache"
        );
    }

    #[tokio::test]
    async fn a_panic_reaches_every_waiter_and_clears_the_entry() {
        let flights = SingleFlight::<u8, u64>::new();
        let outcome = flights
            .run("test", 1, || None, || async { panic!("boom") })
            .await;
        assert!(matches!(outcome, Err(Abandoned)));
        assert_eq!(flights.in_flight(), 0);
        assert_eq!(
            flights
                .run("test", 1, || None, || async { 3 })
                .await
                .unwrap(),
            3
        );
    }
}
