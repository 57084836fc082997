//! Metainfo: each blob's BEP 3 `.torrent`, generated once and kept.
//!
//! Files live next to the store at `<store root>/metainfo/<hex[0:2]>/<hex[2:4]>/<hex>.torrent`,
//! written to a temp name in the same directory and renamed into place, so a reader sees
//! a whole file or none. Generation reads the committed blob once (reading it through
//! from the backend first on a miss) and verifies its sha256 on the way; concurrent
//! requests for one digest share a single generation. The torrent carries no `announce`
//! key: trackers add their own URL.
//!
//! Metainfo files are small (20 bytes per piece) and are not evicted with their blobs: a
//! blob that comes back gets the same torrent, so keeping it saves a re-hash.
//!
//! Serving a torrent also hands it to [`Seeding`]: the origin indexes its info hash and
//! starts seeding the blob, since agents are about to ask for it.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use starling_core::metainfo::{MetaInfo, generate_verified};
use starling_core::{Digest, PieceLengthPolicy, RepoName};
use tracing::info;

use crate::blobs::BlobService;
use crate::error::{Error, Result};
use crate::flights::{self, Flights};
use crate::metrics::OriginMetrics;
use crate::seeding::Seeding;
use starling_runtime::blocking;

/// Generates and keeps the `.torrent` of every blob served.
pub struct MetainfoService {
    dir: PathBuf,
    policy: PieceLengthPolicy,
    blobs: Arc<BlobService>,
    flights: Flights<Bytes>,
    metrics: Arc<OriginMetrics>,
    seeding: Arc<Seeding>,
}

/// The parts a [`MetainfoService`] works with.
pub struct MetainfoParts {
    /// Where files are kept (normally `<store root>/metainfo`).
    pub dir: PathBuf,
    pub policy: PieceLengthPolicy,
    pub blobs: Arc<BlobService>,
    pub metrics: Arc<OriginMetrics>,
    pub seeding: Arc<Seeding>,
}

/// Where the torrent of `digest` is kept under `dir`.
pub fn metainfo_path(dir: &Path, digest: &Digest) -> PathBuf {
    let hex = digest.hex();
    dir.join(&hex[0..2])
        .join(&hex[2..4])
        .join(format!("{hex}.torrent"))
}

impl MetainfoService {
    pub fn new(parts: MetainfoParts) -> Self {
        Self {
            dir: parts.dir,
            policy: parts.policy,
            blobs: parts.blobs,
            flights: Flights::new(),
            metrics: parts.metrics,
            seeding: parts.seeding,
        }
    }

    /// Where the torrent of `digest` is kept.
    pub fn path(&self, digest: &Digest) -> PathBuf {
        metainfo_path(&self.dir, digest)
    }

    /// The `.torrent` bytes of the blob, generating them on first use; the blob then
    /// seeds (see [`Seeding::metainfo_served`]).
    pub async fn get(&self, namespace: &RepoName, digest: &Digest) -> Result<Bytes> {
        let bytes = self.kept_or_generated(namespace, digest).await?;
        match MetaInfo::from_bytes(&bytes) {
            Ok(metainfo) => self.seeding.metainfo_served(namespace, metainfo).await,
            Err(error) => tracing::warn!(%digest, %error, "kept metainfo does not parse"),
        }
        Ok(bytes)
    }

    async fn kept_or_generated(&self, namespace: &RepoName, digest: &Digest) -> Result<Bytes> {
        if let Some(kept) = read_kept(self.path(digest)).await? {
            return Ok(kept);
        }
        let generation = Generation {
            path: self.path(digest),
            namespace: namespace.clone(),
            digest: *digest,
            policy: self.policy.clone(),
            blobs: self.blobs.clone(),
            metrics: self.metrics.clone(),
        };
        // A generation that finished between the read above and here has already
        // published its file; the settled check only sees flights, so a rare duplicate
        // request re-reads the file inside the new flight instead of re-hashing.
        let joined = flights::start(
            &self.flights,
            "metainfo",
            *digest,
            || None,
            generation.run(),
        );
        flights::wait(joined).await
    }
}

/// One generation of one blob's torrent.
struct Generation {
    path: PathBuf,
    namespace: RepoName,
    digest: Digest,
    policy: PieceLengthPolicy,
    blobs: Arc<BlobService>,
    metrics: Arc<OriginMetrics>,
}

impl Generation {
    async fn run(self) -> Result<Bytes> {
        if let Some(kept) = read_kept(self.path.clone()).await? {
            return Ok(kept);
        }
        let reader = self.blobs.open(&self.namespace, &self.digest).await?;
        let size = reader.size();
        let metainfo = generate_verified(reader, size, &self.policy, &self.digest)
            .await
            .map_err(|source| Error::Metainfo {
                digest: self.digest,
                source,
            })?;
        let bytes = Bytes::from(metainfo.to_bytes());
        let (path, data) = (self.path.clone(), bytes.clone());
        blocking("keep a metainfo file", move || {
            write_atomically(&path, &data)
        })
        .await?;
        self.metrics.metainfo_generated.increment(1);
        info!(
            digest = %self.digest,
            pieces = metainfo.piece_count(),
            info_hash = %metainfo.info_hash(),
            "metainfo generated"
        );
        Ok(bytes)
    }
}

pub(crate) async fn read_kept(path: PathBuf) -> Result<Option<Bytes>> {
    match tokio::fs::read(&path).await {
        Ok(bytes) => Ok(Some(bytes.into())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io("read metainfo", path)(e)),
    }
}

/// Writes `data` to a temp file beside `path`, fsyncs it and renames it into place.
fn write_atomically(path: &Path, data: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = path.parent().expect("metainfo paths have a parent");
    std::fs::create_dir_all(dir).map_err(Error::io("create a metainfo directory", dir.into()))?;
    let temp = dir.join(format!(
        ".{}.{:016x}.tmp",
        path.file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("metainfo"),
        rand_suffix()
    ));
    let written = (|| {
        let mut file = std::fs::File::create(&temp)?;
        file.write_all(data)?;
        file.sync_all()?;
        std::fs::rename(&temp, path)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&temp);
        return Err(Error::io("write metainfo", path.to_path_buf())(e));
    }
    Ok(())
}

/// Distinguishes concurrent temp files (two origins sharing a directory, in theory).
fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    std::collections::hash_map::RandomState::new()
        .build_hasher()
        .finish()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_sharded_and_written_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ab/cd/abcd.torrent");
        write_atomically(&path, b"d4:infod...ee").unwrap();
        write_atomically(&path, b"second").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"second");
        let leftovers: Vec<_> = std::fs::read_dir(path.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(leftovers.len(), 1, "{leftovers:?}");
    }
}
