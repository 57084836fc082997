//! A read-only [`Backend`] over a Docker Registry v2 / OCI distribution registry.
//!
//! An object by digest is read from `/v2/<namespace>/blobs/<digest>`, or, when that says
//! 404, from `/v2/<namespace>/manifests/<digest>` (see `by_digest`: callers cannot tell a
//! manifest from a layer, registries serve them apart). A tag is resolved to the digest of
//! the manifest it points at, which is what a tag object holds in every backend. The
//! registry has no blob listing, and this backend never writes: uploads fail with
//! [`Error::ReadOnly`].
//!
//! A failure of the registry (an error status, no connection, refused credentials, a
//! malformed answer) is logged here, once, with the URL, and returned; a missing object is
//! an answer, not a failure, and is returned as [`Error::NotFound`] or `None`.

pub mod auth;
mod by_digest;
pub mod client;
pub mod link;

use std::fmt::Display;
use std::time::Duration;

use async_trait::async_trait;
use futures::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_LENGTH, LINK};
use reqwest::{Method, Response, StatusCode};
use serde::Deserialize;
use starling_config::backend::BackendConfig;
use starling_core::registry_name::{qualified, registry_component, upstream_name};
use starling_core::{Digest, RepoName, Tag};
use tracing::warn;

use crate::Backend;
use crate::error::{Error, Result};
use crate::key::{Key, ListScope};
use crate::stream::{self, ByteStream};

pub use client::{Credentials, RegistryClient};
use client::{Request, checked};

/// Every manifest media type a tag or digest may name, so the registry never converts one.
const MANIFEST_ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.oci.image.index.v1+json";
/// Larger manifests are refused by common registries too.
const MAX_MANIFEST_SIZE: usize = 4 * 1024 * 1024;
/// Bounds one page of a tag or repository listing.
const MAX_PAGE_SIZE: usize = 16 * 1024 * 1024;
/// Entries asked for per listing page.
const PAGE_ENTRIES: usize = 1000;
/// Stops a registry that links pages in a circle.
const MAX_PAGES: usize = 10_000;
const CATALOG_SCOPE: &str = "registry:catalog:*";

/// Blobs and tags read from an upstream registry.
#[derive(Debug)]
pub struct RegistryBackend {
    client: RegistryClient,
    /// The name component of the registry this one mirrors (`docker.io`), stripped from
    /// Starling's names before they go upstream; `None` sends names unchanged.
    mirror_of: Option<String>,
}

impl RegistryBackend {
    /// A backend for the registry at `url` (e.g. `https://registry.example:5000`).
    pub fn new(url: &str, credentials: Option<Credentials>, timeout: Duration) -> Result<Self> {
        Ok(Self {
            client: RegistryClient::new(url, credentials, timeout)?,
            mirror_of: None,
        })
    }

    /// This backend as the mirror of `registry` (`docker.io`, `harbor.corp:443`).
    pub fn mirroring(mut self, registry: &str) -> Result<Self> {
        let component = registry_component(registry).map_err(|e| Error::Config {
            field: "mirror_of",
            reason: e.to_string(),
        })?;
        self.mirror_of = Some(component);
        Ok(self)
    }

    /// The upstream's name for `repo`: without the mirrored registry's component.
    fn upstream(&self, repo: &RepoName) -> Result<RepoName> {
        let Some(component) = &self.mirror_of else {
            return Ok(repo.clone());
        };
        upstream_name(component, repo).ok_or_else(|| Error::Config {
            field: "mirror_of",
            reason: format!("{repo} is not a repository of the mirrored registry {component}"),
        })
    }

    /// Builds the backend a `type: registry` config describes.
    pub fn from_config(config: &BackendConfig) -> Result<Self> {
        let BackendConfig::Registry {
            url,
            username,
            password,
            timeout,
            mirror_of,
            // Read into `password` by `starling_config::load`.
            password_file: _,
        } = config
        else {
            return Err(Error::Config {
                field: "type",
                reason: format!("a {} backend is not a registry", config.kind()),
            });
        };
        let credentials = match (username, password) {
            (Some(username), Some(password)) => Some(Credentials {
                username: username.clone(),
                password: password.clone(),
            }),
            (None, None) => None,
            _ => {
                return Err(Error::Config {
                    field: "username",
                    reason: "username and password must be set together".to_owned(),
                });
            }
        };
        let backend = Self::new(url, credentials, *timeout)?;
        match mirror_of {
            Some(registry) => backend.mirroring(registry),
            None => Ok(backend),
        }
    }

    /// The digest of the manifest `repo:tag` points at, or `None` for an unknown tag.
    async fn resolve_tag(&self, repo: &RepoName, tag: &Tag) -> Result<Option<Digest>> {
        let scope = pull_scope(repo);
        let mut request = Request {
            method: Method::HEAD,
            url: self.client.url(&format!("v2/{repo}/manifests/{tag}"))?,
            scope: &scope,
            accept: Some(MANIFEST_ACCEPT),
        };
        let head = self.client.send(&request).await?;
        if head.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let head = checked(head)?;
        if let Some(value) = head.headers().get("docker-content-digest") {
            let parsed = value
                .to_str()
                .ok()
                .and_then(|v| Digest::parse(v.trim()).ok());
            return parsed.map(Some).ok_or_else(|| Error::InvalidResponse {
                url: request.url.to_string(),
                reason: format!("Docker-Content-Digest {value:?} is not a sha256 digest"),
            });
        }
        // Not every registry sends the header; the digest of the exact bytes is the same.
        request.method = Method::GET;
        let response = self.client.send(&request).await?;
        if response.status() == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let manifest = stream::collect(body_stream(checked(response)?), MAX_MANIFEST_SIZE).await?;
        Ok(Some(Digest::of(&manifest)))
    }

    /// Follows `Link` pages from `path`, collecting the string array `field` of each.
    async fn list_pages(&self, path: &str, scope: &str, field: &str) -> Result<Vec<String>> {
        let mut names = Vec::new();
        let mut url = self.client.url(path)?;
        for _ in 0..MAX_PAGES {
            let request = Request {
                method: Method::GET,
                url: url.clone(),
                scope,
                accept: None,
            };
            let response = self.client.send(&request).await?;
            if response.status() == StatusCode::NOT_FOUND && names.is_empty() {
                return Ok(names);
            }
            let response = checked(response)?;
            let next = next_page(&response)
                .map(|link| self.client.url(&link))
                .transpose()?;
            let body = stream::collect(body_stream(response), MAX_PAGE_SIZE).await?;
            names.extend(
                parse_page(&body, field).map_err(|reason| Error::InvalidResponse {
                    url: url.to_string(),
                    reason,
                })?,
            );
            match next {
                Some(next) => url = next,
                None => {
                    names.sort();
                    names.dedup();
                    return Ok(names);
                }
            }
        }
        Err(Error::InvalidResponse {
            url: url.to_string(),
            reason: format!("listing did not end after {MAX_PAGES} pages"),
        })
    }
}

#[async_trait]
impl Backend for RegistryBackend {
    async fn stat(&self, key: &Key) -> Result<Option<u64>> {
        let result = match key {
            Key::Blob { namespace, digest } => match self.upstream(namespace) {
                Ok(namespace) => self.stat_by_digest(&namespace, digest).await,
                Err(e) => Err(e),
            },
            Key::Tag { repo, tag } => match self.upstream(repo) {
                Ok(repo) => self
                    .resolve_tag(&repo, tag)
                    .await
                    .map(|digest| digest.map(|digest| digest.to_string().len() as u64)),
                Err(e) => Err(e),
            },
        };
        logged("stat", key, result)
    }

    async fn download(&self, key: &Key) -> Result<ByteStream> {
        let found = match key {
            Key::Blob { namespace, digest } => match self.upstream(namespace) {
                Ok(namespace) => self.download_by_digest(&namespace, digest).await,
                Err(e) => Err(e),
            },
            Key::Tag { repo, tag } => match self.upstream(repo) {
                Ok(repo) => self
                    .resolve_tag(&repo, tag)
                    .await
                    .map(|digest| digest.map(|digest| stream::once(digest.to_string()))),
                Err(e) => Err(e),
            },
        };
        logged("download", key, found)?.ok_or_else(|| Error::NotFound { key: key.clone() })
    }

    async fn upload(&self, key: &Key, _size: u64, _body: ByteStream) -> Result<()> {
        Err(Error::ReadOnly { key: key.clone() })
    }

    async fn list(&self, scope: &ListScope) -> Result<Vec<String>> {
        match scope {
            ListScope::Blobs { .. } => Err(Error::Unsupported {
                backend: "registry",
                operation: "list blobs",
            }),
            ListScope::Tags { repo } => {
                let upstream = logged("list the tags of", repo, self.upstream(repo))?;
                let path = format!("v2/{upstream}/tags/list?n={PAGE_ENTRIES}");
                let tags = self.list_pages(&path, &pull_scope(&upstream), "tags").await;
                logged("list the tags of", repo, tags)
            }
            ListScope::Repos => {
                let path = format!("v2/_catalog?n={PAGE_ENTRIES}");
                let repos = self.list_pages(&path, CATALOG_SCOPE, "repositories").await;
                let repos = repos.map(|repos| self.starling_names(repos));
                logged("list", &"the repositories", repos)
            }
        }
    }
}

impl RegistryBackend {
    /// The upstream's repository names as Starling names them (with the mirrored
    /// registry's component, in canonical form).
    fn starling_names(&self, upstream: Vec<String>) -> Vec<String> {
        let Some(component) = &self.mirror_of else {
            return upstream;
        };
        let mut names: Vec<String> = upstream
            .iter()
            .filter_map(|name| RepoName::parse(name).ok())
            .filter_map(|name| qualified(component, &name).ok())
            .map(|name| name.to_string())
            .collect();
        names.sort();
        names.dedup();
        names
    }
}

/// Logs a failed request to the registry; its error names the URL.
fn logged<T>(operation: &str, target: &dyn Display, result: Result<T>) -> Result<T> {
    if let Err(error) = &result {
        warn!(operation, %target, %error, "upstream registry request failed");
    }
    result
}

fn pull_scope(repo: &RepoName) -> String {
    format!("repository:{repo}:pull")
}

fn body_stream(response: Response) -> ByteStream {
    // Without the URL: after a redirect it may carry pre-signed credentials.
    response
        .bytes_stream()
        .map_err(|e| std::io::Error::other(e.without_url()))
        .boxed()
}

fn content_length(response: &Response) -> Result<u64> {
    let header = response.headers().get(CONTENT_LENGTH);
    header
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
        .ok_or_else(|| Error::InvalidResponse {
            url: response.url().to_string(),
            reason: format!("Content-Length {header:?} is missing or not a number"),
        })
}

fn next_page(response: &Response) -> Option<String> {
    let header = response.headers().get(LINK)?.to_str().ok()?;
    link::next_link(header).map(str::to_owned)
}

/// One listing page: `{"tags": [...]}` or `{"repositories": [...]}`; `null` means none.
fn parse_page(body: &[u8], field: &str) -> std::result::Result<Vec<String>, String> {
    #[derive(Deserialize)]
    struct Page(serde_json::Map<String, serde_json::Value>);
    let Page(page) = serde_json::from_slice(body).map_err(|e| format!("not a JSON object: {e}"))?;
    match page.get(field) {
        None | Some(serde_json::Value::Null) => Ok(Vec::new()),
        Some(value) => serde_json::from_value(value.clone())
            .map_err(|e| format!("{field:?} is not a list of strings: {e}")),
    }
}

#[cfg(test)]
mod tests;
