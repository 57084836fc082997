//! The announce client: BEP 3 HTTP announces to the tracker that owns the blob's swarm
//! on the tracker ring (placed by digest, see [`pool`]), failing over to the next
//! tracker on any error.
//!
//! An error is a transport failure, a non-200 status, an undecodable body or a bencoded
//! `failure reason`; each counts against that tracker's passive health (see [`pool`]).
//! One [`Announcer`] serves every torrent of an engine and shares one HTTP client. The
//! query and the response are the shared codec's (`starling_core::announce`).

mod pool;
mod response;
mod url;

use std::time::Instant;

use starling_core::Digest;
use starling_runtime::ClientTls;
use starling_runtime::tls::with_client_tls;

pub use pool::{HealthPolicy, TrackerPool};
pub use response::decode;
pub use starling_core::announce::{AnnounceReply, AnnounceRequest};
pub use url::TrackerUrl;

use crate::error::{Error, Result};

/// Announces to the tracker ring.
#[derive(Debug)]
pub struct Announcer {
    client: reqwest::Client,
    ring: TrackerPool,
}

impl Announcer {
    pub fn new(trackers: Vec<TrackerUrl>, policy: HealthPolicy) -> Result<Self> {
        Self::with_tls(trackers, policy, None)
    }

    /// [`Self::new`] with the trust and identity for `https://` trackers.
    pub fn with_tls(
        trackers: Vec<TrackerUrl>,
        policy: HealthPolicy,
        tls: Option<&ClientTls>,
    ) -> Result<Self> {
        if trackers.is_empty() {
            return Err(Error::NoTrackers);
        }
        let client = starling_runtime::build_http_client(|b| {
            let b = b
                .timeout(policy.request_timeout)
                .connect_timeout(policy.request_timeout)
                // Trackers are cluster-internal; a proxy from the environment never applies.
                .no_proxy();
            with_client_tls(b, tls)
        })
        .map_err(|e| Error::Announce {
            tracker: "(client)".into(),
            reason: e.to_string(),
        })?;
        Ok(Self {
            client,
            ring: TrackerPool::new(trackers, policy),
        })
    }

    /// Announces to the tracker owning the swarm of `digest` (the blob the torrent
    /// names), then to the next ones until one answers.
    pub async fn announce(
        &self,
        digest: &Digest,
        request: &AnnounceRequest,
    ) -> Result<AnnounceReply> {
        let query = request.to_query();
        let mut last = None;
        for i in self.ring.candidates(digest, Instant::now()) {
            let tracker = self.ring.tracker(i);
            match self.announce_once(tracker, &query).await {
                Ok(reply) => {
                    self.ring.record_success(i);
                    return Ok(reply);
                }
                Err(error) => {
                    tracing::debug!(%tracker, %error, "announce failed; trying the next tracker");
                    if self.ring.record_failure(i, Instant::now()) {
                        tracing::warn!(%tracker, %error, "tracker marked down");
                    }
                    last = Some(error);
                }
            }
        }
        Err(Error::AllTrackersFailed {
            info_hash: request.info_hash,
            last: Box::new(last.unwrap_or(Error::NoTrackers)),
        })
    }

    async fn announce_once(&self, tracker: &TrackerUrl, query: &str) -> Result<AnnounceReply> {
        let failed = |reason: String| Error::Announce {
            tracker: tracker.to_string(),
            reason,
        };
        let response = self
            .client
            .get(tracker.with_query(query))
            .send()
            .await
            .map_err(|e| failed(e.to_string()))?;
        let status = response.status();
        if !status.is_success() {
            return Err(failed(format!("HTTP {status}")));
        }
        let body = response.bytes().await.map_err(|e| failed(e.to_string()))?;
        decode(&body).map_err(failed)
    }
}
