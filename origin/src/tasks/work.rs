//! What one task attempt does: stream the blob from the store to the namespace's
//! backend (write-back) or to another owner (replication).
//!
//! An attempt ends in an [`Outcome`]; only the runner touches the queue. Write-back
//! checks the backend first, so a task that is retried after an upload that actually
//! succeeded (or a replica's delayed safety-net task) uploads nothing.

use std::sync::Arc;

use starling_backend::Key;
use starling_store::{BlobReader, Store};
use tracing::{debug, info};

use crate::backends::BackendLookup;
use crate::blobs::counted;
use crate::metrics::OriginMetrics;
use crate::tasks::{Task, TaskKind};
use starling_clients::origin::client::OriginClient;

/// How an attempt went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Done,
    /// Failed for now (backend or peer unreachable): try again after a backoff.
    Retry(String),
    /// Can never succeed (read-only backend, blob gone): drop the task.
    GiveUp(String),
}

/// Runs task attempts.
pub struct Worker {
    pub store: Store,
    pub backends: Arc<dyn BackendLookup>,
    pub http: starling_clients::InternalHttp,
    /// This origin's address, sent with replications.
    pub advertise: String,
    pub metrics: Arc<OriginMetrics>,
}

impl Worker {
    pub async fn attempt(&self, task: &Task) -> Outcome {
        match task.kind {
            TaskKind::Writeback => self.write_back(task).await,
            TaskKind::Replicate => self.replicate(task).await,
        }
    }

    async fn write_back(&self, task: &Task) -> Outcome {
        let Some(backend) = self.backends.backend_for(&task.namespace) else {
            return Outcome::GiveUp(format!(
                "namespace {} no longer has a backend",
                task.namespace
            ));
        };
        let key = Key::blob(task.namespace.clone(), task.digest);
        let reader = match self.open(task).await {
            Ok(Some(reader)) => reader,
            // Without the blob, success is only possible if the backend has it.
            Ok(None) => {
                return match backend.stat(&key).await {
                    Ok(Some(_)) => Outcome::Done,
                    Ok(None) => Outcome::GiveUp(gone(task)),
                    Err(e) => Outcome::Retry(e.to_string()),
                };
            }
            Err(retry) => return retry,
        };
        let size = reader.size();
        match backend.stat(&key).await {
            Ok(Some(stored)) if stored == size => {
                debug!(digest = %task.digest, "backend already holds the blob");
                return Outcome::Done;
            }
            Ok(_) => {}
            Err(e) => return Outcome::Retry(e.to_string()),
        }
        let body = counted(reader, self.metrics.backend_written_bytes.clone());
        match backend.upload(&key, size, body).await {
            Ok(()) => {
                info!(digest = %task.digest, namespace = %task.namespace, size, "blob written back");
                Outcome::Done
            }
            Err(
                e @ (starling_backend::Error::ReadOnly { .. }
                | starling_backend::Error::Unsupported { .. }),
            ) => Outcome::GiveUp(e.to_string()),
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    async fn replicate(&self, task: &Task) -> Outcome {
        let Some(target) = &task.target else {
            return Outcome::GiveUp("replication task without a target".into());
        };
        let reader = match self.open(task).await {
            Ok(Some(reader)) => reader,
            Ok(None) => return Outcome::GiveUp(gone(task)),
            Err(retry) => return retry,
        };
        let size = reader.size();
        let client = OriginClient::with_http(self.http.clone(), target.clone());
        let body = counted(reader, self.metrics.replicated_bytes.clone());
        match client
            .replicate(&task.namespace, &task.digest, size, body, &self.advertise)
            .await
        {
            Ok(()) => {
                info!(digest = %task.digest, %target, size, "blob copied to owner");
                Outcome::Done
            }
            Err(e) => Outcome::Retry(e.to_string()),
        }
    }

    /// Opens the task's blob; `None` when it is not in the store, a retry outcome when
    /// the store failed.
    async fn open(&self, task: &Task) -> Result<Option<BlobReader>, Outcome> {
        self.store
            .open(&task.digest)
            .await
            .map_err(|e| Outcome::Retry(e.to_string()))
    }
}

fn gone(task: &Task) -> String {
    format!("blob {} is no longer in the store", task.digest)
}
