//! The cluster's bearer token (`auth:` in origin, build-index and proxy configs, and in
//! each build-index remote): origins and build-index require it on writes, and the
//! proxy, origins and build-index send it on theirs. Unset, writes are open and the
//! component warns at start (`starling dev` always sets one).
//!
//! The token is a credential: `token_file` (a mounted Secret) is the usual way to give
//! it, and `Debug` never prints it.

use std::fmt;
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::secrets::{one_of, take_file};

/// `auth:` — the bearer token of a cluster.
#[derive(Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// The token inline (prefer `token_file`).
    pub token: Option<String>,
    /// A file holding the token (one trailing newline is ignored).
    pub token_file: Option<PathBuf>,
}

impl AuthConfig {
    /// A config holding `token` inline.
    pub fn with_token(token: impl Into<String>) -> Self {
        Self {
            token: Some(token.into()),
            token_file: None,
        }
    }

    /// The token, once [`Self::read_secret_files`] has run.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    pub fn validate(&self) -> Result<()> {
        one_of(("token", &self.token), ("token_file", &self.token_file))?;
        if let Some(token) = &self.token {
            check_token("token", token)?;
        }
        Ok(())
    }

    pub fn read_secret_files(&mut self) -> Result<()> {
        take_file("token_file", &mut self.token, &mut self.token_file)?;
        match &self.token {
            Some(token) => check_token("token_file", token),
            None => Ok(()),
        }
    }
}

/// A token goes into an HTTP header: visible ASCII only, and long enough to guess never.
fn check_token(field: &str, token: &str) -> Result<()> {
    if !token.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Error::invalid(
            field,
            "the token must be visible ASCII characters (no spaces or control characters)",
        ));
    }
    if token.len() < 16 {
        return Err(Error::invalid(
            field,
            "the token must be at least 16 characters (e.g. `openssl rand -hex 32`)",
        ));
    }
    Ok(())
}

impl fmt::Debug for AuthConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthConfig")
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("token_file", &self.token_file)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_file_is_read_and_checked() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("token");
        std::fs::write(&path, "0123456789abcdef0123\n").unwrap();
        let mut auth = AuthConfig {
            token: None,
            token_file: Some(path.clone()),
        };
        auth.validate().unwrap();
        auth.read_secret_files().unwrap();
        assert_eq!(auth.token(), Some("0123456789abcdef0123"));
        std::fs::write(&path, "short\n").unwrap();
        let mut short = AuthConfig {
            token: None,
            token_file: Some(path),
        };
        let error = short.read_secret_files().unwrap_err().to_string();
        assert!(
            error.starts_with("token_file: the token must be at least 16"),
            "{error}"
        );
    }

    #[test]
    fn bad_tokens_name_the_field_and_debug_hides_them() {
        let spaced = AuthConfig::with_token("has a space in it, sadly");
        assert!(
            spaced
                .validate()
                .unwrap_err()
                .to_string()
                .starts_with("token:")
        );
        let both = AuthConfig {
            token: Some("0123456789abcdef".into()),
            token_file: Some("/run/token".into()),
        };
        assert!(both.validate().is_err());
        let good = AuthConfig::with_token("0123456789abcdef-secret");
        good.validate().unwrap();
        assert!(!format!("{good:?}").contains("secret"));
    }
}
