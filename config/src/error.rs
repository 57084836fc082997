//! The error type of the config crate.
//!
//! Every validation failure is an [`Error::Invalid`] whose `field` is a dotted path
//! (`store.low_watermark`, `backends[0].backend.bucket`). Sections report paths relative
//! to themselves; each enclosing level prepends its own name with [`Error::at`], so the
//! message a user sees names the full path from the file's top level.

use std::path::PathBuf;

use thiserror::Error;

/// Errors from reading, parsing and validating configuration.
#[derive(Debug, Error)]
pub enum Error {
    #[error("cannot read config file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// serde_norway's message already names the offending field and its line and column.
    #[error("cannot parse config file {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: serde_norway::Error,
    },

    /// A `${VAR}` placeholder that cannot be expanded; names the variable and line.
    #[error("cannot expand config file {}: {source}", path.display())]
    Expand {
        path: PathBuf,
        source: crate::expand::ExpandError,
    },

    #[error("{field}: {reason}")]
    Invalid { field: String, reason: String },

    /// A size, rate or duration string that does not parse (outside a YAML file, e.g. a flag).
    #[error("invalid value {value:?}: {reason}")]
    BadValue { value: String, reason: String },
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    pub fn invalid(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Invalid {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// Places a validation error under `prefix` (`low_watermark` at `store` becomes
    /// `store.low_watermark`); other variants pass through unchanged.
    pub fn at(self, prefix: &str) -> Self {
        match self {
            Self::Invalid { field, reason } => {
                let sep = if field.starts_with('[') { "" } else { "." };
                Self::Invalid {
                    field: format!("{prefix}{sep}{field}"),
                    reason,
                }
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_builds_dotted_and_indexed_paths() {
        let err = Error::invalid("bucket", "must not be empty")
            .at("backend")
            .at("[2]")
            .at("backends")
            .at("origin");
        assert_eq!(
            err.to_string(),
            "origin.backends[2].backend.bucket: must not be empty"
        );
    }
}
