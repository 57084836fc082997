//! Counters of the pull-authorization gate, in the agent's metrics registry.
//!
//! | metric | kind | meaning |
//! |---|---|---|
//! | `starling_agent_pull_auth_allowed_total` | counter | requests for private repositories (and token requests) let through |
//! | `starling_agent_pull_auth_denied_total` | counter | requests answered 401 or 403 by the gate |
//! | `starling_agent_pull_auth_cache_hits_total` | counter | decisions taken from memory, with no request to the registry |
//! | `starling_agent_pull_auth_checks_total` | counter | checks sent to the registry |
//! | `starling_agent_pull_auth_unavailable_total` | counter | checks the registry did not answer (the pull got 503) |

use metrics::Counter;
use starling_runtime::MetricsRegistry;

#[derive(Debug, Clone)]
pub struct PullAuthMetrics {
    pub allowed: Counter,
    pub denied: Counter,
    pub cache_hits: Counter,
    pub checks: Counter,
    pub unavailable: Counter,
}

impl PullAuthMetrics {
    pub fn register(registry: &MetricsRegistry) -> Self {
        registry.register(|| Self {
            allowed: metrics::counter!("starling_agent_pull_auth_allowed_total"),
            denied: metrics::counter!("starling_agent_pull_auth_denied_total"),
            cache_hits: metrics::counter!("starling_agent_pull_auth_cache_hits_total"),
            checks: metrics::counter!("starling_agent_pull_auth_checks_total"),
            unavailable: metrics::counter!("starling_agent_pull_auth_unavailable_total"),
        })
    }
}
