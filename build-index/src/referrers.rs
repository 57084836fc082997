//! The referrer service: records the manifests pushed with a `subject` (the proxy puts
//! one per such push) and lists them for the registries' referrers API.
//!
//! Invariants: a record is keyed by `(repo, subject, referrer digest)` and never
//! changes, so puts are idempotent and replicas converge by union. A client put is
//! forwarded once to every other replica of this cluster (marked with
//! [`starling_clients::build_index::api::REPLICATED_FROM`], so it is not forwarded
//! again); a failed forward is not queued, because readers take the union of every
//! replica. Referrers are not sent to remote clusters (see `docs/build-index-api.md`).

use std::sync::Arc;

use starling_clients::build_index::client::PutOutcome;
use starling_core::registry::Referrer;
use starling_core::{Digest, RepoName};

use crate::error::Result;
use crate::replication::Replicator;
use crate::store::Db;

/// Where a referrer put came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReferrerFrom {
    /// The proxy (or an operator): recorded and forwarded to the replicas.
    Client,
    /// Another replica's forward: recorded only.
    Replica,
}

pub struct ReferrerService {
    db: Db,
    replicator: Arc<Replicator>,
}

impl ReferrerService {
    pub fn new(db: Db, replicator: Arc<Replicator>) -> Self {
        Self { db, replicator }
    }

    /// Records `referrer` of `subject` in `repo`.
    pub async fn put(
        &self,
        repo: &RepoName,
        subject: &Digest,
        referrer: &Referrer,
        from: ReferrerFrom,
    ) -> Result<PutOutcome> {
        let created = self.db.put_referrer(repo, subject, referrer).await?;
        tracing::info!(%repo, %subject, referrer = %referrer.digest, created, ?from, "referrer put");
        if from == ReferrerFrom::Client {
            self.replicator
                .forward_referrer(repo, subject, referrer)
                .await;
        }
        Ok(if created {
            PutOutcome::Created
        } else {
            PutOutcome::Updated
        })
    }

    /// The referrers of `subject` in `repo` recorded here, by digest.
    pub async fn list(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>> {
        self.db.referrers_of(repo, subject).await
    }
}
