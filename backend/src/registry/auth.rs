//! Registry authentication: `WWW-Authenticate` challenges and the bearer-token cache.
//!
//! Registries answer an unauthenticated request with 401 and a challenge. `Basic` means
//! "send a username and password"; `Bearer realm=..,service=..,scope=..` means "fetch a
//! token from `realm` and retry" (the Docker token protocol). Everything here is pure so it
//! can be tested without a network; the HTTP side lives in `client.rs`.
//!
//! Tokens are cached per scope until shortly before they expire; the cache holds one lock
//! only for the duration of a map lookup or insert.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Deserialize;

/// Tokens without `expires_in` live this long, per the Docker token specification.
const DEFAULT_TOKEN_LIFETIME: Duration = Duration::from_secs(60);
/// A token is dropped this long before its expiry so that it does not expire in flight.
const EXPIRY_MARGIN: Duration = Duration::from_secs(5);

/// An authentication challenge from a `WWW-Authenticate` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic { realm: Option<String> },
    Bearer(BearerChallenge),
}

/// Where to fetch a bearer token and for what.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BearerChallenge {
    pub realm: String,
    pub service: Option<String>,
    pub scope: Option<String>,
}

/// Parses one challenge. Unknown schemes and a `Bearer` without a realm give `None`,
/// because nothing useful can be done with them.
pub fn parse_challenge(header: &str) -> Option<Challenge> {
    let header = header.trim();
    let (scheme, rest) = header.split_once(' ').unwrap_or((header, ""));
    let params = parse_params(rest);
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    if scheme.eq_ignore_ascii_case("basic") {
        Some(Challenge::Basic {
            realm: param("realm"),
        })
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Challenge::Bearer(BearerChallenge {
            realm: param("realm")?,
            service: param("service"),
            scope: param("scope"),
        }))
    } else {
        None
    }
}

/// Parses `key=value` and `key="quoted, value"` pairs separated by commas. Quoted values
/// may contain commas (`scope="repository:a:pull,push"`) and backslash escapes.
fn parse_params(input: &str) -> Vec<(String, String)> {
    let mut params = Vec::new();
    let mut chars = input.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let key: String = chars.by_ref().take_while(|c| *c != '=').collect();
        let key = key.trim();
        // A space inside a key means a second challenge starts; only the first is read.
        if key.is_empty() || key.contains(char::is_whitespace) {
            return params;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'"') {
            chars.next();
            while let Some(c) = chars.next() {
                match c {
                    '\\' => value.extend(chars.next()),
                    '"' => break,
                    c => value.push(c),
                }
            }
        } else {
            value = chars.by_ref().take_while(|c| *c != ',').collect();
            value = value.trim().to_owned();
        }
        params.push((key.to_owned(), value));
    }
}

/// The body of a token server's answer. Docker's servers send `token`, OAuth2-style ones
/// `access_token`; both are accepted.
#[derive(Debug, Deserialize)]
struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

/// Extracts the token and its lifetime from a token server's JSON body.
pub fn parse_token_response(body: &[u8]) -> Result<(String, Duration), String> {
    let response: TokenResponse =
        serde_json::from_slice(body).map_err(|e| format!("token response is not JSON: {e}"))?;
    let token = response
        .token
        .or(response.access_token)
        .filter(|t| !t.is_empty())
        .ok_or("token response has neither \"token\" nor \"access_token\"")?;
    let lifetime = response
        .expires_in
        .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
    Ok((token, lifetime))
}

/// Bearer tokens by scope, each valid until its expiry minus a margin.
#[derive(Default)]
pub struct TokenCache {
    tokens: Mutex<HashMap<String, CachedToken>>,
}

/// Shows the scopes only: tokens are secrets and must not reach a log.
impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        f.debug_set().entries(tokens.keys()).finish()
    }
}

struct CachedToken {
    token: String,
    valid_until: Instant,
}

impl TokenCache {
    /// The token for `scope` if it is still valid at `now`.
    pub fn get(&self, scope: &str, now: Instant) -> Option<String> {
        let tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        let cached = tokens.get(scope)?;
        (now < cached.valid_until).then(|| cached.token.clone())
    }

    /// Remembers `token` for `scope`, issued at `now` and valid for `lifetime`.
    pub fn insert(&self, scope: &str, token: String, lifetime: Duration, now: Instant) {
        let valid_until = now + lifetime.saturating_sub(EXPIRY_MARGIN);
        let mut tokens = self.tokens.lock().unwrap_or_else(|e| e.into_inner());
        tokens.retain(|_, cached| cached.valid_until > now);
        tokens.insert(scope.to_owned(), CachedToken { token, valid_until });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bearer(realm: &str, service: Option<&str>, scope: Option<&str>) -> Option<Challenge> {
        Some(Challenge::Bearer(BearerChallenge {
            realm: realm.to_owned(),
            service: service.map(str::to_owned),
            scope: scope.map(str::to_owned),
        }))
    }

    #[test]
    fn parses_the_challenges_registries_send() {
        let hub = r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/ubuntu:pull""#;
        let cases = [
            (
                hub,
                bearer(
                    "https://auth.docker.io/token",
                    Some("registry.docker.io"),
                    Some("repository:library/ubuntu:pull"),
                ),
            ),
            (
                r#"bearer realm="http://127.0.0.1:1/t", scope="repository:a/b:pull,push""#,
                bearer(
                    "http://127.0.0.1:1/t",
                    None,
                    Some("repository:a/b:pull,push"),
                ),
            ),
            (
                "Bearer realm=http://h/token,service=reg",
                bearer("http://h/token", Some("reg"), None),
            ),
            (
                r#"Bearer realm="http://h/\"q\"", Basic realm="x""#,
                bearer("http://h/\"q\"", None, None),
            ),
            (
                r#"Basic realm="Registry Realm""#,
                Some(Challenge::Basic {
                    realm: Some("Registry Realm".to_owned()),
                }),
            ),
            ("Basic", Some(Challenge::Basic { realm: None })),
            (r#"Bearer service="no-realm""#, None),
            (r#"Negotiate abc"#, None),
            ("", None),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_challenge(header), expected, "{header}");
        }
    }

    #[test]
    fn token_responses_in_both_spellings() {
        let (token, lifetime) =
            parse_token_response(br#"{"token":"t1","expires_in":300}"#).unwrap();
        assert_eq!((token.as_str(), lifetime), ("t1", Duration::from_secs(300)));
        let (token, lifetime) = parse_token_response(br#"{"access_token":"t2"}"#).unwrap();
        assert_eq!((token.as_str(), lifetime), ("t2", DEFAULT_TOKEN_LIFETIME));
        let err = parse_token_response(br#"{"token":""}"#).unwrap_err();
        assert!(err.contains("neither"), "{err}");
        assert!(
            parse_token_response(b"<html>")
                .unwrap_err()
                .contains("not JSON")
        );
    }

    #[test]
    fn cached_tokens_expire_before_the_server_says() {
        let cache = TokenCache::default();
        let t0 = Instant::now();
        cache.insert(
            "repository:a:pull",
            "tok".to_owned(),
            Duration::from_secs(60),
            t0,
        );
        assert_eq!(cache.get("repository:a:pull", t0).as_deref(), Some("tok"));
        assert_eq!(cache.get("repository:b:pull", t0), None);
        let almost = t0 + Duration::from_secs(54);
        assert_eq!(
            cache.get("repository:a:pull", almost).as_deref(),
            Some("tok")
        );
        let late = t0 + Duration::from_secs(55);
        assert_eq!(cache.get("repository:a:pull", late), None);

        cache.insert(
            "repository:a:pull",
            "new".to_owned(),
            Duration::from_secs(2),
            late,
        );
        assert_eq!(
            cache.get("repository:a:pull", late),
            None,
            "shorter than the margin"
        );
        let shown = format!("{cache:?}");
        assert!(
            shown.contains("repository:a:pull") && !shown.contains("new"),
            "{shown}"
        );
    }
}
