//! The agent's token endpoint (`GET /auth/token`), the realm of its `Bearer`
//! challenge: docker, containerd and skopeo call it with the basic credentials they
//! hold for the agent (`docker login`, imagePullSecrets) and the scopes they want
//! (`repository:team/app:pull`), then send the token on every request.
//!
//! - No credentials: the fixed anonymous token, which opens only public repositories
//!   (so anonymous pulls work as before).
//! - Basic credentials: every private repository in the scopes is checked with the
//!   registry ([`PullAuth::decide`], remembered); a wrong password is 401, a registry
//!   that does not answer 503; a repository the credential may not pull is left out of
//!   the token (its requests then get 403). Without a private scope (`docker login`) the
//!   credential is checked with `GET /v2/` of the registry.
//! - The token is 256 random bits; the agent keeps only its SHA-256 with the
//!   credential's hash and the repositories it covers ([`Grant`]), for the token's
//!   lifetime: `cache_ttl`, but at least the 60 s docker keeps any token.

use std::sync::Arc;
use std::time::Instant;

use axum::extract::{Query, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use starling_runtime::ApiError;

use super::PullAuth;
use super::challenge::scope_repository;
use super::checker::Verdict;
use super::credential::{Credential, CredentialHash, Scheme};
use super::gate::{denied, unauthorized, unavailable};
use crate::state::AgentState;

/// The token of clients without credentials: it opens nothing private.
pub const ANONYMOUS_TOKEN: &str = "anonymous";

/// The prefix of the tokens this agent issues.
const TOKEN_PREFIX: &str = "starling-pull.";

/// What an issued token stands for.
#[derive(Debug, Clone)]
pub struct Grant {
    /// The hash of the basic credential it was issued for.
    pub credential: CredentialHash,
    /// Private repositories the registry let that credential pull.
    pub repositories: Vec<String>,
}

pub fn is_ours(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// `GET /auth/token`, routed only while `pull_auth` is on.
pub async fn token_endpoint(State(state): State<Arc<AgentState>>, request: Request) -> Response {
    let Some(auth) = state.pull_auth.as_deref() else {
        return ApiError::new(
            starling_core::registry::ErrorCode::Unsupported,
            "pull_auth is off",
        )
        .into_response();
    };
    let scopes = Query::<Vec<(String, String)>>::try_from_uri(request.uri())
        .map(|Query(params)| params)
        .unwrap_or_default();
    let repositories = scopes
        .iter()
        .filter(|(key, _)| key == "scope")
        .flat_map(|(_, value)| value.split(' '))
        .filter_map(scope_repository)
        .map(str::to_owned);
    match auth.issue(request.headers(), repositories).await {
        Ok(token) => token.into_response(),
        Err(error) => error.into_response(),
    }
}

/// A token answer: `token` and `access_token` (clients read either), and its lifetime.
struct TokenAnswer {
    token: String,
    expires_in: u64,
}

impl IntoResponse for TokenAnswer {
    fn into_response(self) -> Response {
        let body = serde_json::json!({
            "token": self.token,
            "access_token": self.token,
            "expires_in": self.expires_in,
        });
        ([(CONTENT_TYPE, "application/json")], body.to_string()).into_response()
    }
}

impl PullAuth {
    async fn issue(
        &self,
        headers: &axum::http::HeaderMap,
        repositories: impl Iterator<Item = String>,
    ) -> Result<TokenAnswer, ApiError> {
        let realm = self.realm(headers);
        let lifetime = self.grants.ttl().as_secs();
        let credential = Credential::from_headers(headers)
            .map_err(|_| self.deny(unauthorized(&realm, None, "use Basic credentials")))?;
        let Some(credential) = credential else {
            return Ok(TokenAnswer {
                token: ANONYMOUS_TOKEN.to_owned(),
                expires_in: lifetime,
            });
        };
        if credential.scheme() != Scheme::Basic {
            let why = "the token endpoint takes Basic credentials";
            return Err(self.deny(unauthorized(&realm, None, why)));
        }
        let private: Vec<String> = repositories.filter(|r| self.is_private(r)).collect();
        let mut granted = Vec::new();
        let wrong = || {
            unauthorized(
                &realm,
                None,
                "the registry does not accept these credentials",
            )
        };
        if private.is_empty() {
            match self
                .decide(&credential, "")
                .await
                .map_err(|_| unavailable())?
            {
                Verdict::Allowed => {}
                Verdict::WrongCredentials => return Err(self.deny(wrong())),
                Verdict::NoAccess => return Err(self.deny(denied(None))),
            }
        }
        for repository in private {
            match self
                .decide(&credential, &repository)
                .await
                .map_err(|_| unavailable())?
            {
                Verdict::Allowed => granted.push(repository),
                Verdict::WrongCredentials => return Err(self.deny(wrong())),
                Verdict::NoAccess => {}
            }
        }
        self.metrics.allowed.increment(1);
        let random: [u8; 32] = rand::random();
        let token = format!("{TOKEN_PREFIX}{}", hex(&random));
        let grant = Grant {
            credential: credential.hash(),
            repositories: granted,
        };
        self.grants
            .insert(CredentialHash::of(token.as_bytes()), grant, Instant::now());
        Ok(TokenAnswer {
            token,
            expires_in: lifetime,
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_are_recognised_and_the_anonymous_one_is_not() {
        let token = format!("{TOKEN_PREFIX}{}", hex(&[0xab; 32]));
        assert!(is_ours(&token));
        assert_eq!(token.len(), TOKEN_PREFIX.len() + 64);
        assert!(!is_ours(ANONYMOUS_TOKEN));
        assert!(!is_ours("eyJhbGciOi"));
    }
}
