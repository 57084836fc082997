//! [`TrackerMetaInfo`]: the agents' [`MetaInfoSource`]: a blob's `.torrent` from the
//! trackers, over HTTP (`GET /namespace/{ns}/blobs/{digest}/metainfo`).
//!
//! The request goes to the tracker that owns the blob's swarm on the tracker ring
//! (placed by digest, like announces; see [`crate::announce::TrackerPool`]), so the
//! tracker that serves the metainfo — and learns which origins seed it — is the one that
//! receives the swarm's announces. On a transport error, a 5xx or a body that is not a
//! torrent it fails over to the next tracker in ring order, with the announces' passive
//! health policy (a few failures in a row skip a tracker for a while). A 404 is final
//! ([`Error::MetaInfoNotFound`]): every tracker asks the same origins, so another one
//! would not find the blob either.
//!
//! The torrent must name the digest asked for (the engine checks again). There is no
//! short timeout: the first request for a blob waits while the origin generates its
//! metainfo, reading the blob through from storage and hashing it.

use std::time::{Duration, Instant};

use async_trait::async_trait;
use futures::StreamExt;
use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, RepoName};
use thiserror::Error;

use crate::announce::{HealthPolicy, TrackerPool, TrackerUrl};
use crate::error::{Error, Result};
use crate::metainfo_source::MetaInfoSource;

/// Largest `.torrent` accepted: 20 bytes per piece, so even a 1 TiB blob in 4 MiB pieces
/// needs only 5 MiB.
pub const MAX_METAINFO_LEN: usize = 16 << 20;

/// Default bound on one metainfo request, generation on the origin included.
pub const DEFAULT_METAINFO_TIMEOUT: Duration = Duration::from_secs(300);

/// Why one tracker did not hand over the metainfo.
#[derive(Debug, Error)]
pub enum TrackerMetaInfoError {
    #[error("{url}: no origin has the blob (HTTP 404): {body}")]
    Unknown { url: String, body: String },

    #[error("{url}: the tracker refused the request: HTTP {status}: {body}")]
    Refused {
        url: String,
        status: u16,
        body: String,
    },

    #[error("{url}: {reason}")]
    Failed { url: String, reason: String },

    #[error("every tracker failed; {0}")]
    AllFailed(String),
}

impl TrackerMetaInfoError {
    /// Worth asking the next tracker.
    fn is_retryable(&self) -> bool {
        matches!(self, Self::Failed { .. })
    }
}

/// Fetches metainfo from the tracker ring.
#[derive(Debug)]
pub struct TrackerMetaInfo {
    http: reqwest::Client,
    ring: TrackerPool,
    timeout: Duration,
}

impl TrackerMetaInfo {
    /// A source over `trackers` (`host:port` or `http://host:port[/announce]`, as in
    /// an agent's `trackers:` list), sharing `http`'s connection pool, with the default
    /// health policy and [`DEFAULT_METAINFO_TIMEOUT`].
    pub fn new(trackers: &[String], http: reqwest::Client) -> Result<Self> {
        let urls = trackers
            .iter()
            .map(|t| TrackerUrl::parse(t))
            .collect::<Result<Vec<_>>>()?;
        if urls.is_empty() {
            return Err(Error::NoTrackers);
        }
        Ok(Self {
            http,
            ring: TrackerPool::new(urls, HealthPolicy::default()),
            timeout: DEFAULT_METAINFO_TIMEOUT,
        })
    }

    /// The same source with another health policy (its `request_timeout` is not used:
    /// see [`Self::with_timeout`]).
    pub fn with_health_policy(self, policy: HealthPolicy) -> Self {
        let trackers = (0..self.ring.len())
            .map(|i| self.ring.tracker(i).clone())
            .collect();
        Self {
            ring: TrackerPool::new(trackers, policy),
            ..self
        }
    }

    /// The same source with another bound on one request.
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { timeout, ..self }
    }

    async fn fetch(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> std::result::Result<MetaInfo, TrackerMetaInfoError> {
        let mut failures = Vec::new();
        for i in self.ring.candidates(digest, Instant::now()) {
            let url = metainfo_url(self.ring.tracker(i), namespace, digest);
            match self.fetch_once(&url).await {
                Ok(metainfo) => {
                    self.ring.record_success(i);
                    return Ok(metainfo);
                }
                Err(error) if error.is_retryable() => {
                    tracing::debug!(%error, "metainfo fetch failed; trying the next tracker");
                    if self.ring.record_failure(i, Instant::now()) {
                        tracing::warn!(%url, %error, "tracker marked down");
                    }
                    failures.push(error.to_string());
                }
                Err(error) => {
                    // The tracker answered; only the request is wrong.
                    self.ring.record_success(i);
                    return Err(error);
                }
            }
        }
        Err(TrackerMetaInfoError::AllFailed(failures.join("; ")))
    }

    async fn fetch_once(&self, url: &str) -> std::result::Result<MetaInfo, TrackerMetaInfoError> {
        let failed = |reason: String| TrackerMetaInfoError::Failed {
            url: url.to_owned(),
            reason,
        };
        let response = self
            .http
            .get(url)
            .timeout(self.timeout)
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if status.is_success() {
            let body = read_limited(response, MAX_METAINFO_LEN)
                .await
                .map_err(failed)?;
            return MetaInfo::from_bytes(&body).map_err(|e| failed(format!("not a torrent: {e}")));
        }
        let body = read_limited(response, 1024)
            .await
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default();
        let url = url.to_owned();
        match status.as_u16() {
            404 => Err(TrackerMetaInfoError::Unknown { url, body }),
            code @ 400..=499 => Err(TrackerMetaInfoError::Refused {
                url,
                status: code,
                body,
            }),
            code => Err(failed(format!("HTTP {code}: {body}"))),
        }
    }
}

#[async_trait]
impl MetaInfoSource for TrackerMetaInfo {
    async fn metainfo(&self, namespace: &RepoName, digest: &Digest) -> Result<MetaInfo> {
        let metainfo = self.fetch(namespace, digest).await.map_err(|e| match e {
            TrackerMetaInfoError::Unknown { .. } => Error::MetaInfoNotFound {
                digest: *digest,
                reason: e.to_string(),
            },
            e => Error::metainfo(*digest, e),
        })?;
        let named = metainfo.digest()?;
        if named != *digest {
            return Err(Error::MetaInfoMismatch {
                expected: *digest,
                actual: named,
            });
        }
        Ok(metainfo)
    }
}

/// `http(s)://host:port/namespace/{ns}/blobs/{digest}/metainfo`, the namespace as one path
/// segment with its `/` escaped (the only character of the repository grammar that
/// needs it), as the tracker API documents.
fn metainfo_url(tracker: &TrackerUrl, namespace: &RepoName, digest: &Digest) -> String {
    format!(
        "{}://{}/namespace/{}/blobs/{digest}/metainfo",
        tracker.scheme(),
        tracker.authority(),
        namespace.path_segment()
    )
}

/// Reads a body of at most `limit` bytes.
async fn read_limited(
    response: reqwest::Response,
    limit: usize,
) -> std::result::Result<Vec<u8>, String> {
    let mut body = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|e| e.to_string())?;
        if out.len() + chunk.len() > limit {
            return Err(format!("response larger than {limit} bytes"));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_escape_the_namespace_and_keep_the_authority() {
        let tracker = TrackerUrl::parse("http://10.0.0.1:15003/announce").unwrap();
        let digest = Digest::of(b"x");
        let url = metainfo_url(&tracker, &RepoName::parse("team/app").unwrap(), &digest);
        assert_eq!(
            url,
            format!("http://10.0.0.1:15003/namespace/team%2Fapp/blobs/{digest}/metainfo")
        );
    }

    #[test]
    fn needs_a_tracker_and_valid_urls() {
        let http = reqwest::Client::new();
        assert!(matches!(
            TrackerMetaInfo::new(&[], http.clone()),
            Err(Error::NoTrackers)
        ));
        assert!(matches!(
            TrackerMetaInfo::new(&["udp://t:1".to_owned()], http.clone()),
            Err(Error::InvalidTrackerUrl { .. })
        ));
        assert!(
            TrackerMetaInfo::new(&["https://t:1".to_owned()], http).is_ok(),
            "a tracker serving TLS"
        );
    }
}
