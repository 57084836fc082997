//! The change feed of the `tags` table: pushes after a stamp, for agents that preload
//! pushed tags (`GET /changes`). Read-through copies of the tag backend are not pushes
//! and never appear. Ordered by stamp, then name, over the `tags_updated_at` index.
//!
//! The stamp is the push's last-writer-wins stamp, so a replica that receives a forward
//! late stores it with its original, older stamp: a poller whose cursor has already
//! passed that stamp on that replica does not see it. Pollers therefore read one
//! build-index host while it answers (`BuildIndexCluster` asks hosts in order).

use rusqlite::params;
use starling_clients::build_index::api::TagChange;
use starling_core::{Digest, RepoName, Tag};

use crate::error::{Error, Result};
use crate::store::Db;

impl Db {
    /// Up to `limit` pushes with a stamp after `since`, oldest first.
    pub async fn changes_since(&self, since: i64, limit: usize) -> Result<Vec<TagChange>> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = self
            .call("list tag changes", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT repo, tag, digest, updated_at FROM tags
                     WHERE source = 'push' AND updated_at > ?1
                     ORDER BY updated_at, repo, tag LIMIT ?2",
                )?;
                let rows = stmt.query_map(params![since, limit], |row| {
                    Ok((
                        row.get::<_, String>(0)?,
                        row.get::<_, String>(1)?,
                        row.get::<_, String>(2)?,
                        row.get::<_, i64>(3)?,
                    ))
                })?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.into_iter()
            .map(|(repo, tag, digest, updated_at)| {
                let corrupt = |reason: String| Error::Corrupt {
                    what: format!("{repo}:{tag}"),
                    reason,
                };
                Ok(TagChange {
                    repository: RepoName::parse(&repo).map_err(|e| corrupt(e.to_string()))?,
                    tag: Tag::parse(&tag).map_err(|e| corrupt(e.to_string()))?,
                    digest: Digest::parse(&digest).map_err(|e| corrupt(e.to_string()))?,
                    updated_at,
                })
            })
            .collect()
    }

    /// The newest push stamp held, 0 when there is none: where a new poller starts.
    pub async fn latest_push_stamp(&self) -> Result<i64> {
        self.call("read the latest tag stamp", |conn| {
            conn.query_row(
                "SELECT COALESCE(MAX(updated_at), 0) FROM tags WHERE source = 'push'",
                [],
                |row| row.get(0),
            )
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Timestamp;
    use crate::store::TagUpdate;

    fn update(repo: &str, tag: &str, at: i64) -> TagUpdate {
        TagUpdate {
            repo: RepoName::parse(repo).unwrap(),
            tag: Tag::parse(tag).unwrap(),
            digest: Digest::of(format!("{repo}:{tag}").as_bytes()),
            updated_at: Timestamp(at),
        }
    }

    #[tokio::test]
    async fn lists_pushes_after_the_stamp_oldest_first_and_skips_cached_copies() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(&dir.path().join("db.sqlite")).await.unwrap();
        assert_eq!(db.latest_push_stamp().await.unwrap(), 0);
        db.put_tag(&update("team/b", "1", 20)).await.unwrap();
        db.put_tag(&update("team/a", "1", 10)).await.unwrap();
        db.put_tag(&update("team/a", "2", 30)).await.unwrap();
        let repo = RepoName::parse("cached/x").unwrap();
        db.cache_tag(
            &repo,
            &Tag::parse("1").unwrap(),
            &Digest::of(b"c"),
            Timestamp(40),
        )
        .await
        .unwrap();

        let names = |changes: Vec<TagChange>| {
            changes
                .into_iter()
                .map(|c| format!("{}:{}@{}", c.repository, c.tag, c.updated_at))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            names(db.changes_since(0, 10).await.unwrap()),
            ["team/a:1@10", "team/b:1@20", "team/a:2@30"]
        );
        assert_eq!(
            names(db.changes_since(10, 1).await.unwrap()),
            ["team/b:1@20"]
        );
        assert!(db.changes_since(30, 10).await.unwrap().is_empty());
        assert_eq!(db.latest_push_stamp().await.unwrap(), 30);
    }
}
