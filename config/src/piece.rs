//! The piece length policy as written in YAML: a step function of blob size.
//!
//! The section mirrors `starling_core::PieceLengthPolicy` with human-written sizes; the
//! core type owns the rules (power-of-two lengths between 16KiB and 64MiB, steps sorted),
//! so [`PieceLengthConfig::policy`] is both the conversion and the validation.

use serde::{Deserialize, Serialize};
use starling_core::{PieceLengthPolicy, PieceLengthStep};

use crate::error::{Error, Result};
use crate::units::ByteSize;

/// How long pieces are for a blob of a given size (origins generate metainfo with it).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct PieceLengthConfig {
    /// Steps sorted by `up_to`: blobs up to `up_to` bytes get `piece_length` pieces.
    pub steps: Vec<PieceStepConfig>,
    /// Piece length for blobs larger than every step.
    pub largest: ByteSize,
}

/// One step of the piece length policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PieceStepConfig {
    /// Largest blob size (inclusive) this step applies to.
    pub up_to: ByteSize,
    /// Piece length for those blobs: a power of two from 16KiB to 64MiB.
    pub piece_length: ByteSize,
}

impl Default for PieceLengthConfig {
    /// The core crate's measured default policy.
    fn default() -> Self {
        Self::from(&PieceLengthPolicy::default())
    }
}

impl From<&PieceLengthPolicy> for PieceLengthConfig {
    fn from(policy: &PieceLengthPolicy) -> Self {
        let steps = policy
            .steps()
            .iter()
            .map(|s| PieceStepConfig {
                up_to: ByteSize(s.up_to),
                piece_length: ByteSize(s.piece_length),
            })
            .collect();
        Self {
            steps,
            largest: ByteSize(policy.largest()),
        }
    }
}

impl PieceLengthConfig {
    /// The validated policy; an error names the `piece_lengths` field.
    pub fn policy(&self) -> Result<PieceLengthPolicy> {
        let steps = self
            .steps
            .iter()
            .map(|s| PieceLengthStep {
                up_to: s.up_to.as_u64(),
                piece_length: s.piece_length.as_u64(),
            })
            .collect();
        PieceLengthPolicy::new(steps, self.largest.as_u64()).map_err(|e| {
            let reason = match e {
                starling_core::Error::InvalidPiecePolicy { reason } => reason,
                other => other.to_string(),
            };
            Error::invalid("piece_lengths", reason)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> PieceLengthConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn default_is_the_core_policy() {
        let config = parse("{}");
        assert_eq!(config.policy().unwrap(), PieceLengthPolicy::default());
        assert_eq!(config.steps[0].up_to.to_string(), "64MiB");
        assert_eq!(config.steps[0].piece_length.to_string(), "256KiB");
        assert_eq!(config.largest.to_string(), "16MiB");
    }

    #[test]
    fn a_custom_policy_converts() {
        let config = parse(
            "
steps:
  - {up_to: 1GiB, piece_length: 1MiB}
largest: 4MiB
",
        );
        let policy = config.policy().unwrap();
        assert_eq!(policy.piece_length(1 << 30), 1 << 20);
        assert_eq!(policy.piece_length((1 << 30) + 1), 4 << 20);
    }

    #[test]
    fn validation_names_the_field() {
        let err = parse("steps: [{up_to: 1GiB, piece_length: 3MiB}]")
            .policy()
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("piece_lengths: piece length 3145728 must be a power of two"),
            "{err}"
        );
        let err = parse("largest: 128MiB").policy().unwrap_err().to_string();
        assert!(err.starts_with("piece_lengths: "), "{err}");
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = serde_norway::from_str::<PieceLengthConfig>(
            "steps: [{upto: 1GiB, piece_length: 1MiB}]",
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("unknown field `upto`"), "{err}");
    }
}
