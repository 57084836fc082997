//! The `tags` table: one row per `(repo, tag)`.
//!
//! A row is either a push (received from a client or a replica; authoritative, never
//! expires) or a read-through copy of the tag backend (a cache entry, fresh for
//! `tag_cache_ttl`). A push always replaces a copy; a copy never replaces a push, which
//! the SQL itself enforces so that a slow read-through cannot undo a concurrent push.
//! Listings are in byte order of the names (SQLite's BINARY collation, the same as
//! Rust's `str` order), the order registry paging relies on.

use rusqlite::{OptionalExtension, params};
use starling_core::{Digest, RepoName, Tag};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::store::Db;

/// Where a row came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// A put from a client or a replica.
    Push,
    /// A copy read through from the tag backend.
    Backend,
}

impl Source {
    fn as_str(self) -> &'static str {
        match self {
            Self::Push => "push",
            Self::Backend => "backend",
        }
    }

    fn parse(value: &str) -> Option<Self> {
        match value {
            "push" => Some(Self::Push),
            "backend" => Some(Self::Backend),
            _ => None,
        }
    }
}

/// The stored value of one tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TagEntry {
    pub digest: Digest,
    pub updated_at: Timestamp,
    pub source: Source,
}

pub use starling_clients::build_index::update::TagUpdate;

/// Last-writer-wins between two pushes of one tag.
pub trait Supersedes {
    /// True when `self` must replace `current`, a push of the same tag.
    fn supersedes(&self, current: &TagEntry) -> bool;
}

impl Supersedes for TagUpdate {
    fn supersedes(&self, current: &TagEntry) -> bool {
        (self.updated_at, self.digest) > (current.updated_at, current.digest)
    }
}

impl Db {
    pub async fn get_tag(&self, repo: &RepoName, tag: &Tag) -> Result<Option<TagEntry>> {
        let (r, t) = (repo.to_string(), tag.to_string());
        let row = self
            .call("read a tag", move |conn| {
                conn.query_row(
                    "SELECT digest, updated_at, source FROM tags WHERE repo = ?1 AND tag = ?2",
                    params![r, t],
                    |row| {
                        Ok((
                            row.get::<_, String>(0)?,
                            row.get(1)?,
                            row.get::<_, String>(2)?,
                        ))
                    },
                )
                .optional()
            })
            .await?;
        let Some((digest, updated_at, source)) = row else {
            return Ok(None);
        };
        let corrupt = |reason: String| Error::Corrupt {
            what: format!("{repo}:{tag}"),
            reason,
        };
        Ok(Some(TagEntry {
            digest: Digest::parse(&digest).map_err(|e| corrupt(e.to_string()))?,
            updated_at: Timestamp(updated_at),
            source: Source::parse(&source).ok_or_else(|| corrupt(format!("source {source:?}")))?,
        }))
    }

    /// Stores a push, replacing whatever the row held. The caller has already decided
    /// that `update` wins (see [`Supersedes::supersedes`]).
    pub async fn put_tag(&self, update: &TagUpdate) -> Result<()> {
        let u = update.clone();
        self.call("write a tag", move |conn| {
            conn.execute(
                "INSERT INTO tags (repo, tag, digest, updated_at, source)
                 VALUES (?1, ?2, ?3, ?4, 'push')
                 ON CONFLICT (repo, tag) DO UPDATE SET
                    digest = excluded.digest, updated_at = excluded.updated_at, source = 'push'",
                params![
                    u.repo.as_str(),
                    u.tag.as_str(),
                    u.digest.to_string(),
                    u.updated_at.0
                ],
            )
        })
        .await?;
        Ok(())
    }

    /// Stores a copy read from the backend at `read_at`, unless the row is a push.
    pub async fn cache_tag(
        &self,
        repo: &RepoName,
        tag: &Tag,
        digest: &Digest,
        read_at: Timestamp,
    ) -> Result<()> {
        let (r, t, d) = (repo.to_string(), tag.to_string(), digest.to_string());
        let backend = Source::Backend.as_str();
        self.call("cache a tag", move |conn| {
            conn.execute(
                "INSERT INTO tags (repo, tag, digest, updated_at, source)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (repo, tag) DO UPDATE SET
                    digest = excluded.digest, updated_at = excluded.updated_at
                 WHERE tags.source = ?5",
                params![r, t, d, read_at.0, backend],
            )
        })
        .await?;
        Ok(())
    }

    /// Drops a read-through copy (the backend no longer has the tag); pushes stay.
    pub async fn evict_cached_tag(&self, repo: &RepoName, tag: &Tag) -> Result<()> {
        let (r, t) = (repo.to_string(), tag.to_string());
        self.call("evict a cached tag", move |conn| {
            conn.execute(
                "DELETE FROM tags WHERE repo = ?1 AND tag = ?2 AND source = 'backend'",
                params![r, t],
            )
        })
        .await?;
        Ok(())
    }

    /// Every tag of `repo` held locally, in order.
    pub async fn tags_of(&self, repo: &RepoName) -> Result<Vec<Tag>> {
        let r = repo.to_string();
        let names = self
            .call("list tags", move |conn| {
                let mut stmt =
                    conn.prepare_cached("SELECT tag FROM tags WHERE repo = ?1 ORDER BY tag")?;
                let rows = stmt.query_map([r], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        names
            .iter()
            .map(|name| parse_row(repo.as_str(), name, Tag::parse))
            .collect()
    }

    /// Up to `limit` repositories with at least one tag, in order, after `after`.
    pub async fn repositories(
        &self,
        after: Option<&RepoName>,
        limit: usize,
    ) -> Result<Vec<RepoName>> {
        let after = after.map(RepoName::to_string).unwrap_or_default();
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let names = self
            .call("list repositories", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT DISTINCT repo FROM tags WHERE repo > ?1 ORDER BY repo LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![after, limit], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        names
            .iter()
            .map(|name| parse_row("repositories", name, RepoName::parse))
            .collect()
    }
}

fn parse_row<T>(
    what: &str,
    value: &str,
    parse: impl FnOnce(&str) -> starling_core::Result<T>,
) -> Result<T> {
    parse(value).map_err(|e| Error::Corrupt {
        what: what.to_owned(),
        reason: e.to_string(),
    })
}
