//! The client's `Authorization` header as a credential the agent may forward but never
//! keeps: the header value (marked sensitive, so HTTP logging never prints it) for the
//! one check it is forwarded to, and its SHA-256 ([`CredentialHash`]) as the key every
//! remembered decision is stored under.
//!
//! Two schemes count: `Basic` (what docker, skopeo and the kubelet's imagePullSecrets
//! send) and `Bearer` (a token this agent issued, or one the checking registry issued).
//! `Debug` names the scheme only.

use std::fmt;

use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, HeaderValue};
use starling_core::Digest;

/// The SHA-256 of a whole `Authorization` value: what the caches hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct CredentialHash(Digest);

impl CredentialHash {
    pub fn of(secret: &[u8]) -> Self {
        Self(Digest::of(secret))
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Scheme {
    Basic,
    Bearer,
}

/// A parsed `Authorization` header.
#[derive(Clone)]
pub struct Credential {
    scheme: Scheme,
    header: HeaderValue,
    hash: CredentialHash,
}

/// Why a header is no credential.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Malformed {
    /// Neither `Basic` nor `Bearer`, or nothing after the scheme.
    Scheme,
}

impl Credential {
    /// The request's credential: `Ok(None)` without an `Authorization` header.
    pub fn from_headers(headers: &HeaderMap) -> Result<Option<Self>, Malformed> {
        headers.get(AUTHORIZATION).map(Self::parse).transpose()
    }

    pub fn parse(value: &HeaderValue) -> Result<Self, Malformed> {
        let text = value.to_str().map_err(|_| Malformed::Scheme)?.trim();
        let (scheme, rest) = text.split_once(' ').ok_or(Malformed::Scheme)?;
        let scheme = if scheme.eq_ignore_ascii_case("basic") {
            Scheme::Basic
        } else if scheme.eq_ignore_ascii_case("bearer") {
            Scheme::Bearer
        } else {
            return Err(Malformed::Scheme);
        };
        if rest.trim().is_empty() {
            return Err(Malformed::Scheme);
        }
        let mut header = value.clone();
        header.set_sensitive(true);
        Ok(Self {
            scheme,
            hash: CredentialHash::of(text.as_bytes()),
            header,
        })
    }

    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The token of a `Bearer` credential.
    pub fn bearer_token(&self) -> Option<&str> {
        if self.scheme != Scheme::Bearer {
            return None;
        }
        let text = self.header.to_str().ok()?.trim();
        Some(text.split_once(' ')?.1.trim())
    }

    /// The header to forward to the checking registry.
    pub fn header(&self) -> &HeaderValue {
        &self.header
    }

    pub fn hash(&self) -> CredentialHash {
        self.hash
    }
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Credential({:?}, <redacted>)", self.scheme)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Credential, Malformed> {
        Credential::parse(&HeaderValue::from_str(text).unwrap())
    }

    #[test]
    fn basic_and_bearer_in_any_case() {
        let basic = parse("Basic YWxpY2U6czNjcmV0").unwrap();
        assert_eq!(basic.scheme(), Scheme::Basic);
        assert!(basic.header().is_sensitive());
        assert_eq!(basic.bearer_token(), None);
        assert_eq!(
            parse("basic YWxpY2U6czNjcmV0").unwrap().scheme(),
            Scheme::Basic
        );
        let bearer = parse("bearer  tok123 ").unwrap();
        assert_eq!(bearer.scheme(), Scheme::Bearer);
        assert_eq!(bearer.bearer_token(), Some("tok123"));
    }

    #[test]
    fn other_schemes_and_empty_values_are_malformed() {
        for text in [
            "Digest abc",
            "Basic",
            "Basic ",
            "Bearer  ",
            "YWxpY2U6czNjcmV0",
        ] {
            assert_eq!(parse(text).err(), Some(Malformed::Scheme), "{text:?}");
        }
    }

    #[test]
    fn the_hash_differs_per_credential_and_debug_hides_it() {
        let a = parse("Basic YWxpY2U6czNjcmV0").unwrap();
        let b = parse("Basic YWxpY2U6d3Jvbmc=").unwrap();
        assert_ne!(a.hash(), b.hash());
        assert_eq!(a.hash(), parse("Basic YWxpY2U6czNjcmV0").unwrap().hash());
        let debug = format!("{a:?}");
        assert!(!debug.contains("YWxp"), "{debug}");
    }

    #[test]
    fn a_missing_header_is_no_credential() {
        assert!(
            Credential::from_headers(&HeaderMap::new())
                .unwrap()
                .is_none()
        );
    }
}
