//! Preheat counters, registered in the agent's metrics registry.
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_agent_preloads_started_total` | counter | preloads begun (endpoint and poller) |
//! | `starling_agent_preloads_completed_total` | counter | preloads with every blob in the cache |
//! | `starling_agent_preloads_failed_total` | counter | preloads that stopped on an error |
//! | `starling_agent_preload_bytes_total` | counter | bytes of blobs a preload downloaded (cached ones excluded) |
//! | `starling_agent_preheat_polls_total` | counter | change-feed polls answered |
//! | `starling_agent_preheat_polls_failed_total` | counter | change-feed polls the build-index did not answer |

use metrics::Counter;
use starling_runtime::MetricsRegistry;

#[derive(Debug)]
pub struct PreheatMetrics {
    pub started: Counter,
    pub completed: Counter,
    pub failed: Counter,
    pub bytes: Counter,
    pub polls: Counter,
    pub polls_failed: Counter,
}

impl PreheatMetrics {
    pub fn new(registry: &MetricsRegistry) -> Self {
        registry.register(|| Self {
            started: metrics::counter!("starling_agent_preloads_started_total"),
            completed: metrics::counter!("starling_agent_preloads_completed_total"),
            failed: metrics::counter!("starling_agent_preloads_failed_total"),
            bytes: metrics::counter!("starling_agent_preload_bytes_total"),
            polls: metrics::counter!("starling_agent_preheat_polls_total"),
            polls_failed: metrics::counter!("starling_agent_preheat_polls_failed_total"),
        })
    }
}
