//! [`SwarmIndex`]: info hash -> blob, over every torrent this origin has generated, so
//! that a peer asking for an info hash can be served although no torrent runs for it.
//!
//! Built at startup from the metainfo files kept under `<store root>/metainfo` (they are
//! never evicted, so the index covers every blob the origin ever described), then kept
//! up to date as metainfo is served. One entry per torrent file: about a hundred bytes,
//! so a million blobs cost about 100 MB. The namespace is known only for blobs whose
//! metainfo was requested since the start (it picks the backend a read-through uses);
//! a blob rebuilt from disk without it is served only while it is in the store.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Mutex, MutexGuard, PoisonError};

use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, InfoHash, RepoName};
use tracing::warn;

/// What the index knows about one torrent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IndexEntry {
    pub digest: Digest,
    /// The namespace the blob was last asked for under, if any since the start.
    pub namespace: Option<RepoName>,
}

/// Info hash -> blob; one lock, held only for map updates.
#[derive(Debug, Default)]
pub struct SwarmIndex {
    entries: Mutex<HashMap<InfoHash, IndexEntry>>,
}

impl SwarmIndex {
    /// Reads every `*.torrent` under `dir` (`<hex[0:2]>/<hex[2:4]>/<hex>.torrent`).
    /// Blocking; unreadable or foreign files are logged and skipped. A missing `dir` is
    /// an empty index.
    pub fn rebuild(dir: &Path) -> Self {
        let index = Self::default();
        for file in torrent_files(dir) {
            match std::fs::read(&file)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    let metainfo = MetaInfo::from_bytes(&bytes).map_err(|e| e.to_string())?;
                    let digest = metainfo.digest().map_err(|e| e.to_string())?;
                    Ok((metainfo.info_hash(), digest))
                }) {
                Ok((info_hash, digest)) => index.insert(info_hash, digest, None),
                Err(error) => warn!(file = %file.display(), %error, "metainfo file skipped"),
            }
        }
        index
    }

    /// Records a torrent; a known namespace is kept when `namespace` is `None`.
    pub fn insert(&self, info_hash: InfoHash, digest: Digest, namespace: Option<RepoName>) {
        let mut entries = self.lock();
        let entry = entries.entry(info_hash).or_insert(IndexEntry {
            digest,
            namespace: None,
        });
        entry.digest = digest;
        if namespace.is_some() {
            entry.namespace = namespace;
        }
    }

    pub fn get(&self, info_hash: &InfoHash) -> Option<IndexEntry> {
        self.lock().get(info_hash).cloned()
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<InfoHash, IndexEntry>> {
        // Plain inserts: a poisoned map is still consistent.
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The torrent files two directory levels below `dir`.
fn torrent_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let subdirs = |path: &Path| -> Vec<std::path::PathBuf> {
        std::fs::read_dir(path)
            .map(|entries| entries.filter_map(|e| Some(e.ok()?.path())).collect())
            .unwrap_or_default()
    };
    subdirs(dir)
        .iter()
        .flat_map(|level1| subdirs(level1))
        .flat_map(|level2| subdirs(&level2))
        .filter(|file| file.extension().is_some_and(|ext| ext == "torrent"))
        .collect()
}

#[cfg(test)]
mod tests {
    use starling_core::PieceLengthPolicy;
    use starling_core::metainfo::generate;

    use super::*;

    async fn torrent(data: &[u8]) -> MetaInfo {
        let (metainfo, _) = generate(data, data.len() as u64, &PieceLengthPolicy::default())
            .await
            .unwrap();
        metainfo
    }

    #[tokio::test]
    async fn rebuilds_from_kept_files_and_skips_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let kept = torrent(b"kept blob").await;
        let digest = kept.digest().unwrap();
        let hex = digest.hex();
        let shard = dir.path().join(&hex[0..2]).join(&hex[2..4]);
        std::fs::create_dir_all(&shard).unwrap();
        std::fs::write(shard.join(format!("{hex}.torrent")), kept.to_bytes()).unwrap();
        std::fs::write(shard.join("junk.torrent"), b"not bencode").unwrap();
        std::fs::write(shard.join(".partial.tmp"), b"ignored").unwrap();

        let index = SwarmIndex::rebuild(dir.path());
        assert_eq!(index.len(), 1);
        assert_eq!(
            index.get(&kept.info_hash()),
            Some(IndexEntry {
                digest,
                namespace: None
            })
        );
        assert!(SwarmIndex::rebuild(&dir.path().join("missing")).is_empty());
    }

    #[test]
    fn a_known_namespace_survives_an_update_without_one() {
        let index = SwarmIndex::default();
        let (hash, digest) = (InfoHash::from_bytes([1; 20]), Digest::of(b"x"));
        let ns = RepoName::parse("team/app").unwrap();
        index.insert(hash, digest, Some(ns.clone()));
        index.insert(hash, digest, None);
        assert_eq!(index.get(&hash).unwrap().namespace, Some(ns));
    }
}
