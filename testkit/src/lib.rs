//! Shared test support for Starling's crates: real servers on loopback, test data and
//! polling waits. Used only as a dev-dependency.
//!
//! - [`wait_until`]: poll a condition with a deadline instead of sleeping blindly;
//! - [`BlobFixture`]: deterministic incompressible blobs with their digest;
//! - [`ServerProcess`], [`MotoServer`] and [`DistributionRegistry`]: external servers
//!   (moto_server, docker-registry) on a random port outside the ephemeral range,
//!   retried on another port if one is taken, restartable on the same port;
//! - [`OriginFixture`] and [`BuildIndexFixture`]: an origin or a build-index served by
//!   its `run` on a listener bound to `127.0.0.1:0`;
//! - [`CountingBackend`]: a backend wrapper that counts requests and can hold or fail them;
//! - [`clients`]: real registry clients (docker, skopeo, podman, ctr) run from async tests.

mod backend;
mod blob;
mod build_index;
pub mod clients;
mod distribution;
mod moto;
pub mod oci;
mod origin;
mod process;

use std::future::Future;
use std::time::{Duration, Instant};

pub use backend::CountingBackend;
pub use blob::{BlobFixture, pseudo_random};
pub use build_index::BuildIndexFixture;
pub use distribution::{DistributionRegistry, NotifyEndpoint, RegistryOptions};
pub use moto::MotoServer;
pub use origin::{OriginFixture, loopback_listener, origin_config, restartable_listener};
pub use process::{ServerProcess, random_port, require_program, restartable_ports, run_command};

/// How often [`wait_until`] re-checks its condition.
pub const POLL_INTERVAL: Duration = Duration::from_millis(20);

/// Polls `condition` until it holds or `timeout` passes; returns whether it held, for
/// tests that assert on the outcome themselves.
pub async fn poll_until<F, Fut>(timeout: Duration, mut condition: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    loop {
        if condition().await {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}

/// Polls `condition` until it holds, failing the test after `timeout` with `what`.
pub async fn wait_until<F, Fut>(what: &str, timeout: Duration, mut condition: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !condition().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(POLL_INTERVAL).await;
    }
}
