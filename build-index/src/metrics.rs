//! Prometheus metrics of one build-index instance.
//!
//! Each [`BuildIndexMetrics`] owns a [`MetricsRegistry`] (several build-indexes run in one
//! test process); handles are registered once, so the request path only increments.
//!
//! Metrics: `starling_build_index_puts_total{from}` (client, replica, remote),
//! `starling_build_index_lookups_total{result}` (local, backend, stale, miss),
//! `starling_build_index_forwards_total{outcome}` (delivered, queued, retried, given_up),
//! `starling_build_index_backend_errors_total`, the gauge
//! `starling_build_index_replication_queue`; for remote clusters
//! `starling_build_index_remote_tasks_total{outcome}` (queued, delivered, failed,
//! given_up, dropped), `starling_build_index_remote_blobs_total{result}` (present,
//! copied), `starling_build_index_remote_copied_bytes_total` and the gauge
//! `starling_build_index_remote_queue`.

use metrics::{Counter, Gauge};
use starling_runtime::MetricsRegistry;

const PUTS: &str = "starling_build_index_puts_total";
const LOOKUPS: &str = "starling_build_index_lookups_total";
const FORWARDS: &str = "starling_build_index_forwards_total";
const BACKEND_ERRORS: &str = "starling_build_index_backend_errors_total";
const QUEUE: &str = "starling_build_index_replication_queue";
const REMOTE_TASKS: &str = "starling_build_index_remote_tasks_total";
const REMOTE_BLOBS: &str = "starling_build_index_remote_blobs_total";
const REMOTE_BYTES: &str = "starling_build_index_remote_copied_bytes_total";
const REMOTE_QUEUE: &str = "starling_build_index_remote_queue";

/// Who sent a put.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutFrom {
    Client,
    Replica,
    /// A build-index of another cluster.
    Remote,
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

/// What became of a task for a remote cluster (one event per attempt or decision).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteTask {
    /// Queued after a client put.
    Queued,
    /// Blobs on the remote origins and the tag on the remote build-index.
    Delivered,
    /// An attempt failed; the task is retried after its backoff.
    Failed,
    /// Failed for good (`max_attempts`, a manifest that cannot be followed, or the
    /// remote refused the tag).
    GivenUp,
    /// Its remote is no longer configured for the repository.
    Dropped,
}

/// What a remote task found for one blob on the remote origins.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemoteBlob {
    /// Already there.
    Present,
    /// Streamed from the local origins.
    Copied,
}

pub struct BuildIndexMetrics {
    registry: MetricsRegistry,
    puts: [Counter; 3],
    lookups: [Counter; 4],
    forwards: [Counter; 4],
    backend_errors: Counter,
    queue: Gauge,
    remote: RemoteHandles,
}

struct RemoteHandles {
    tasks: [Counter; 5],
    blobs: [Counter; 2],
    bytes: Counter,
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
                ["client", "replica", "remote"].map(|from| metrics::counter!(PUTS, "from" => from)),
                ["local", "backend", "stale", "miss"]
                    .map(|result| metrics::counter!(LOOKUPS, "result" => result)),
                ["delivered", "queued", "retried", "given_up"]
                    .map(|outcome| metrics::counter!(FORWARDS, "outcome" => outcome)),
                metrics::counter!(BACKEND_ERRORS),
                metrics::gauge!(QUEUE),
            )
        });
        let remote = registry.register(|| {
            metrics::describe_counter!(REMOTE_TASKS, "Tasks for remote clusters, by outcome.");
            metrics::describe_counter!(
                REMOTE_BLOBS,
                "Blobs checked on remote origins, by whether they had to be copied."
            );
            metrics::describe_counter!(REMOTE_BYTES, "Blob bytes copied to remote origins.");
            metrics::describe_gauge!(REMOTE_QUEUE, "Tasks for remote clusters not done yet.");
            RemoteHandles {
                tasks: ["queued", "delivered", "failed", "given_up", "dropped"]
                    .map(|outcome| metrics::counter!(REMOTE_TASKS, "outcome" => outcome)),
                blobs: ["present", "copied"]
                    .map(|result| metrics::counter!(REMOTE_BLOBS, "result" => result)),
                bytes: metrics::counter!(REMOTE_BYTES),
                queue: metrics::gauge!(REMOTE_QUEUE),
            }
        });
        Self {
            registry,
            puts,
            lookups,
            forwards,
            backend_errors,
            queue,
            remote,
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

    pub fn remote_task(&self, outcome: RemoteTask) {
        self.remote.tasks[outcome as usize].increment(1);
    }

    /// One blob checked on a remote cluster; `bytes` copied (0 when present).
    pub fn remote_blob(&self, result: RemoteBlob, bytes: u64) {
        self.remote.blobs[result as usize].increment(1);
        self.remote.bytes.increment(bytes);
    }

    /// Prometheus text, with the queue gauges set first.
    pub fn render(&self, queues: QueueDepths) -> String {
        self.queue.set(queues.replicas as f64);
        self.remote.queue.set(queues.remotes as f64);
        self.registry.render()
    }
}

/// The number of queued tasks, per queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct QueueDepths {
    /// Forwards to replicas waiting to be retried.
    pub replicas: u64,
    /// Tasks for remote clusters not done yet.
    pub remotes: u64,
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
        a.put(PutFrom::Remote);
        a.lookup(Lookup::Stale);
        a.forward(Forward::GivenUp);
        a.backend_error();
        a.remote_task(RemoteTask::Failed);
        a.remote_blob(RemoteBlob::Copied, 100);
        a.remote_blob(RemoteBlob::Present, 0);
        let text = a.render(QueueDepths {
            replicas: 3,
            remotes: 2,
        });
        for line in [
            r#"starling_build_index_puts_total{from="replica"} 1"#,
            r#"starling_build_index_puts_total{from="remote"} 1"#,
            r#"starling_build_index_lookups_total{result="stale"} 1"#,
            r#"starling_build_index_forwards_total{outcome="given_up"} 1"#,
            "starling_build_index_backend_errors_total 1",
            "starling_build_index_replication_queue 3",
            r#"starling_build_index_remote_tasks_total{outcome="failed"} 1"#,
            r#"starling_build_index_remote_blobs_total{result="copied"} 1"#,
            r#"starling_build_index_remote_blobs_total{result="present"} 1"#,
            "starling_build_index_remote_copied_bytes_total 100",
            "starling_build_index_remote_queue 2",
        ] {
            assert!(text.contains(line), "{line} missing from\n{text}");
        }
        assert!(
            !b.render(QueueDepths::default())
                .contains(r#"{from="replica"} 1"#)
        );
    }
}
