//! Asks the checking registry whether a credential may pull a repository.
//!
//! The question is `GET /v2/<repository>/tags/list?n=1` with the client's
//! `Authorization` header (`GET /v2/` when no repository is named, as at
//! `docker login`). The tag listing is chosen over a manifest `HEAD` because it needs
//! the pull right on every registry, while the cluster's proxy serves manifests and
//! blobs by name to anyone and checks credentials only on writes and listings
//! (`proxy/src/auth.rs`). A registry with token auth answers 401 with a `Bearer`
//! challenge; the check then follows the token flow (`GET <realm>?service=…&scope=…`
//! with the client's basic credentials, then the listing again with the token).
//!
//! Answers: 2xx allows; 401 (from the listing or the token realm) means wrong
//! credentials; 403, or 404 for a repository the registry does not show this client,
//! means no access; anything else, a timeout or a connection failure makes the
//! registry [`Unreachable`], which is never an allow. The credential is sent only to the
//! configured registry and the realm it names, never logged, and errors carry URLs, not
//! headers.

use std::time::Duration;

use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::http::{HeaderValue, StatusCode};
use reqwest::Url;

use super::challenge::{BearerChallenge, parse_bearer, pull_scope};
use super::credential::{Credential, Scheme};

/// What the registry said about a credential and a repository.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allowed,
    /// The registry does not know the credential (401): wrong user or password.
    WrongCredentials,
    /// The credential is valid but may not pull the repository (403, or 404).
    NoAccess,
}

/// The registry could not answer; the text (for the log) names the URL and the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable(pub String);

/// The largest token response read.
const MAX_TOKEN_RESPONSE: usize = 64 * 1024;

pub struct Checker {
    http: reqwest::Client,
    registry: String,
    timeout: Duration,
}

impl Checker {
    /// Checks against the registry at `registry` (a base URL), each check bounded by
    /// `timeout`.
    pub fn new(http: reqwest::Client, registry: &str, timeout: Duration) -> Self {
        Self {
            http,
            registry: registry.trim_end_matches('/').to_owned(),
            timeout,
        }
    }

    /// May `credential` pull `repository` (or, with `None`, log in at all)?
    pub async fn check(
        &self,
        credential: &Credential,
        repository: Option<&str>,
    ) -> Result<Verdict, Unreachable> {
        let url = match repository {
            Some(name) => format!("{}/v2/{name}/tags/list?n=1", self.registry),
            None => format!("{}/v2/", self.registry),
        };
        tokio::time::timeout(self.timeout, self.check_url(&url, credential, repository))
            .await
            .unwrap_or_else(|_| {
                Err(Unreachable(format!(
                    "{url}: no answer in {:?}",
                    self.timeout
                )))
            })
    }

    async fn check_url(
        &self,
        url: &str,
        credential: &Credential,
        repository: Option<&str>,
    ) -> Result<Verdict, Unreachable> {
        let first = self.get(url, credential.header()).await?;
        if first.status() != StatusCode::UNAUTHORIZED {
            return verdict(url, first.status());
        }
        let challenge = first
            .headers()
            .get(WWW_AUTHENTICATE)
            .and_then(|v| v.to_str().ok())
            .and_then(parse_bearer);
        // A Basic challenge, or a bearer token the registry refused: the credential is
        // wrong. Only basic credentials can be exchanged for a token.
        let (Some(challenge), Scheme::Basic) = (challenge, credential.scheme()) else {
            return Ok(Verdict::WrongCredentials);
        };
        let token = match self.fetch_token(&challenge, repository, credential).await? {
            Ok(token) => token,
            Err(verdict) => return Ok(verdict),
        };
        let mut bearer = HeaderValue::from_str(&format!("Bearer {token}")).map_err(|_| {
            Unreachable(format!("{}: the token is no header value", challenge.realm))
        })?;
        bearer.set_sensitive(true);
        let second = self.get(url, &bearer).await?;
        match second.status() {
            // The realm took the credential but its token does not cover the pull.
            StatusCode::UNAUTHORIZED => Ok(Verdict::NoAccess),
            status => verdict(url, status),
        }
    }

    /// The token for `challenge`, or the verdict the realm's refusal means.
    async fn fetch_token(
        &self,
        challenge: &BearerChallenge,
        repository: Option<&str>,
        credential: &Credential,
    ) -> Result<Result<String, Verdict>, Unreachable> {
        let scope = challenge
            .scope
            .clone()
            .or_else(|| repository.map(pull_scope));
        let params = [("service", challenge.service.clone()), ("scope", scope)];
        let params = params.iter().filter_map(|(k, v)| Some((*k, v.as_deref()?)));
        let realm = Url::parse_with_params(&challenge.realm, params)
            .map_err(|e| Unreachable(format!("realm {:?}: {e}", challenge.realm)))?;
        let shown = realm.as_str().to_owned();
        let response = self.get(&shown, credential.header()).await?;
        match response.status() {
            status if status.is_success() => {}
            StatusCode::UNAUTHORIZED => return Ok(Err(Verdict::WrongCredentials)),
            StatusCode::FORBIDDEN => return Ok(Err(Verdict::NoAccess)),
            status => return Err(Unreachable(format!("{shown}: {status}"))),
        }
        let body = response
            .bytes()
            .await
            .map_err(|e| Unreachable(format!("{shown}: {e}")))?;
        token_from(&body[..body.len().min(MAX_TOKEN_RESPONSE)])
            .map(Ok)
            .ok_or_else(|| Unreachable(format!("{shown}: no token in the answer")))
    }

    async fn get(&self, url: &str, auth: &HeaderValue) -> Result<reqwest::Response, Unreachable> {
        self.http
            .get(url)
            .header(AUTHORIZATION, auth.clone())
            .send()
            .await
            .map_err(|e| Unreachable(format!("{url}: {e}")))
    }
}

fn verdict(url: &str, status: StatusCode) -> Result<Verdict, Unreachable> {
    match status {
        s if s.is_success() => Ok(Verdict::Allowed),
        StatusCode::UNAUTHORIZED => Ok(Verdict::WrongCredentials),
        StatusCode::FORBIDDEN | StatusCode::NOT_FOUND => Ok(Verdict::NoAccess),
        other => Err(Unreachable(format!("{url}: {other}"))),
    }
}

/// `token` or `access_token` of a token response (the spec allows either).
fn token_from(body: &[u8]) -> Option<String> {
    let json: serde_json::Value = serde_json::from_slice(body).ok()?;
    ["token", "access_token"]
        .iter()
        .find_map(|key| json.get(key)?.as_str().filter(|t| !t.is_empty()))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_map_to_verdicts_and_others_are_unreachable() {
        assert_eq!(verdict("u", StatusCode::OK), Ok(Verdict::Allowed));
        assert_eq!(
            verdict("u", StatusCode::UNAUTHORIZED),
            Ok(Verdict::WrongCredentials)
        );
        assert_eq!(verdict("u", StatusCode::FORBIDDEN), Ok(Verdict::NoAccess));
        assert_eq!(verdict("u", StatusCode::NOT_FOUND), Ok(Verdict::NoAccess));
        for status in [
            StatusCode::TOO_MANY_REQUESTS,
            StatusCode::BAD_GATEWAY,
            StatusCode::FOUND,
        ] {
            assert!(verdict("u", status).is_err(), "{status}");
        }
    }

    #[test]
    fn tokens_come_from_either_field() {
        assert_eq!(token_from(br#"{"token":"a"}"#).as_deref(), Some("a"));
        assert_eq!(
            token_from(br#"{"access_token":"b","expires_in":60}"#).as_deref(),
            Some("b")
        );
        assert_eq!(token_from(br#"{"token":""}"#), None);
        assert_eq!(token_from(b"not json"), None);
    }

    use axum::extract::{Path, State};
    use axum::http::HeaderMap;
    use axum::response::{IntoResponse, Response};

    /// `/v2/<name>/tags/list` of the fake registry: the token `good-token` opens every
    /// name but `denied/app`; anything else gets the challenge.
    async fn listing(
        State(realm): State<String>,
        Path(rest): Path<String>,
        headers: HeaderMap,
    ) -> Response {
        let name = rest.trim_end_matches("/tags/list");
        let auth = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok());
        match (auth, name) {
            (Some("Bearer good-token"), "denied/app") => StatusCode::FORBIDDEN.into_response(),
            (Some("Bearer good-token"), _) => StatusCode::OK.into_response(),
            _ => {
                let challenge = format!(
                    r#"Bearer realm="{realm}",service="fake",scope="repository:{name}:pull""#
                );
                (StatusCode::UNAUTHORIZED, [(WWW_AUTHENTICATE, challenge)]).into_response()
            }
        }
    }

    /// The fake registry's realm: `good-token` for `Basic alice:pw`.
    async fn token(headers: HeaderMap) -> Response {
        // base64("alice:pw")
        if headers
            .get(AUTHORIZATION)
            .is_some_and(|v| v == "Basic YWxpY2U6cHc=")
        {
            (StatusCode::OK, r#"{"token":"good-token"}"#).into_response()
        } else {
            StatusCode::UNAUTHORIZED.into_response()
        }
    }

    /// A registry with token auth on loopback; its base URL.
    async fn token_registry() -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let app = axum::Router::new()
            .route("/v2/{*rest}", axum::routing::get(listing))
            .route("/token", axum::routing::get(token))
            .with_state(format!("{base}/token"));
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        base
    }

    fn credential(text: &str) -> Credential {
        Credential::parse(&HeaderValue::from_str(text).unwrap()).unwrap()
    }

    #[tokio::test]
    async fn the_token_flow_is_followed_with_basic_credentials() {
        let base = token_registry().await;
        let checker = Checker::new(reqwest::Client::new(), &base, Duration::from_secs(5));
        let right = credential("Basic YWxpY2U6cHc=");
        let wrong = credential("Basic YWxpY2U6bm8=");
        assert_eq!(
            checker.check(&right, Some("private/app")).await,
            Ok(Verdict::Allowed)
        );
        assert_eq!(
            checker.check(&wrong, Some("private/app")).await,
            Ok(Verdict::WrongCredentials)
        );
        assert_eq!(
            checker.check(&right, Some("denied/app")).await,
            Ok(Verdict::NoAccess)
        );
        let foreign = credential("Bearer other");
        assert_eq!(
            checker.check(&foreign, Some("private/app")).await,
            Ok(Verdict::WrongCredentials)
        );
    }

    #[tokio::test]
    async fn a_registry_that_does_not_answer_is_unreachable() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        // Accepts and never answers: the timeout decides.
        let _held = tokio::spawn(async move {
            let mut held = Vec::new();
            while let Ok((socket, _)) = listener.accept().await {
                held.push(socket);
            }
        });
        let checker = Checker::new(reqwest::Client::new(), &base, Duration::from_millis(200));
        let outcome = checker
            .check(&credential("Basic YWxpY2U6cHc="), Some("a/b"))
            .await;
        assert!(outcome.is_err(), "{outcome:?}");
    }
}
