//! HTTP access to one registry, with authentication handled in one place.
//!
//! Every request carries the best credentials known: a cached bearer token for its scope,
//! else basic credentials when configured, else nothing. A 401 with a `Bearer` challenge
//! fetches a token from the challenge's realm (with the basic credentials, if any), caches
//! it and retries the request once; any other 401 is reported as [`Error::Unauthorized`]
//! with what to fix. Redirects (blob downloads from cloud storage) are followed, and
//! reqwest drops the `Authorization` header when a redirect leaves the registry's host.

use std::fmt;
use std::time::{Duration, Instant};

use reqwest::header::{ACCEPT, HeaderMap, WWW_AUTHENTICATE};
use reqwest::{Method, Response, StatusCode, Url};
use tracing::debug;

use super::auth::{self, BearerChallenge, Challenge, TokenCache};
use crate::error::{Error, Result};

/// A registry user and password (or access token used as a password).
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    pub username: String,
    pub password: String,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credentials({:?}, <redacted>)", self.username)
    }
}

/// One request to the registry: no body, so it can be re-sent after authenticating.
#[derive(Debug, Clone)]
pub struct Request<'a> {
    pub method: Method,
    pub url: Url,
    /// The token scope the request needs, e.g. `repository:team/app:pull`.
    pub scope: &'a str,
    pub accept: Option<&'a str>,
}

/// An authenticating HTTP client for one registry.
#[derive(Debug)]
pub struct RegistryClient {
    http: reqwest::Client,
    base: Url,
    credentials: Option<Credentials>,
    tokens: TokenCache,
}

impl RegistryClient {
    /// `timeout` bounds connecting and each wait for data, not a whole download, so that
    /// a multi-gigabyte blob can take as long as it needs while a stalled one fails.
    pub fn new(base: &str, credentials: Option<Credentials>, timeout: Duration) -> Result<Self> {
        let config_error = |reason: String| Error::Config {
            field: "url",
            reason,
        };
        let mut base = Url::parse(base).map_err(|e| config_error(format!("{base:?}: {e}")))?;
        if !matches!(base.scheme(), "http" | "https") {
            return Err(config_error(format!("{base} is not an http(s) URL")));
        }
        if !base.path().ends_with('/') {
            base.set_path(&format!("{}/", base.path()));
        }
        let http = starling_runtime::build_http_client(|b| {
            b.connect_timeout(timeout)
                .read_timeout(timeout)
                .user_agent(concat!("starling/", env!("CARGO_PKG_VERSION")))
        })
        .map_err(|e| config_error(format!("cannot build an HTTP client: {e}")))?;
        Ok(Self {
            http,
            base,
            credentials,
            tokens: TokenCache::default(),
        })
    }

    /// Resolves a path (`v2/...`) or a server-sent link (`/v2/...?last=x`) against the
    /// registry's URL.
    pub fn url(&self, path: &str) -> Result<Url> {
        self.base.join(path).map_err(|e| Error::InvalidResponse {
            url: self.base.to_string(),
            reason: format!("cannot resolve {path:?}: {e}"),
        })
    }

    /// Sends `request`, authenticating on a 401 as the challenge asks.
    pub async fn send(&self, request: &Request<'_>) -> Result<Response> {
        let cached = self.tokens.get(request.scope, Instant::now());
        let response = self.execute(request, cached.as_deref()).await?;
        if response.status() != StatusCode::UNAUTHORIZED {
            return Ok(response);
        }
        let url = request.url.to_string();
        match bearer_challenge(response.headers()) {
            Some(challenge) => {
                let token = self.fetch_token(&challenge, request.scope).await?;
                let retried = self.execute(request, Some(&token)).await?;
                if retried.status() == StatusCode::UNAUTHORIZED {
                    return Err(Error::Unauthorized {
                        url,
                        reason: format!("the registry refused the token from {}", challenge.realm),
                    });
                }
                Ok(retried)
            }
            None => Err(Error::Unauthorized {
                url,
                reason: self.rejected_credentials(),
            }),
        }
    }

    async fn execute(&self, request: &Request<'_>, token: Option<&str>) -> Result<Response> {
        let mut builder = self
            .http
            .request(request.method.clone(), request.url.clone());
        if let Some(accept) = request.accept {
            builder = builder.header(ACCEPT, accept);
        }
        builder = match (token, &self.credentials) {
            (Some(token), _) => builder.bearer_auth(token),
            (None, Some(c)) => builder.basic_auth(&c.username, Some(&c.password)),
            (None, None) => builder,
        };
        builder.send().await.map_err(|source| Error::Request {
            url: request.url.to_string(),
            source: source.without_url(),
        })
    }

    async fn fetch_token(&self, challenge: &BearerChallenge, scope: &str) -> Result<String> {
        let mut url = Url::parse(&challenge.realm).map_err(|e| Error::InvalidResponse {
            url: self.base.to_string(),
            reason: format!("bearer realm {:?} is not a URL: {e}", challenge.realm),
        })?;
        {
            let mut query = url.query_pairs_mut();
            if let Some(service) = &challenge.service {
                query.append_pair("service", service);
            }
            query.append_pair("scope", challenge.scope.as_deref().unwrap_or(scope));
        }
        let mut builder = self.http.get(url.clone());
        if let Some(c) = &self.credentials {
            builder = builder.basic_auth(&c.username, Some(&c.password));
        }
        let response = builder.send().await.map_err(|source| Error::Request {
            url: url.to_string(),
            source,
        })?;
        let status = response.status();
        if matches!(status, StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN) {
            return Err(Error::Unauthorized {
                url: challenge.realm.clone(),
                reason: format!(
                    "the token server answered {status}: {}",
                    self.rejected_credentials()
                ),
            });
        }
        let body = checked(response)?
            .bytes()
            .await
            .map_err(|source| Error::Request {
                url: url.to_string(),
                source,
            })?;
        let (token, lifetime) =
            auth::parse_token_response(&body).map_err(|reason| Error::InvalidResponse {
                url: challenge.realm.clone(),
                reason,
            })?;
        debug!(realm = %challenge.realm, scope, ?lifetime, "fetched a registry token");
        self.tokens
            .insert(scope, token.clone(), lifetime, Instant::now());
        Ok(token)
    }

    fn rejected_credentials(&self) -> String {
        match &self.credentials {
            Some(c) => format!("the credentials of user {:?} were rejected", c.username),
            None => "credentials are required: set username and password".to_owned(),
        }
    }
}

/// The first bearer challenge among the response's `WWW-Authenticate` headers.
fn bearer_challenge(headers: &HeaderMap) -> Option<BearerChallenge> {
    headers
        .get_all(WWW_AUTHENTICATE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .find_map(|value| match auth::parse_challenge(value) {
            Some(Challenge::Bearer(bearer)) => Some(bearer),
            _ => None,
        })
}

/// Passes a 2xx response through and turns anything else into [`Error::Http`].
pub fn checked(response: Response) -> Result<Response> {
    let status = response.status();
    if status.is_success() {
        return Ok(response);
    }
    Err(Error::Http {
        url: shown_url(response.url()),
        status: status.as_u16(),
    })
}

/// A response's URL as errors and logs show it: after a redirect it may be a pre-signed
/// storage URL whose query is a secret, so the query is left out.
pub fn shown_url(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.to_string()
}
