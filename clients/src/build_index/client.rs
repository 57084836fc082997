//! Typed clients of the build-index API, for the agent, the proxy and the replicas.
//!
//! [`BuildIndexClient`] talks to one host; [`BuildIndexCluster`] tries a list of hosts
//! in order. Paths come from [`super::api`], so client and server cannot drift apart.
//! Error answers are decoded into the registry error they carry.

use std::time::Duration;

use reqwest::header::{CONTENT_TYPE, LINK};
use reqwest::{RequestBuilder, Response, StatusCode};
use starling_core::registry::{Referrer, RegistryError};
use starling_core::{Digest, RepoName, Tag};
use starling_runtime::{ClientTls, ClusterToken};

use super::api::{self, ReferrerList, RepositoryList, TagChanges, TagList};
use super::error::{BuildIndexError as Error, BuildIndexResult as Result};
use super::paging::{Page, PageRequest};
use super::update::TagUpdate;
use crate::InternalHttp;

/// Connection and whole-request timeouts of the default HTTP client: tag requests are
/// tiny, so a slow answer means a sick host, and the cluster client should move on.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Timeout of one forward to a replica: the client's put waits for its forwards, and a
/// replica that is this slow is treated as down (the forward is queued).
pub const FORWARD_TIMEOUT: Duration = Duration::from_secs(5);

/// Tag bodies are a digest; anything much longer is not a build-index answer.
const MAX_TAG_BODY: usize = 1024;
/// A full page of names (1000 of at most 255 bytes) with JSON quoting fits easily.
const MAX_LIST_BODY: usize = 1 << 20;

/// What a successful put did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PutOutcome {
    /// The tag did not exist (201).
    Created,
    /// The tag existed and now points at the digest (200).
    Updated,
}

/// A client of one build-index host.
#[derive(Debug, Clone)]
pub struct BuildIndexClient {
    http: reqwest::Client,
    host: String,
    base: String,
}

/// An HTTP client with the default timeouts.
pub fn default_http_client() -> reqwest::Client {
    authorized_http_client(None, None).client().clone()
}

/// [`default_http_client`] sending the cluster's bearer token on every request, as
/// tag writers (proxy, replicas, other clusters) must; over HTTPS with `tls`.
pub fn authorized_http_client(
    token: Option<&ClusterToken>,
    tls: Option<&ClientTls>,
) -> InternalHttp {
    InternalHttp::build(token, tls, |b| {
        b.connect_timeout(CONNECT_TIMEOUT).timeout(REQUEST_TIMEOUT)
    })
}

impl BuildIndexClient {
    /// A client of the build-index at base URL `url` (`http://` or `https://`, as in a
    /// `remotes` entry); [`Self::host`] is then the URL.
    pub fn with_base_url(http: impl Into<InternalHttp>, url: &str) -> Self {
        let base = url.trim_end_matches('/');
        Self {
            http: http.into().client().clone(),
            host: base.to_owned(),
            base: base.to_owned(),
        }
    }

    /// A client of `host` (`host:port`) with the default HTTP client.
    pub fn new(host: &str) -> Self {
        Self::with_http(default_http_client(), host)
    }

    /// A client of `host` sharing `http` (its connection pool, timeouts and scheme).
    pub fn with_http(http: impl Into<InternalHttp>, host: &str) -> Self {
        let http = http.into();
        Self {
            base: http.base_url(host),
            http: http.client().clone(),
            host: host.to_owned(),
        }
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// Points `repo:tag` at `digest`; the host forwards it to its replicas.
    pub async fn put_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<PutOutcome> {
        let url = self.url(&api::tag_path(repo, tag));
        let request = self.http.put(&url).body(digest.to_string());
        put_outcome(&url, send(request, &url).await?).await
    }

    /// The digest `repo:tag` points at; `None` when the host does not know the tag.
    pub async fn get_tag(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let url = self.url(&api::tag_path(repo, tag));
        let response = send(self.http.get(&url), &url).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let body = read_ok_body(&url, response, MAX_TAG_BODY).await?;
        let text = String::from_utf8_lossy(&body);
        Digest::parse(text.trim())
            .map(Some)
            .map_err(|e| invalid_response(&url, e.to_string()))
    }

    /// One page of the tags of `repo`; empty when the repository has no tags.
    pub async fn list_tags(&self, repo: &RepoName, page: &PageRequest<Tag>) -> Result<Page<Tag>> {
        let url = self.url(&api::tags_path(repo, page));
        let response = send(self.http.get(&url), &url).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(Page {
                items: Vec::new(),
                next: None,
            });
        }
        let next = next_cursor(&url, &response, Tag::parse)?;
        let list: TagList = read_json(&url, response).await?;
        Ok(Page {
            items: list.tags,
            next,
        })
    }

    /// One page of the repositories that have tags.
    pub async fn list_repositories(&self, page: &PageRequest<RepoName>) -> Result<Page<RepoName>> {
        let url = self.url(&api::repositories_path(page));
        let response = send(self.http.get(&url), &url).await?;
        let next = next_cursor(&url, &response, RepoName::parse)?;
        let list: RepositoryList = read_json(&url, response).await?;
        Ok(Page {
            items: list.repositories,
            next,
        })
    }

    /// Tags pushed after `since` (at most `n`), or only the current cursor without one.
    pub async fn changes(&self, since: Option<i64>, n: usize) -> Result<TagChanges> {
        let url = self.url(&api::changes_path(since, n));
        let response = send(self.http.get(&url), &url).await?;
        read_json(&url, response).await
    }

    /// Sends a put on behalf of the replica `from`: applied by the receiver if it is
    /// newer than what it holds, and not forwarded again.
    pub async fn forward(&self, update: &TagUpdate, from: &str) -> Result<()> {
        let url = self.url(&api::tag_path(&update.repo, &update.tag));
        let request = self
            .http
            .put(&url)
            .timeout(FORWARD_TIMEOUT)
            .header(api::REPLICATED_FROM, from)
            .header(api::UPDATED_AT, update.updated_at.to_string())
            .body(update.digest.to_string());
        put_outcome(&url, send(request, &url).await?)
            .await
            .map(drop)
    }

    /// Sends a put to a build-index of another cluster on behalf of this cluster's
    /// build-index `from`: applied there if newer than what it holds (the stamp travels
    /// with it), forwarded to its replicas, and not sent on to its remotes.
    pub async fn put_from_cluster(&self, update: &TagUpdate, from: &str) -> Result<PutOutcome> {
        let url = self.url(&api::tag_path(&update.repo, &update.tag));
        let request = self
            .http
            .put(&url)
            .header(api::REPLICATED_FROM_CLUSTER, from)
            .header(api::UPDATED_AT, update.updated_at.to_string())
            .body(update.digest.to_string());
        put_outcome(&url, send(request, &url).await?).await
    }

    /// Records `referrer` (a manifest of `repo` whose `subject` is `subject`); the host
    /// forwards it to its replicas.
    pub async fn put_referrer(
        &self,
        repo: &RepoName,
        subject: &Digest,
        referrer: &Referrer,
    ) -> Result<()> {
        let url = self.url(&api::referrer_path(repo, subject, &referrer.digest));
        let request = self
            .http
            .put(&url)
            .header(CONTENT_TYPE, JSON)
            .body(to_json(referrer));
        put_outcome(&url, send(request, &url).await?)
            .await
            .map(drop)
    }

    /// Sends a referrer on behalf of the replica `from`; the receiver records it and
    /// does not forward it again.
    pub async fn forward_referrer(
        &self,
        repo: &RepoName,
        subject: &Digest,
        referrer: &Referrer,
        from: &str,
    ) -> Result<()> {
        let url = self.url(&api::referrer_path(repo, subject, &referrer.digest));
        let request = self
            .http
            .put(&url)
            .timeout(FORWARD_TIMEOUT)
            .header(api::REPLICATED_FROM, from)
            .header(CONTENT_TYPE, JSON)
            .body(to_json(referrer));
        put_outcome(&url, send(request, &url).await?)
            .await
            .map(drop)
    }

    /// The referrers of `subject` in `repo` this host holds, by digest.
    pub async fn list_referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>> {
        let url = self.url(&api::referrers_path(repo, subject));
        let response = send(self.http.get(&url), &url).await?;
        let list: ReferrerList = read_json(&url, response).await?;
        Ok(list.referrers)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }
}

const JSON: &str = "application/json";

fn to_json(referrer: &Referrer) -> Vec<u8> {
    serde_json::to_vec(referrer).expect("a descriptor serializes")
}

async fn send(request: RequestBuilder, url: &str) -> Result<Response> {
    request.send().await.map_err(|source| Error::Request {
        url: url.to_owned(),
        source,
    })
}

async fn put_outcome(url: &str, response: Response) -> Result<PutOutcome> {
    match response.status() {
        StatusCode::CREATED => Ok(PutOutcome::Created),
        StatusCode::OK => Ok(PutOutcome::Updated),
        _ => Err(status_error(url, response).await),
    }
}

/// The body of a 200 answer, or the error the answer carries.
async fn read_ok_body(url: &str, response: Response, limit: usize) -> Result<bytes::Bytes> {
    if response.status() != StatusCode::OK {
        return Err(status_error(url, response).await);
    }
    let body = response.bytes().await.map_err(|source| Error::Request {
        url: url.to_owned(),
        source,
    })?;
    if body.len() > limit {
        return Err(invalid_response(url, format!("{} byte body", body.len())));
    }
    Ok(body)
}

async fn read_json<T: serde::de::DeserializeOwned>(url: &str, response: Response) -> Result<T> {
    let is_json = response
        .headers()
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    let body = read_ok_body(url, response, MAX_LIST_BODY).await?;
    if !is_json {
        return Err(invalid_response(url, "not application/json".to_owned()));
    }
    serde_json::from_slice(&body).map_err(|e| invalid_response(url, e.to_string()))
}

/// The `last` of the next page, from the `Link` header.
fn next_cursor<T>(
    url: &str,
    response: &Response,
    parse: impl FnOnce(&str) -> starling_core::Result<T>,
) -> Result<Option<T>> {
    let Some(link) = response.headers().get(LINK) else {
        return Ok(None);
    };
    let link = link
        .to_str()
        .map_err(|e| invalid_response(url, e.to_string()))?;
    api::last_from_link(link)
        .map(|last| parse(&last).map_err(|e| invalid_response(url, e.to_string())))
        .transpose()
}

async fn status_error(url: &str, response: Response) -> Error {
    let status = response.status().as_u16();
    let body = response.bytes().await.unwrap_or_default();
    Error::Status {
        url: url.to_owned(),
        status,
        error: RegistryError::from_json_body(&body),
    }
}

fn invalid_response(url: &str, reason: String) -> Error {
    Error::InvalidResponse {
        url: url.to_owned(),
        reason,
    }
}

/// Build-index hosts tried in order: the next host is asked when one is unreachable
/// or fails on its side; a client mistake (4xx) is returned at once, since every host
/// would answer the same.
#[derive(Debug, Clone)]
pub struct BuildIndexCluster {
    clients: Vec<BuildIndexClient>,
}

impl BuildIndexCluster {
    pub fn new(hosts: &[String]) -> Result<Self> {
        Self::with_http(default_http_client(), hosts)
    }

    pub fn with_http(http: impl Into<InternalHttp>, hosts: &[String]) -> Result<Self> {
        let http = http.into();
        if hosts.is_empty() {
            return Err(Error::NoHosts);
        }
        let clients = hosts
            .iter()
            .map(|host| BuildIndexClient::with_http(http.clone(), host))
            .collect();
        Ok(Self { clients })
    }

    pub async fn put_tag(&self, repo: &RepoName, tag: &Tag, digest: &Digest) -> Result<PutOutcome> {
        self.first_answer(|c| c.put_tag(repo, tag, digest)).await
    }

    /// The first host that knows the tag answers. A replica that was down may not have
    /// received the latest put yet, so "unknown" from one host is not final: `None`
    /// only when every host that answered says so.
    pub async fn get_tag(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let mut last_error = None;
        let mut answered = false;
        for client in &self.clients {
            match client.get_tag(repo, tag).await {
                Ok(Some(digest)) => return Ok(Some(digest)),
                Ok(None) => answered = true,
                Err(error) if is_client_mistake(&error) => return Err(error),
                Err(error) => {
                    tracing::debug!(host = client.host(), %error, "build-index host failed");
                    last_error = Some(error);
                }
            }
        }
        match last_error {
            Some(error) if !answered => Err(error),
            _ => Ok(None),
        }
    }

    pub async fn list_tags(&self, repo: &RepoName, page: &PageRequest<Tag>) -> Result<Page<Tag>> {
        self.first_answer(|c| c.list_tags(repo, page)).await
    }

    pub async fn list_repositories(&self, page: &PageRequest<RepoName>) -> Result<Page<RepoName>> {
        self.first_answer(|c| c.list_repositories(page)).await
    }

    /// [`BuildIndexClient::changes`] from the first host that answers. Replicas hold
    /// the same pushes with the same stamps, so a poller may move between them.
    pub async fn changes(&self, since: Option<i64>, n: usize) -> Result<TagChanges> {
        self.first_answer(|c| c.changes(since, n)).await
    }

    pub async fn put_referrer(
        &self,
        repo: &RepoName,
        subject: &Digest,
        referrer: &Referrer,
    ) -> Result<()> {
        self.first_answer(|c| c.put_referrer(repo, subject, referrer))
            .await
    }

    /// The referrers of `subject` that any host holds. Referrers are only ever added
    /// (a manifest's `subject` cannot change), so the union of every answering host is
    /// the truth: one that missed a forward while it was down is made up for by the
    /// others. Fails only when no host answers.
    pub async fn list_referrers(&self, repo: &RepoName, subject: &Digest) -> Result<Vec<Referrer>> {
        let answers = futures::future::join_all(
            self.clients
                .iter()
                .map(|client| client.list_referrers(repo, subject)),
        )
        .await;
        let mut union = std::collections::BTreeMap::new();
        let mut last_error = None;
        let mut answered = false;
        for (client, answer) in self.clients.iter().zip(answers) {
            match answer {
                Ok(referrers) => {
                    answered = true;
                    for referrer in referrers {
                        union.entry(referrer.digest).or_insert(referrer);
                    }
                }
                Err(error) if is_client_mistake(&error) => return Err(error),
                Err(error) => {
                    tracing::debug!(host = client.host(), %error, "build-index host failed");
                    last_error = Some(error);
                }
            }
        }
        match last_error {
            Some(error) if !answered => Err(error),
            _ => Ok(union.into_values().collect()),
        }
    }

    async fn first_answer<'a, T, F, Fut>(&'a self, call: F) -> Result<T>
    where
        F: Fn(&'a BuildIndexClient) -> Fut,
        Fut: Future<Output = Result<T>>,
    {
        let mut last_error = Error::NoHosts;
        for client in &self.clients {
            match call(client).await {
                Ok(value) => return Ok(value),
                Err(error) if is_client_mistake(&error) => return Err(error),
                Err(error) => {
                    tracing::debug!(host = client.host(), %error, "build-index host failed");
                    last_error = error;
                }
            }
        }
        Err(last_error)
    }
}

/// A 4xx answer: the request itself is wrong, so no other host will accept it.
fn is_client_mistake(error: &Error) -> bool {
    matches!(error, Error::Status { status, .. } if (400..500).contains(status))
}
