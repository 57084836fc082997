//! Anchored regular expressions for namespace and repository patterns.
//!
//! A pattern in the config must match a whole name: `library/.*` must not match
//! `evil/library/x`. So every pattern is compiled as `^(?:…)$` and [`Regex::is_match`]
//! on the result is a full match. Use as `#[serde(with = "crate::pattern")]`; the
//! serialized form is the pattern as written, without the anchors.

use regex::Regex;
use serde::{Deserializer, Serializer};

const PREFIX: &str = "^(?:";
const SUFFIX: &str = ")$";

/// Compiles `pattern` so that it only matches whole strings.
pub fn anchored(pattern: &str) -> Result<Regex, regex::Error> {
    // Compiling the bare pattern first rejects unbalanced input such as `a)|(.*`, which
    // would otherwise close the anchoring group early and match anywhere.
    Regex::new(pattern)?;
    Regex::new(&format!("{PREFIX}{pattern}{SUFFIX}"))
}

/// The pattern as written, for a regex built by [`anchored`].
pub fn source(regex: &Regex) -> &str {
    let text = regex.as_str();
    text.strip_prefix(PREFIX)
        .and_then(|t| t.strip_suffix(SUFFIX))
        .unwrap_or(text)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Regex, D::Error> {
    crate::units::deserialize_str(d, "a regular expression", |text| {
        anchored(text).map_err(|e| format!("invalid regex {text:?}: {e}"))
    })
}

pub fn serialize<S: Serializer>(regex: &Regex, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(source(regex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_whole_names_only() {
        let regex = anchored("library/.*|team-a/app").unwrap();
        assert!(regex.is_match("library/ubuntu"));
        assert!(regex.is_match("team-a/app"));
        assert!(!regex.is_match("evil/library/ubuntu"));
        assert!(!regex.is_match("team-a/app2"));
        assert_eq!(source(&regex), "library/.*|team-a/app");
    }

    #[test]
    fn a_pattern_cannot_escape_the_anchors() {
        assert!(anchored("a)|(.*").is_err());
    }

    #[test]
    fn a_bad_pattern_names_the_field() {
        #[derive(Debug, serde::Deserialize)]
        struct Holder {
            #[serde(with = "super")]
            #[allow(dead_code)]
            repo: Regex,
        }
        let err = serde_norway::from_str::<Holder>("repo: 'team/(unclosed'")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("repo: invalid regex \"team/(unclosed\""),
            "{err}"
        );
    }
}
