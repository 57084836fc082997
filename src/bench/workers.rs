//! One timed pull: GET a blob over HTTP, hash the body as it arrives, and report when
//! the first body byte came and when the last did, both measured from a start instant
//! the caller shares between pulls. A pull counts as done only when the body has the
//! expected length and sha256.

use std::time::Duration;

use anyhow::{Context, bail, ensure};
use starling_core::{Digest, DigestHasher};
use tokio::time::Instant;

/// What to pull and what it must be.
#[derive(Debug, Clone)]
pub struct PullTarget {
    pub url: String,
    pub digest: Digest,
    pub size: u64,
}

/// Times of one pull, from the common start.
#[derive(Debug, Clone, Copy)]
pub struct PullTimes {
    pub first_byte: Duration,
    pub done: Duration,
}

/// Pulls `target`, calling `on_bytes` with each chunk's length as it arrives.
pub async fn timed_pull(
    http: &reqwest::Client,
    target: &PullTarget,
    start: Instant,
    mut on_bytes: impl FnMut(u64),
) -> anyhow::Result<PullTimes> {
    let url = &target.url;
    let mut response = http
        .get(url)
        .send()
        .await
        .with_context(|| format!("GET {url}"))?;
    let status = response.status();
    if !status.is_success() {
        let body = response.text().await.unwrap_or_default();
        bail!("GET {url} answered {status}: {body}");
    }
    let mut hasher = DigestHasher::new();
    let mut received = 0u64;
    let mut first_byte = None;
    while let Some(chunk) = response
        .chunk()
        .await
        .with_context(|| format!("reading the body of {url} after {received} bytes"))?
    {
        first_byte.get_or_insert_with(|| start.elapsed());
        hasher.update(&chunk);
        received += chunk.len() as u64;
        on_bytes(chunk.len() as u64);
    }
    ensure!(
        received == target.size,
        "{url} sent {received} bytes, expected {}",
        target.size
    );
    let digest = hasher.finish();
    ensure!(
        digest == target.digest,
        "{url} sent content hashing to {digest}, expected {}",
        target.digest
    );
    let done = start.elapsed();
    Ok(PullTimes {
        first_byte: first_byte.unwrap_or(done),
        done,
    })
}
