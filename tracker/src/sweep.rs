//! The maintenance loop: sweeps expired peers and keeps the metrics recorder tidy.
//!
//! Reads already ignore dead peers, so the sweep only reclaims memory; it runs every
//! half TTL, capped at [`MAX_INTERVAL`] so histogram samples are drained into their
//! buckets often enough to keep memory flat between scrapes.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::error::Result;
use crate::state::TrackerState;

/// Longest pause between two maintenance passes.
pub const MAX_INTERVAL: Duration = Duration::from_secs(5);

/// How often maintenance runs for a given peer TTL.
pub fn interval_for(peer_ttl: Duration) -> Duration {
    (peer_ttl / 2).clamp(Duration::from_millis(10), MAX_INTERVAL)
}

/// Runs until `shutdown` fires.
pub async fn maintenance_loop(state: Arc<TrackerState>, shutdown: CancellationToken) -> Result<()> {
    let mut ticker = tokio::time::interval(interval_for(state.settings().peer_ttl));
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Ok(()),
            _ = ticker.tick() => {
                let removed = state.store().sweep(Instant::now());
                state.metrics().upkeep();
                if removed > 0 {
                    tracing::debug!(removed, peers = state.store().peer_count(), "swept expired peers");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interval_is_half_the_ttl_within_bounds() {
        assert_eq!(interval_for(Duration::from_secs(90)), MAX_INTERVAL);
        assert_eq!(interval_for(Duration::from_secs(4)), Duration::from_secs(2));
        assert_eq!(interval_for(Duration::ZERO), Duration::from_millis(10));
    }
}
