//! The tag service: put, get and list tags over the database, the tag backends and the
//! replicas. Free of HTTP types; the handlers are thin wrappers around it.
//!
//! Invariants:
//! - The database is the local source of truth. A put is written to the tag backend
//!   first and to the database second, under the tag's stripe lock ([`TagLocks`]); if
//!   the backend write fails, the put fails and nothing changed. Repositories with no
//!   matching backend, or a read-only one (an upstream registry), keep tags in the
//!   database (and the replicas) only.
//! - Last writer wins: among puts of one tag the highest `(updated_at, digest)` wins on
//!   every replica (and every cluster it is replicated to), whatever order they arrive in. A client put is stamped
//!   `max(now, current + 1 ms)`, so a re-push always wins on the replica that receives
//!   it, even if that replica's clock is behind the one that stamped the current value.
//! - A forwarded stamp is at most [`MAX_STAMP_LEAD`] ahead of this replica's clock, and
//!   stamps saturate, so a forged stamp near `i64::MAX` cannot pin a tag forever.
//! - A lookup that misses locally reads through from the backend and caches the answer
//!   for `tag_cache_ttl`; pushes never expire. So a tag changed in the backend behind
//!   this build-index's back is seen within `tag_cache_ttl` (unless it was pushed here,
//!   in which case the push stays authoritative).
//! - Only a client put is sent to remote clusters ([`RemoteReplicator`]): a replica's
//!   forward was sent there by the replica that took the client put, and a put from
//!   another cluster is never sent on, so mutual remotes cannot bounce a tag forever.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use starling_backend::{Backend, Backends, ListScope, read_tag, write_tag};
use starling_core::{Digest, RepoName, Tag};

use crate::clock::{Clock, Timestamp};
use crate::error::{Error, Result};
use crate::locks::TagLocks;
use crate::metrics::{BuildIndexMetrics, Lookup, PutFrom};
use crate::remotes::RemoteReplicator;
use crate::replication::Replicator;
use crate::store::{Db, Source, Supersedes, TagEntry, TagUpdate};
use starling_clients::build_index::api;
use starling_clients::build_index::client::PutOutcome;
use starling_clients::build_index::paging::{Page, PageRequest};

/// How far a forwarded put's stamp may be ahead of this replica's clock: far more
/// than any real clock skew between replicas or clusters.
pub const MAX_STAMP_LEAD: Duration = Duration::from_secs(3600);

/// Where a put came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PutOrigin {
    /// A client (the proxy, an operator): stamped here, forwarded to every replica and
    /// queued for every matching remote cluster.
    Client,
    /// Another replica, which stamped it; applied if newer, never forwarded again.
    Replica { from: String, updated_at: Timestamp },
    /// Another cluster's build-index, with the stamp of the client put it replicates;
    /// applied if newer and forwarded to every replica, never sent to remotes.
    Remote { from: String, updated_at: Timestamp },
}

pub struct TagService {
    db: Db,
    backends: Backends,
    locks: TagLocks,
    clock: Clock,
    cache_ttl: Duration,
    replicator: Arc<Replicator>,
    remotes: Arc<RemoteReplicator>,
    metrics: Arc<BuildIndexMetrics>,
}

/// What [`TagService::new`] needs besides the database.
pub struct ServiceParts {
    pub backends: Backends,
    pub clock: Clock,
    pub cache_ttl: Duration,
    pub replicator: Arc<Replicator>,
    pub remotes: Arc<RemoteReplicator>,
    pub metrics: Arc<BuildIndexMetrics>,
}

impl TagService {
    pub fn new(db: Db, parts: ServiceParts) -> Self {
        Self {
            db,
            backends: parts.backends,
            locks: TagLocks::new(),
            clock: parts.clock,
            cache_ttl: parts.cache_ttl,
            replicator: parts.replicator,
            remotes: parts.remotes,
            metrics: parts.metrics,
        }
    }

    /// A forwarded stamp no further ahead of this replica's clock than
    /// [`MAX_STAMP_LEAD`]: one from the far future would win every later push of the
    /// tag here forever.
    fn check_forwarded_stamp(&self, stamp: Timestamp) -> Result<Timestamp> {
        if stamp > self.clock.now().saturating_add(MAX_STAMP_LEAD) {
            return Err(Error::InvalidHeader {
                name: api::UPDATED_AT,
                reason: "the stamp is more than an hour ahead of this replica's clock",
            });
        }
        Ok(stamp)
    }

    /// Points `repo:tag` at `digest`. A client put is forwarded to every replica before
    /// this returns (failed forwards are queued and retried) and queued for the remote
    /// clusters whose `repo` pattern matches.
    pub async fn put(
        &self,
        repo: RepoName,
        tag: Tag,
        digest: Digest,
        origin: PutOrigin,
    ) -> Result<PutOutcome> {
        let guard = self.locks.lock(&repo, &tag).await;
        let current = self.db.get_tag(&repo, &tag).await?;
        let pushed = current.filter(|entry| entry.source == Source::Push);
        let updated_at = match &origin {
            PutOrigin::Client => {
                let after_current =
                    pushed.map(|e| e.updated_at.saturating_add(Duration::from_millis(1)));
                self.clock.now().max(after_current.unwrap_or(Timestamp(0)))
            }
            PutOrigin::Replica { updated_at, .. } | PutOrigin::Remote { updated_at, .. } => {
                self.check_forwarded_stamp(*updated_at)?
            }
        };
        let update = TagUpdate {
            repo,
            tag,
            digest,
            updated_at,
        };
        let outcome = match current {
            None => PutOutcome::Created,
            Some(_) => PutOutcome::Updated,
        };
        if let (PutOrigin::Replica { from, .. } | PutOrigin::Remote { from, .. }, Some(pushed)) =
            (&origin, pushed)
            && !update.supersedes(&pushed)
        {
            tracing::debug!(repo = %update.repo, tag = %update.tag, from, "older forwarded put ignored");
            return Ok(outcome);
        }
        self.write_through(&update).await?;
        self.db.put_tag(&update).await?;
        drop(guard);
        tracing::info!(repo = %update.repo, tag = %update.tag, digest = %update.digest, ?origin, "tag put");
        match origin {
            PutOrigin::Client => {
                self.metrics.put(PutFrom::Client);
                self.replicator.forward(&update).await?;
                self.remotes.enqueue(&update).await?;
            }
            PutOrigin::Replica { .. } => self.metrics.put(PutFrom::Replica),
            PutOrigin::Remote { .. } => {
                self.metrics.put(PutFrom::Remote);
                self.replicator.forward(&update).await?;
            }
        }
        Ok(outcome)
    }

    /// The digest `repo:tag` points at, from the database or read through from the
    /// backend; `None` when neither knows it.
    pub async fn get(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let now = self.clock.now();
        let local = self.db.get_tag(repo, tag).await?;
        if let Some(entry) = local
            && self.is_fresh(&entry, now)
        {
            self.metrics.lookup(Lookup::Local);
            return Ok(Some(entry.digest));
        }
        let Some(backend) = self.backend_for(repo)? else {
            self.metrics.lookup(if local.is_some() {
                Lookup::Local
            } else {
                Lookup::Miss
            });
            return Ok(local.map(|entry| entry.digest));
        };
        match read_tag(backend.as_ref(), repo, tag).await {
            Ok(digest) => {
                self.db.cache_tag(repo, tag, &digest, now).await?;
                self.metrics.lookup(Lookup::Backend);
                Ok(Some(digest))
            }
            Err(error) if error.is_not_found() => {
                self.db.evict_cached_tag(repo, tag).await?;
                self.metrics.lookup(Lookup::Miss);
                Ok(None)
            }
            Err(error) => {
                self.metrics.backend_error();
                let Some(stale) = local else {
                    return Err(Error::backend("read the tag")(error));
                };
                tracing::warn!(%repo, %tag, %error, "tag backend failed; serving the expired copy");
                self.metrics.lookup(Lookup::Stale);
                Ok(Some(stale.digest))
            }
        }
    }

    /// One page of the tags of `repo`: those in the database and those in its backend.
    /// `None` when the repository has no tags at all.
    pub async fn list_tags(
        &self,
        repo: &RepoName,
        page: &PageRequest<Tag>,
    ) -> Result<Option<Page<Tag>>> {
        let mut all: BTreeSet<Tag> = self.db.tags_of(repo).await?.into_iter().collect();
        if let Some(backend) = self.backend_for(repo)? {
            all.extend(self.backend_tags(backend.as_ref(), repo).await);
        }
        if all.is_empty() {
            return Ok(None);
        }
        Ok(Some(Page::cut(all, page)))
    }

    /// One page of the repositories that have a tag in the database.
    pub async fn list_repositories(&self, page: &PageRequest<RepoName>) -> Result<Page<RepoName>> {
        let items = self
            .db
            .repositories(page.last.as_ref(), page.probe_len())
            .await?;
        Ok(Page::from_probe(items, page))
    }

    fn is_fresh(&self, entry: &TagEntry, now: Timestamp) -> bool {
        entry.source == Source::Push || now.since(entry.updated_at) < self.cache_ttl
    }

    /// The backend of `repo`, or `None` when no configured backend matches it.
    fn backend_for(&self, repo: &RepoName) -> Result<Option<Arc<dyn Backend>>> {
        match self.backends.for_namespace(repo) {
            Ok(backend) => Ok(Some(backend)),
            Err(starling_backend::Error::NoBackend { .. }) => Ok(None),
            Err(error) => Err(Error::backend("choose the backend")(error)),
        }
    }

    async fn write_through(&self, update: &TagUpdate) -> Result<()> {
        let Some(backend) = self.backend_for(&update.repo)? else {
            return Ok(());
        };
        let written = write_tag(backend.as_ref(), &update.repo, &update.tag, &update.digest).await;
        match written {
            Ok(()) => Ok(()),
            Err(starling_backend::Error::ReadOnly { .. }) => {
                tracing::debug!(repo = %update.repo, "read-only tag backend; tag kept locally");
                Ok(())
            }
            Err(error) => {
                self.metrics.backend_error();
                Err(Error::backend("write the tag")(error))
            }
        }
    }

    /// The backend's tags of `repo`. A listing failure degrades to the local tags: they
    /// include every tag pushed here, so only backend-only tags go missing.
    async fn backend_tags(&self, backend: &dyn Backend, repo: &RepoName) -> Vec<Tag> {
        match backend.list(&ListScope::Tags { repo: repo.clone() }).await {
            Ok(names) => names.iter().filter_map(|n| Tag::parse(n).ok()).collect(),
            Err(error) if error.is_not_found() => Vec::new(),
            Err(starling_backend::Error::Unsupported { .. }) => Vec::new(),
            Err(error) => {
                self.metrics.backend_error();
                tracing::warn!(%repo, %error, "listing backend tags failed; listing local tags only");
                Vec::new()
            }
        }
    }
}

#[cfg(test)]
#[path = "service_tests.rs"]
mod tests;
