//! The check in front of every registry request while `pull_auth` is on.
//!
//! - A private repository's manifests, blobs, tags and referrers need a credential the
//!   registry accepts for that repository: `Basic` (checked, then remembered), a
//!   token this agent issued for it ([`super::token`]), or another `Bearer` token
//!   (forwarded to the registry like a basic credential). No credential, or one the
//!   registry does not know, is 401 `UNAUTHORIZED` with the agent's `Bearer` challenge
//!   scoped to the repository; a known credential without access is 403 `DENIED`; a
//!   registry that does not answer is 503 `UNAVAILABLE`.
//! - Other repositories pass untouched, with or without credentials.
//! - `GET /v2/` without credentials is 401 with the challenge (that is what makes
//!   docker use the token endpoint, logged in or not); with credentials it is a login
//!   check. The catalog needs a credential the registry accepts.

use std::time::Instant;

use axum::http::header::{HOST, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue};
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use super::challenge::{agent_challenge, pull_scope};
use super::checker::Verdict;
use super::credential::{Credential, Scheme};
use super::token::ANONYMOUS_TOKEN;
use super::{PullAuth, TOKEN_PATH};

/// What a request reads.
#[derive(Debug, Clone, Copy)]
pub enum Target<'a> {
    /// `/v2/`: the ping, and docker's login check.
    Base,
    /// `/v2/_catalog`.
    Catalog,
    /// Anything under `/v2/<name>/`.
    Repository(&'a str),
}

impl PullAuth {
    /// `Ok` when the request may go on; otherwise the registry error to answer.
    pub async fn authorize(&self, headers: &HeaderMap, target: Target<'_>) -> Result<(), ApiError> {
        let realm = self.realm(headers);
        let repository = match target {
            Target::Repository(name) if !self.is_private(name) => return Ok(()),
            Target::Repository(name) => Some(name),
            Target::Base | Target::Catalog => None,
        };
        let challenge = || unauthorized(&realm, repository, "credentials are required");
        let credential = Credential::from_headers(headers)
            .map_err(|_| self.deny(unauthorized(&realm, repository, "use Basic or Bearer")))?;
        let Some(credential) = credential else {
            return Err(self.deny(challenge()));
        };
        let anonymous = credential.bearer_token() == Some(ANONYMOUS_TOKEN);
        let verdict = match (target, anonymous) {
            (Target::Base, true) => return Ok(()),
            (_, true) => return Err(self.deny(challenge())),
            _ => self.verdict(&credential, repository.unwrap_or("")).await?,
        };
        match verdict {
            Some(Verdict::Allowed) => {
                self.metrics.allowed.increment(1);
                Ok(())
            }
            Some(Verdict::WrongCredentials) => Err(self.deny(unauthorized(
                &realm,
                repository,
                "the registry does not accept these credentials",
            ))),
            Some(Verdict::NoAccess) => Err(self.deny(denied(repository))),
            // A token of ours that does not cover this repository: docker asks for one
            // that does when challenged with the repository's scope.
            None => Err(self.deny(challenge())),
        }
    }

    /// The verdict on `credential`: for one of our tokens, what it was issued with
    /// (`None` if that does not cover `repository`); otherwise the registry's.
    async fn verdict(
        &self,
        credential: &Credential,
        repository: &str,
    ) -> Result<Option<Verdict>, ApiError> {
        if let Some(token) = credential
            .bearer_token()
            .filter(|t| super::token::is_ours(t))
        {
            let now = Instant::now();
            let Some(grant) = self.grants.get(
                &super::credential::CredentialHash::of(token.as_bytes()),
                now,
            ) else {
                return Ok(None);
            };
            self.metrics.cache_hits.increment(1);
            if repository.is_empty() || grant.repositories.iter().any(|r| r == repository) {
                return Ok(Some(Verdict::Allowed));
            }
            let remembered = self
                .decisions
                .get(&(grant.credential, repository.to_owned()), now);
            return Ok(remembered.filter(|v| *v != Verdict::WrongCredentials));
        }
        debug_assert!(matches!(
            credential.scheme(),
            Scheme::Basic | Scheme::Bearer
        ));
        self.decide(credential, repository)
            .await
            .map(Some)
            .map_err(|_| unavailable())
    }

    pub(super) fn deny(&self, error: ApiError) -> ApiError {
        self.metrics.denied.increment(1);
        error
    }

    /// The token endpoint's URL as the client reached the agent (its `Host`).
    pub(super) fn realm(&self, headers: &HeaderMap) -> String {
        let host = headers
            .get(HOST)
            .and_then(|h| h.to_str().ok())
            .filter(|h| !h.is_empty() && !h.contains(['"', '/', ' ']))
            .unwrap_or("127.0.0.1");
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{host}{TOKEN_PATH}")
    }
}

/// 401 `UNAUTHORIZED` with the agent's challenge for `repository`.
pub(super) fn unauthorized(realm: &str, repository: Option<&str>, detail: &str) -> ApiError {
    let scope = repository.map(pull_scope);
    let challenge = agent_challenge(realm, scope.as_deref());
    let value = HeaderValue::from_str(&challenge)
        .unwrap_or_else(|_| HeaderValue::from_static(r#"Bearer realm="/auth/token""#));
    ApiError::new(ErrorCode::Unauthorized, "authentication required")
        .with_detail(detail)
        .with_header(WWW_AUTHENTICATE, value)
}

/// 403 `DENIED`: the registry knows the credential, which may not pull `repository`.
pub(super) fn denied(repository: Option<&str>) -> ApiError {
    let detail = match repository {
        Some(name) => format!("these credentials may not pull {name}"),
        None => "these credentials may not list repositories".to_owned(),
    };
    ApiError::new(
        ErrorCode::Denied,
        "requested access to the resource is denied",
    )
    .with_detail(detail)
}

/// 503 `UNAVAILABLE`: the registry that checks credentials did not answer (logged by
/// [`PullAuth::decide`], with its URL).
pub(super) fn unavailable() -> ApiError {
    ApiError::new(
        ErrorCode::Unavailable,
        "the registry that checks credentials is unavailable",
    )
}
