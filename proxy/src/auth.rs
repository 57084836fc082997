//! Optional basic authentication for pushes, from an Apache htpasswd file with bcrypt
//! entries (`htpasswd -B`).
//!
//! Policy (see `docs/proxy-api.md`): writes (POST, PATCH, PUT, DELETE) and the listings
//! (`GET /v2/_catalog`, `GET /v2/<name>/tags/list`, which would tell anyone every
//! repository and tag) need valid credentials; reads of manifests and blobs by name are
//! open. `GET /v2/` answers 401 with a `Basic` challenge when no credentials are sent
//! (that challenge is what makes `docker login` and docker's push send them) and checks
//! them when they are.
//!
//! bcrypt is slow on purpose, and docker sends the credentials with every request of a
//! push, so a verified (user, sha256 of the password) pair is remembered in memory; the
//! file is read once at start.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Mutex;

use base64::Engine;
use starling_core::Digest;

use crate::error::{Error, Result};

/// Verified credentials remembered; the set is emptied when full.
const MAX_REMEMBERED: usize = 1024;

/// User name to bcrypt hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Htpasswd {
    users: HashMap<String, String>,
}

impl Htpasswd {
    pub async fn load(path: &Path) -> Result<Self> {
        let text = tokio::fs::read_to_string(path)
            .await
            .map_err(Error::io("read the htpasswd file", path.to_path_buf()))?;
        Self::parse(path, &text)
    }

    /// Parses `user:hash` lines; blank lines and `#` comments are skipped. Only bcrypt
    /// hashes are accepted, so a file made without `-B` fails at start, not at login.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let mut users = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |reason: &str| Error::Htpasswd {
                path: path.to_path_buf(),
                line: i + 1,
                reason: reason.to_owned(),
            };
            let (user, hash) = line
                .split_once(':')
                .ok_or_else(|| bad("expected user:hash"))?;
            if user.is_empty() {
                return Err(bad("empty user name"));
            }
            let bcrypt = ["$2a$", "$2b$", "$2x$", "$2y$"];
            if !bcrypt.iter().any(|p| hash.starts_with(p)) {
                return Err(bad("not a bcrypt hash (create entries with htpasswd -B)"));
            }
            users.insert(user.to_owned(), hash.to_owned());
        }
        Ok(Self { users })
    }

    pub fn len(&self) -> usize {
        self.users.len()
    }

    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }
}

/// Checks `Authorization: Basic …` headers against an [`Htpasswd`].
pub struct Authenticator {
    htpasswd: Htpasswd,
    verified: Mutex<HashSet<(String, Digest)>>,
}

impl Authenticator {
    pub fn new(htpasswd: Htpasswd) -> Self {
        Self {
            htpasswd,
            verified: Mutex::default(),
        }
    }

    /// `Ok` for valid credentials in `authorization` (the header's value).
    pub async fn check(&self, authorization: Option<&[u8]>) -> Result<()> {
        let header = authorization.ok_or(Error::CredentialsMissing)?;
        let Some((user, password)) = parse_basic(header) else {
            return Err(Error::CredentialsInvalid {
                user: String::new(),
            });
        };
        let key = (user.clone(), Digest::of(password.as_bytes()));
        if self.remembered().contains(&key) {
            return Ok(());
        }
        let invalid = || Error::CredentialsInvalid { user: user.clone() };
        let hash = self
            .htpasswd
            .users
            .get(&user)
            .cloned()
            .ok_or_else(invalid)?;
        let valid = tokio::task::spawn_blocking(move || bcrypt::verify(password, &hash))
            .await
            .map_err(|source| Error::Task {
                action: "verify a password",
                source,
            })?
            .unwrap_or(false);
        if !valid {
            return Err(invalid());
        }
        let mut remembered = self.remembered();
        if remembered.len() >= MAX_REMEMBERED {
            remembered.clear();
        }
        remembered.insert(key);
        Ok(())
    }

    fn remembered(&self) -> std::sync::MutexGuard<'_, HashSet<(String, Digest)>> {
        self.verified
            .lock()
            .expect("credential cache lock poisoned")
    }
}

/// `Basic base64(user:password)` into its parts.
fn parse_basic(header: &[u8]) -> Option<(String, String)> {
    let header = std::str::from_utf8(header).ok()?.trim();
    let (scheme, encoded) = header.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (user, password) = text.split_once(':')?;
    Some((user.to_owned(), password.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn basic(user_pass: &str) -> Vec<u8> {
        let encoded = base64::engine::general_purpose::STANDARD.encode(user_pass);
        format!("Basic {encoded}").into_bytes()
    }

    fn authenticator() -> Authenticator {
        // Cost 4, the minimum, keeps the test fast; the format is what htpasswd -B writes.
        let hash = bcrypt::hash("s3cret", 4).unwrap().replace("$2b$", "$2y$");
        let text = format!("# users\n\nalice:{hash}\n");
        Authenticator::new(Htpasswd::parse(Path::new("htpasswd"), &text).unwrap())
    }

    #[tokio::test]
    async fn valid_credentials_pass_and_are_remembered() {
        let auth = authenticator();
        auth.check(Some(&basic("alice:s3cret"))).await.unwrap();
        assert_eq!(auth.remembered().len(), 1);
        auth.check(Some(&basic("alice:s3cret"))).await.unwrap();
        auth.check(Some(b"basic YWxpY2U6czNjcmV0")).await.unwrap();
    }

    #[tokio::test]
    async fn missing_and_wrong_credentials_fail() {
        let auth = authenticator();
        assert!(matches!(
            auth.check(None).await,
            Err(Error::CredentialsMissing)
        ));
        for header in [
            basic("alice:wrong"),
            basic("bob:s3cret"),
            basic("alice"),
            b"Bearer abc".to_vec(),
            b"Basic !!!".to_vec(),
        ] {
            let result = auth.check(Some(&header)).await;
            assert!(
                matches!(result, Err(Error::CredentialsInvalid { .. })),
                "{:?}: {result:?}",
                String::from_utf8_lossy(&header)
            );
        }
        assert!(auth.remembered().is_empty());
    }

    #[test]
    fn htpasswd_files_must_hold_bcrypt_entries() {
        let path = Path::new("/etc/starling/htpasswd");
        let ok = Htpasswd::parse(path, "a:$2y$05$abc\nb:$2b$05$def\n").unwrap();
        assert_eq!(ok.len(), 2);
        for (text, want) in [
            ("a:{SHA}abc=", "line 1: not a bcrypt hash"),
            ("\nno-colon", "line 2: expected user:hash"),
            (":$2y$05$abc", "line 1: empty user name"),
        ] {
            let err = Htpasswd::parse(path, text).unwrap_err().to_string();
            assert!(err.contains(want), "{text:?}: {err}");
        }
    }
}
