//! The blob a benchmark moves: random bytes (so nothing compresses or dedups them), put
//! into the origin, with its metainfo generated before the clock starts.
//!
//! The blob is written to a scratch file while it is hashed and streamed from there to
//! the origin, so a GiB blob never sits in this process's memory; the file is removed
//! once the origin has it. Asking the origin for the metainfo up front makes the origin
//! hash the pieces now: the measured pulls then start from a blob that is already
//! seedable, as after a push, and do not include that one-time SHA-1 pass.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::Context;
use futures::StreamExt;
use rand::Rng;
use rand::rngs::SmallRng;
use starling_core::{Digest, DigestHasher, RepoName};
use starling_origin::OriginClient;
use tokio_util::io::ReaderStream;

/// Bytes generated, hashed and written per step.
const CHUNK: usize = 1 << 20;

/// A blob stored in the cluster's origin.
#[derive(Debug, Clone)]
pub struct BenchBlob {
    pub namespace: RepoName,
    pub digest: Digest,
    pub size: u64,
    pub piece_length: u64,
    pub piece_count: u32,
}

/// Puts `size` random bytes into the origin at `origin` under `namespace` and has the
/// origin generate their metainfo. `scratch` is a directory for the temporary file.
pub async fn put_random_blob(
    origin: SocketAddr,
    namespace: &str,
    size: u64,
    scratch: &Path,
) -> anyhow::Result<BenchBlob> {
    let namespace = RepoName::parse(namespace)
        .with_context(|| format!("{namespace:?} is not a repository name"))?;
    let path = scratch.join("bench-blob");
    let write_path = path.clone();
    let digest = tokio::task::spawn_blocking(move || write_random(&write_path, size))
        .await
        .context("the blob writer panicked")??;

    let client = OriginClient::new(origin.to_string());
    let file = tokio::fs::File::open(&path)
        .await
        .with_context(|| format!("opening {}", path.display()))?;
    let body = ReaderStream::with_capacity(file, CHUNK).boxed();
    client
        .upload(&namespace, &digest, size, body)
        .await
        .with_context(|| format!("uploading {digest} to the origin"))?;
    tokio::fs::remove_file(&path)
        .await
        .with_context(|| format!("removing {}", path.display()))?;

    let meta = client
        .metainfo(&namespace, &digest)
        .await
        .with_context(|| format!("generating the metainfo of {digest}"))?;
    Ok(BenchBlob {
        namespace,
        digest,
        size,
        piece_length: meta.info().piece_length(),
        piece_count: meta.info().piece_count(),
    })
}

/// Writes `size` random bytes to `path`; returns their digest.
fn write_random(path: &Path, size: u64) -> anyhow::Result<Digest> {
    let file =
        std::fs::File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = std::io::BufWriter::with_capacity(CHUNK, file);
    let mut rng: SmallRng = rand::make_rng();
    let mut hasher = DigestHasher::new();
    let mut buf = vec![0u8; CHUNK];
    let mut left = size;
    while left > 0 {
        let n = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
        rng.fill_bytes(&mut buf[..n]);
        hasher.update(&buf[..n]);
        out.write_all(&buf[..n])
            .with_context(|| format!("writing {}", path.display()))?;
        left -= n as u64;
    }
    out.flush()
        .with_context(|| format!("writing {}", path.display()))?;
    Ok(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_file_has_the_size_and_digest_reported() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("blob");
        let size = 3 * CHUNK as u64 + 17;
        let digest = write_random(&path, size).unwrap();
        let bytes = std::fs::read(&path).unwrap();
        assert_eq!(bytes.len() as u64, size);
        assert_eq!(Digest::of(&bytes), digest);
        let again = write_random(&path, size).unwrap();
        assert_ne!(again, digest, "every run gets new random bytes");
    }
}
