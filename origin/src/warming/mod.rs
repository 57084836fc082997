//! Warming on push: `POST /notifications` takes the CNCF distribution registry's
//! notification envelope (from the proxy's `notifications:`, from a distribution
//! registry's `notifications.endpoints`, or from Harbor webhooks in that format) and,
//! for every pushed manifest, gets the manifest and everything it references into the
//! caches of the origins that own them, from the storage backend, before the first
//! agent asks.
//!
//! The receiver may be any origin (a Service address): it warms the owners, not itself.
//! The manifest (and an index's child manifests) are read through the origin cluster,
//! which reads them through on their owners; every config and layer is a `prefetch` on
//! its first reachable owner, which downloads it in the background.
//!
//! The answer is 202 as soon as the envelope parses: senders (distribution, Harbor)
//! have short timeouts and retry what is not acknowledged. Warming runs in background
//! tasks, at most [`MAX_WARMING`] images at once; an event that finds no room is
//! dropped and counted, as warming is only a head start, never needed for a pull.
//!
//! Writes go through the cluster token like every origin write: with `auth.token`
//! set, a notification needs `Authorization: Bearer <token>` (distribution's endpoint
//! `headers`, Harbor's auth header, the proxy's `cluster_token: true`), since each one
//! makes the origins read from the backend.

mod image;

use std::convert::Infallible;
use std::sync::Arc;

use starling_clients::OriginCluster;
use starling_core::registry::notification::{Envelope, PushedManifest};
use starling_runtime::spawn_named;
use tokio::sync::Semaphore;
use tracing::{info, warn};

use crate::metrics::OriginMetrics;

/// Images warmed at once; more events wait for a slot.
pub const MAX_WARMING: usize = 4;
/// Events waiting for a slot; past this, new ones are dropped.
pub const MAX_WAITING: usize = 256;

/// Turns push events into prefetches on the owners.
pub struct Warmer {
    origins: OriginCluster,
    running: Arc<Semaphore>,
    waiting: Arc<Semaphore>,
    metrics: Arc<OriginMetrics>,
}

impl Warmer {
    /// `origins` must carry the cluster token: prefetches are writes.
    pub fn new(origins: OriginCluster, metrics: Arc<OriginMetrics>) -> Self {
        Self {
            origins,
            running: Arc::new(Semaphore::new(MAX_WARMING)),
            waiting: Arc::new(Semaphore::new(MAX_WAITING)),
            metrics,
        }
    }

    /// Starts warming every manifest push in `envelope`; returns how many were taken.
    pub fn accept(&self, envelope: &Envelope) -> usize {
        let pushed = envelope.pushed_manifests();
        let mut taken = 0;
        for manifest in pushed {
            self.metrics.notifications_received.increment(1);
            let Ok(waiting) = self.waiting.clone().try_acquire_owned() else {
                self.metrics.warm_failures.increment(1);
                warn!(name = %manifest.repository, digest = %manifest.digest, "too many images warming; push event dropped");
                continue;
            };
            taken += 1;
            let (origins, running, metrics) = (
                self.origins.clone(),
                self.running.clone(),
                self.metrics.clone(),
            );
            spawn_named("warm-image", async move {
                let _running = running.acquire_owned().await;
                drop(waiting);
                warm(&origins, &manifest, &metrics).await;
                Ok::<(), Infallible>(())
            });
        }
        taken
    }
}

async fn warm(origins: &OriginCluster, manifest: &PushedManifest, metrics: &OriginMetrics) {
    match image::warm(origins, manifest, metrics).await {
        Ok(blobs) => {
            info!(name = %manifest.repository, digest = %manifest.digest, tag = ?manifest.tag, blobs, "image warmed on its owners")
        }
        Err(error) => {
            metrics.warm_failures.increment(1);
            warn!(name = %manifest.repository, digest = %manifest.digest, %error, "warming an image failed");
        }
    }
}
