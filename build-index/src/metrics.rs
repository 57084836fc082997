//! Prometheus metrics of one build-index instance.
//!
//! Each [`BuildIndexMetrics`] owns a [`MetricsRegistry`] (several build-indexes run in one
//! test process); handles are registered once, so the request path only increments.
//!
//! Metrics: `starling_build_index_puts_total{from}` (client, replica),
//! `starling_build_index_lookups_total{result}` (local, backend, stale, miss),
//! `starling_build_index_forwards_total{outcome}` (delivered, queued, retried, given_up),
//! `starling_build_index_backend_errors_total` and the gauge
//! `starling_build_index_replication_queue`.

use metrics::{Counter, Gauge};
use starling_runtime::MetricsRegistry;

const PUTS: &str = "starling_build_index_puts_total";
const LOOKUPS: &str = "starling_build_index_lookups_total";
const FORWARDS: &str = "starling_build_index_forwards_total";
const BACKEND_ERRORS: &str = "starling_build_index_backend_errors_total";
const QUEUE: &str = "starling_build_index_replication_queue";

/// Who sent a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutFrom {
    Client,
    Replica,
}

/// How a tag lookup was answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup {
    /// From the local database (a push, or a fresh read-through copy).
    Local,
    /// Read through from the tag backend.
    Backend,
    /// From an expired copy because the backend failed.
    Stale,
    /// Unknown locally and in the backend.
    Miss,
}

/// What became of one forward to a replica.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forward {
    Delivered,
    Queued,
    Retried,
    GivenUp,
}

pub struct BuildIndexMetrics {
    registry: MetricsRegistry,
    puts: [Counter; 2],
    lookups: [Counter; 4],
    forwards: [Counter; 4],
    backend_errors: Counter,
    queue: Gauge,
}

impl BuildIndexMetrics {
    pub fn new() -> Self {
        let registry = MetricsRegistry::new();
        let (puts, lookups, forwards, backend_errors, queue) = registry.register(|| {
            metrics::describe_counter!(PUTS, "Tag puts applied, by sender.");
            metrics::describe_counter!(LOOKUPS, "Tag lookups, by how they were answered.");
            metrics::describe_counter!(FORWARDS, "Forwards of puts to replicas, by outcome.");
            metrics::describe_counter!(
                BACKEND_ERRORS,
                "Failed reads and writes of the tag backend."
            );
            metrics::describe_gauge!(QUEUE, "Forwards waiting to be retried.");
            (
                ["client", "replica"].map(|from| metrics::counter!(PUTS, "from" => from)),
                ["local", "backend", "stale", "miss"]
                    .map(|result| metrics::counter!(LOOKUPS, "result" => result)),
                ["delivered", "queued", "retried", "given_up"]
                    .map(|outcome| metrics::counter!(FORWARDS, "outcome" => outcome)),
                metrics::counter!(BACKEND_ERRORS),
                metrics::gauge!(QUEUE),
            )
        });
        Self {
            registry,
            puts,
            lookups,
            forwards,
            backend_errors,
            queue,
        }
    }

    pub fn put(&self, from: PutFrom) {
        self.puts[from as usize].increment(1);
    }

    pub fn lookup(&self, result: Lookup) {
        self.lookups[result as usize].increment(1);
    }

    pub fn forward(&self, outcome: Forward) {
        self.forwards[outcome as usize].increment(1);
    }

    pub fn backend_error(&self) {
        self.backend_errors.increment(1);
    }

    /// Prometheus text, with the queue gauge set to `queued` first.
    pub fn render(&self, queued: u64) -> String {
        self.queue.set(queued as f64);
        self.registry.render()
    }
}

impl Default for BuildIndexMetrics {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_labelled_and_instances_separate() {
        let a = BuildIndexMetrics::new();
        let b = BuildIndexMetrics::new();
        a.put(PutFrom::Replica);
        a.lookup(Lookup::Stale);
        a.forward(Forward::GivenUp);
        a.backend_error();
        let text = a.render(3);
        for line in [
            r#"starling_build_index_puts_total{from="replica"} 1"#,
            r#"starling_build_index_lookups_total{result="stale"} 1"#,
            r#"starling_build_index_forwards_total{outcome="given_up"} 1"#,
            "starling_build_index_backend_errors_total 1",
            "starling_build_index_replication_queue 3",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(!b.render(0).contains(r#"{from="replica"} 1"#));
    }
}
