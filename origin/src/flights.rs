//! The origin's single-flights (read-through downloads, torrent generation) over the
//! runtime's [`SingleFlight`]: every waiter gets the same outcome, a failure shared as
//! [`Error::Shared`], and a panicked flight is an error, not a hang.

use std::future::Future;
use std::sync::Arc;

use starling_core::Digest;
use starling_runtime::{Flight, SingleFlight};

use crate::error::{Error, Result};

/// A flight's outcome as every waiter receives it.
pub type Shared<T> = std::result::Result<T, Arc<Error>>;

/// Flights in progress, keyed by digest.
pub type Flights<T> = SingleFlight<Digest, Shared<T>>;

/// A caller's place in a flight (see [`SingleFlight::start`]).
pub type Joined<T> = Flight<Shared<T>>;

/// Joins the flight for `digest`, or takes what `settled` finds, or starts `work` in a
/// task named `name`; does not wait.
pub fn start<T, F>(
    flights: &Flights<T>,
    name: &'static str,
    digest: Digest,
    settled: impl FnOnce() -> Option<T>,
    work: F,
) -> Joined<T>
where
    T: Clone + Send + Sync + 'static,
    F: Future<Output = Result<T>> + Send + 'static,
{
    let settled = || settled().map(Ok);
    flights.start(name, digest, settled, || async move {
        work.await.map_err(Arc::new)
    })
}

/// Waits for the outcome of a flight joined with [`start`].
pub async fn wait<T: Clone>(joined: Joined<T>) -> Result<T> {
    match joined.wait().await {
        Ok(Ok(done)) => Ok(done),
        Ok(Err(shared)) => Err(Error::Shared(shared)),
        Err(abandoned) => Err(Error::Config(abandoned.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn failures_and_panics_reach_the_waiter_as_errors() {
        let flights = Flights::<u64>::new();
        let digest = Digest::of(b"y");
        let failed = start(&flights, "test", digest, || None, async {
            Err(Error::Config("nope".into()))
        });
        let err = wait(failed).await.unwrap_err();
        assert!(matches!(err.root(), Error::Config(_)), "{err}");

        let panicked = start(&flights, "test", digest, || None, async { panic!("boom") });
        let err = wait(panicked).await.unwrap_err();
        assert!(err.to_string().contains("panicked"), "{err}");
        assert_eq!(flights.in_flight(), 0);

        let settled = start(&flights, "test", digest, || Some(9), async { Ok(1) });
        assert_eq!(wait(settled).await.unwrap(), 9);
    }
}
