//! Repository names and tags, validated by the OCI distribution spec grammar.
//!
//! name: `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, at most
//! 255 bytes. tag: `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`. The grammar already excludes `..`,
//! empty components, uppercase and leading or trailing separators, so a valid name is also
//! safe to use as a relative path.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

/// The longest repository name accepted, as in the reference registry.
pub const MAX_REPO_NAME_LEN: usize = 255;
/// The longest tag accepted, from the distribution spec.
pub const MAX_TAG_LEN: usize = 128;

/// A validated repository name such as `team/app`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RepoName(String);

impl RepoName {
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidRepoName {
            value: value.chars().take(300).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if value.len() > MAX_REPO_NAME_LEN {
            return Err(invalid("longer than 255 characters"));
        }
        for component in value.split('/') {
            validate_component(component).map_err(invalid)?;
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as one URL path segment, `team/app` as `team%2Fapp`: `/` is the only
    /// character of the grammar that needs escaping. The origin, tracker and
    /// build-index APIs all name a repository this way.
    pub fn path_segment(&self) -> String {
        self.0.replace('/', "%2F")
    }
}

/// One path component: alphanumeric runs joined by `.`, `_`, `__` or one or more `-`.
fn validate_component(component: &str) -> std::result::Result<(), &'static str> {
    if component.is_empty() {
        return Err("has an empty path component");
    }
    if component.bytes().any(|b| b.is_ascii_uppercase()) {
        return Err("must be lowercase");
    }
    let bytes = component.as_bytes();
    let is_alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    if !is_alnum(bytes[0]) || !is_alnum(bytes[bytes.len() - 1]) {
        return Err("each path component must start and end with a lowercase letter or digit");
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if is_alnum(b) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && !is_alnum(bytes[i]) {
            i += 1;
        }
        let sep = &component[start..i];
        let valid_sep = matches!(sep, "." | "_" | "__") || sep.bytes().all(|c| c == b'-');
        if !valid_sep {
            return Err("separators must be '.', '_', '__' or dashes between letters or digits");
        }
    }
    Ok(())
}

/// A validated tag such as `1.2.3` or `latest`.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(String);

impl Tag {
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidTag {
            value: value.chars().take(200).collect(),
            reason,
        };
        let Some(first) = value.bytes().next() else {
            return Err(invalid("must not be empty"));
        };
        if value.len() > MAX_TAG_LEN {
            return Err(invalid("longer than 128 characters"));
        }
        if !(first.is_ascii_alphanumeric() || first == b'_') {
            return Err(invalid("must start with a letter, digit or '_'"));
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
        {
            return Err(invalid(
                "may contain only letters, digits, '_', '.' and '-'",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as one URL path segment, `team/app` as `team%2Fapp`: `/` is the only
    /// character of the grammar that needs escaping. The origin, tracker and
    /// build-index APIs all name a repository this way.
    pub fn path_segment(&self) -> String {
        self.0.replace('/', "%2F")
    }
}

macro_rules! string_newtype_impls {
    ($t:ty) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl fmt::Debug for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({:?})", stringify!($t), self.0)
            }
        }
        impl FromStr for $t {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.0)
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                Self::parse(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

string_newtype_impls!(RepoName);
string_newtype_impls!(Tag);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_valid_repo_names() {
        for name in [
            "a",
            "library/busybox",
            "team/app",
            "a/b/c/d",
            "my-app",
            "my--app",
            "my_app",
            "my__app",
            "my.app",
            "0ab/c9",
        ] {
            assert!(RepoName::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn rejects_invalid_repo_names() {
        let long = "a".repeat(256);
        let cases = [
            ("", "empty"),
            ("Team/app", "lowercase"),
            ("team//app", "empty path component"),
            ("/team", "empty path component"),
            ("team/", "empty path component"),
            ("..", "start and end"),
            ("team/../etc", "start and end"),
            ("a..b", "separators"),
            ("a___b", "separators"),
            ("a._b", "separators"),
            ("-a", "start and end"),
            ("a b", "separators"),
            ("a%2fb", "separators"),
            (long.as_str(), "longer than 255"),
        ];
        for (input, want) in cases {
            let err = RepoName::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn tags_follow_the_spec_grammar() {
        for tag in ["latest", "1.2.3", "_x", "v1-rc.2", &"a".repeat(128)] {
            assert!(Tag::parse(tag).is_ok(), "{tag}");
        }
        let long = "a".repeat(129);
        for (tag, want) in [
            ("", "empty"),
            (".hidden", "must start"),
            ("-x", "must start"),
            ("a/b", "may contain only"),
            ("a:b", "may contain only"),
            (long.as_str(), "longer than 128"),
        ] {
            let err = Tag::parse(tag).unwrap_err().to_string();
            assert!(err.contains(want), "{tag:?}: {err}");
        }
    }
}
