//! The `referrers` table: one row per `(repo, subject, referrer digest)` holding the
//! referrer's descriptor. A row is written once and never changed: the descriptor is
//! derived from the referrer's bytes, which its digest fixes, so a second put of the
//! same referrer is a no-op whatever replica it comes from.

use rusqlite::params;
use starling_core::registry::Referrer;
use starling_core::{Digest, RepoName};

use crate::error::{Error, Result};
use crate::store::Db;

impl Db {
    /// Records `referrer` of `subject`; true when it was not recorded yet.
    pub async fn put_referrer(
        &self,
        repo: &RepoName,
        subject: &Digest,
        referrer: &Referrer,
    ) -> Result<bool> {
        let descriptor = serde_json::to_string(referrer).expect("a descriptor serializes");
        let (r, s, d) = (
            repo.to_string(),
            subject.to_string(),
            referrer.digest.to_string(),
        );
        let inserted = self
            .call("write a referrer", move |conn| {
                conn.execute(
                    "INSERT INTO referrers (repo, subject, digest, descriptor)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (repo, subject, digest) DO NOTHING",
                    params![r, s, d, descriptor],
                )
            })
            .await?;
        Ok(inserted == 1)
    }

    /// Every recorded referrer of `subject` in `repo`, by digest.
    pub async fn referrers_of(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>> {
        let (r, s) = (repo.to_string(), subject.to_string());
        let rows = self
            .call("list referrers", move |conn| {
                let mut stmt = conn.prepare_cached(
                    "SELECT descriptor FROM referrers WHERE repo = ?1 AND subject = ?2
                     ORDER BY digest",
                )?;
                let rows = stmt.query_map(params![r, s], |row| row.get::<_, String>(0))?;
                rows.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await?;
        rows.iter()
            .map(|json| {
                serde_json::from_str(json).map_err(|e| Error::Corrupt {
                    what: format!("referrers of {repo}@{subject}"),
                    reason: e.to_string(),
                })
            })
            .collect()
    }
}
