//! Preheat: this node pulls an image into its cache before the container runtime asks.
//!
//! - [`preload`]: one image by tag or digest — its manifest, an index's child
//!   manifests for this node's platform, and every config and layer, through the
//!   engine like any pull (from the cache, other agents or the origins), so a later
//!   `docker pull` or kubelet pull is served from the cache;
//! - [`poller`]: with `preheat.repositories` set, polls the build-index's change feed
//!   (`GET /changes`) and preloads every pushed tag of a matching repository, each after
//!   a random delay below `preheat.jitter`, at most `preheat.concurrency` at once;
//! - [`handler`]: `POST /preload?repository=…&tag=…` (or `&digest=…`) on the admin
//!   port, answered when the image is in the cache;
//! - [`metrics`]: the `starling_agent_preloads_*` counters.

pub mod handler;
pub mod metrics;
pub mod platform;
pub mod poller;
pub mod preload;

use std::sync::Arc;

use starling_config::PreheatConfig;

pub use metrics::PreheatMetrics;
pub use preload::{Preloaded, preload};

/// What the preload endpoint and the poller share: the config and the counters.
pub struct Preheat {
    pub config: PreheatConfig,
    pub metrics: Arc<PreheatMetrics>,
}
