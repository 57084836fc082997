//! A typed HTTP client of one origin. Other components (tracker, proxy, agents) and the
//! origins themselves (replication) use this instead of building URLs by hand; paths
//! come from [`super::paths`], which the server uses too.
//!
//! Bodies stream in both directions as [`ByteStream`]s, so a multi-GB blob never sits in
//! memory. Errors keep the URL and distinguish "not found" and "unreachable" from other
//! failures, because [`super::cluster::OriginCluster`] fails over on the latter.

use std::time::Duration;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use starling_core::ByteStream;
use starling_core::metainfo::MetaInfo;
use starling_core::{Digest, RepoName};
use starling_runtime::{ClientTls, ClusterToken};
use thiserror::Error;

use crate::InternalHttp;

use super::paths;
use super::peer_identity::{OriginPeer, PeerBody};
use starling_core::range::ByteRange;

/// Largest `.torrent` accepted: 20 bytes per piece, and even a 1 TiB blob in 4 MiB
/// pieces needs only 5 MiB.
pub const MAX_METAINFO_LEN: usize = 16 << 20;

/// Errors from talking to one origin.
#[derive(Debug, Error)]
pub enum ClientError {
    #[error("{url}: not found")]
    NotFound { url: String },

    #[error("{url}: HTTP {status}: {body}")]
    Status {
        url: String,
        status: u16,
        body: String,
    },

    #[error("{url}: {source}")]
    Request {
        url: String,
        #[source]
        source: reqwest::Error,
    },

    #[error("{url}: invalid metainfo: {source}")]
    Metainfo {
        url: String,
        #[source]
        source: starling_core::Error,
    },

    #[error("{url}: response has no valid Content-Length")]
    NoLength { url: String },

    #[error("{url}: invalid response body: {reason}")]
    Body { url: String, reason: String },

    #[error("no origin could serve the request: {0}")]
    AllFailed(String),
}

impl ClientError {
    pub fn is_not_found(&self) -> bool {
        matches!(self, Self::NotFound { .. })
    }

    /// Worth trying another origin: the host is unreachable or failed on its side.
    pub fn is_retryable(&self) -> bool {
        match self {
            Self::Request { .. } | Self::AllFailed(_) => true,
            Self::Status { status, .. } => *status >= 500,
            _ => false,
        }
    }
}

pub type ClientResult<T> = std::result::Result<T, ClientError>;

/// A blob coming down from an origin.
pub struct BlobDownload {
    /// Bytes in `body` (the range's length for a ranged download).
    pub size: u64,
    pub body: ByteStream,
}

/// The client of one origin at `host:port`.
#[derive(Clone, Debug)]
pub struct OriginClient {
    http: reqwest::Client,
    host: String,
    /// `http://host` or `https://host`.
    base: String,
}

/// A client with a connect timeout, so a dead host fails fast.
pub fn default_http() -> reqwest::Client {
    authorized_http(None, None).client().clone()
}

/// [`default_http`] sending the cluster's bearer token on every request, as writers
/// (proxy, origins, build-index) must: origins refuse unauthenticated writes; over
/// HTTPS with `tls`.
pub fn authorized_http(token: Option<&ClusterToken>, tls: Option<&ClientTls>) -> InternalHttp {
    InternalHttp::build(token, tls, |b| b.connect_timeout(Duration::from_secs(5)))
}

impl OriginClient {
    pub fn new(host: impl Into<String>) -> Self {
        Self::with_http(default_http(), host)
    }

    /// Shares `http`'s connection pool with other clients.
    pub fn with_http(http: impl Into<InternalHttp>, host: impl Into<String>) -> Self {
        let http = http.into();
        let host = host.into();
        Self {
            base: http.base_url(&host),
            http: http.client().clone(),
            host,
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// `GET /health` answered 200 within `timeout`.
    pub async fn health(&self, timeout: Duration) -> ClientResult<()> {
        let url = self.url("/health");
        let request = self.http.get(&url).timeout(timeout);
        checked(&url, request).await.map(drop)
    }

    /// The blob's size, or `None` when the origin (and its backend) lacks it.
    pub async fn stat(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<Option<u64>> {
        let url = self.url(&paths::blob(namespace, digest));
        match checked(&url, self.http.head(&url)).await {
            Ok(response) => content_length(&url, &response).map(Some),
            Err(ClientError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Streams the blob (the origin reads it through from its backend on a miss).
    pub async fn download(
        &self,
        namespace: &RepoName,
        digest: &Digest,
    ) -> ClientResult<BlobDownload> {
        self.download_inner(namespace, digest, None).await
    }

    /// Streams bytes `range.first..=range.last` of the blob.
    pub async fn download_range(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        range: ByteRange,
    ) -> ClientResult<BlobDownload> {
        self.download_inner(namespace, digest, Some(range)).await
    }

    /// Uploads a blob of `size` bytes in one streamed PUT; the origin verifies the
    /// digest and copies the blob to the digest's other owners.
    pub async fn upload(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
    ) -> ClientResult<()> {
        self.put_blob(namespace, digest, size, body, None).await
    }

    /// Like [`Self::upload`], marked as a copy from origin `from`, so the receiver
    /// stores it without copying it on again.
    pub async fn replicate(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
        from: &str,
    ) -> ClientResult<()> {
        self.put_blob(namespace, digest, size, body, Some(from))
            .await
    }

    /// The blob's `.torrent` (without an announce URL).
    pub async fn metainfo(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<MetaInfo> {
        let url = self.url(&paths::metainfo(namespace, digest));
        let response = checked(&url, self.http.get(&url)).await?;
        let bytes = read_limited(&url, response, MAX_METAINFO_LEN).await?;
        MetaInfo::from_bytes(&bytes).map_err(|source| ClientError::Metainfo { url, source })
    }

    /// The origin's identity in the swarm (`GET /peer`): its engine's peer id and the
    /// peer address agents dial. Trackers use it to hand origins out.
    pub async fn peer(&self) -> ClientResult<OriginPeer> {
        let url = self.url(paths::PEER);
        let response = checked(&url, self.http.get(&url)).await?;
        let bytes = read_limited(&url, response, 4096).await?;
        let invalid = |reason: String| ClientError::Body {
            url: url.clone(),
            reason,
        };
        let body: PeerBody = serde_json::from_slice(&bytes).map_err(|e| invalid(e.to_string()))?;
        OriginPeer::from_body(body).map_err(invalid)
    }

    /// Asks the origin to warm its cache from the backend in the background.
    pub async fn prefetch(&self, namespace: &RepoName, digest: &Digest) -> ClientResult<()> {
        let url = self.url(&paths::prefetch(namespace, digest));
        checked(&url, self.http.post(&url)).await.map(drop)
    }

    async fn download_inner(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> ClientResult<BlobDownload> {
        let url = self.url(&paths::blob(namespace, digest));
        let mut request = self.http.get(&url);
        if let Some(range) = range {
            request = request.header("range", format!("bytes={}-{}", range.first, range.last));
        }
        let response = checked(&url, request).await?;
        let size = content_length(&url, &response)?;
        let body = response
            .bytes_stream()
            .map_err(std::io::Error::other)
            .boxed();
        Ok(BlobDownload { size, body })
    }

    async fn put_blob(
        &self,
        namespace: &RepoName,
        digest: &Digest,
        size: u64,
        body: ByteStream,
        replicated_from: Option<&str>,
    ) -> ClientResult<()> {
        let url = self.url(&paths::blob(namespace, digest));
        let mut request = self
            .http
            .request(Method::PUT, &url)
            .header(CONTENT_LENGTH, size)
            .header(CONTENT_TYPE, "application/octet-stream")
            .body(reqwest::Body::wrap_stream(body));
        if let Some(from) = replicated_from {
            request = request.header(paths::REPLICATED_FROM, from);
        }
        checked(&url, request).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

/// Sends `request` and turns a non-2xx status into an error carrying the body.
async fn checked(url: &str, request: RequestBuilder) -> ClientResult<Response> {
    let response = request
        .send()
        .await
        .map_err(|source| ClientError::Request {
            url: url.to_owned(),
            source,
        })?;
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    if status == StatusCode::NOT_FOUND {
        return Err(ClientError::NotFound {
            url: url.to_owned(),
        });
    }
    let body = read_limited(url, response, 4096)
        .await
        .map(|b| String::from_utf8_lossy(&b).into_owned())
        .unwrap_or_default();
    Err(ClientError::Status {
        url: url.to_owned(),
        status: status.as_u16(),
        body,
    })
}

fn content_length(url: &str, response: &Response) -> ClientResult<u64> {
    response
        .headers()
        .get(CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| ClientError::NoLength {
            url: url.to_owned(),
        })
}

/// Reads a small body, refusing more than `limit` bytes.
async fn read_limited(url: &str, response: Response, limit: usize) -> ClientResult<Bytes> {
    let mut body = response.bytes_stream();
    let mut out = Vec::new();
    while let Some(chunk) = body.next().await {
        let chunk = chunk.map_err(|source| ClientError::Request {
            url: url.to_owned(),
            source,
        })?;
        if out.len() + chunk.len() > limit {
            return Err(ClientError::Status {
                url: url.to_owned(),
                status: 200,
                body: format!("response larger than {limit} bytes"),
            });
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out.into())
}
