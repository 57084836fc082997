//! Content digests (`sha256:<64 lowercase hex>`), the identity of every blob.
//!
//! Only sha256 is accepted: it is what Docker and OCI registries use for blobs and
//! manifests, and a single algorithm keeps the on-disk layout and the hash ring simple.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

const PREFIX: &str = "sha256:";
const HEX_LEN: usize = 64;

/// A validated sha256 content digest.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Digest([u8; 32]);

impl Digest {
    /// Parses `sha256:` followed by exactly 64 lowercase hex characters.
    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidDigest {
            value: value.chars().take(100).collect(),
            reason,
        };
        let Some(hex_part) = value.strip_prefix(PREFIX) else {
            return Err(invalid("must start with \"sha256:\""));
        };
        Self::from_hex(hex_part).map_err(|e| match e {
            Error::InvalidDigest { reason, .. } => invalid(reason),
            other => other,
        })
    }

    /// Parses the 64 lowercase hex characters without the algorithm prefix.
    pub fn from_hex(hex_part: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidDigest {
            value: hex_part.chars().take(100).collect(),
            reason,
        };
        if hex_part.len() != HEX_LEN {
            return Err(invalid("the hex part must be 64 characters"));
        }
        if !hex_part
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        {
            return Err(invalid("the hex part must be lowercase hex"));
        }
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut bytes).map_err(|_| invalid("not hex"))?;
        Ok(Self(bytes))
    }

    /// The digest of `data`, computed in one call.
    pub fn of(data: &[u8]) -> Self {
        Self(Sha256::digest(data).into())
    }

    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 64 lowercase hex characters, without the `sha256:` prefix.
    pub fn hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The relative path of the blob in a content-addressed store:
    /// `<hex[0:2]>/<hex[2:4]>/<hex>`.
    pub fn shard_path(&self) -> std::path::PathBuf {
        let hex = self.hex();
        [&hex[0..2], &hex[2..4], &hex[..]].iter().collect()
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{PREFIX}{}", self.hex())
    }
}

impl fmt::Debug for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Digest({self})")
    }
}

impl FromStr for Digest {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Self::parse(s)
    }
}

impl Serialize for Digest {
    fn serialize<S: Serializer>(&self, serializer: S) -> std::result::Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Digest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Computes a [`Digest`] incrementally over a stream of chunks.
#[derive(Default, Clone)]
pub struct DigestHasher(Sha256);

impl DigestHasher {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn update(&mut self, data: &[u8]) {
        self.0.update(data);
    }

    pub fn finish(self) -> Digest {
        Digest(self.0.finalize().into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EMPTY: &str = "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn parses_and_displays_round_trip() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(d.to_string(), EMPTY);
        assert_eq!(d, Digest::of(b""));
    }

    #[test]
    fn rejects_malformed_digests() {
        let cases = [
            ("", "must start"),
            ("sha512:abcd", "must start"),
            ("sha256:", "64 characters"),
            ("sha256:e3b0", "64 characters"),
            (
                &EMPTY.to_uppercase().replace("SHA256", "sha256"),
                "lowercase hex",
            ),
            (&format!("{}0", EMPTY), "64 characters"),
            (&EMPTY.replace('e', "g"), "lowercase hex"),
            ("sha256:../../../../etc/passwd", "64 characters"),
        ];
        for (input, want) in cases {
            let err = Digest::parse(input).unwrap_err().to_string();
            assert!(err.contains(want), "{input:?}: {err}");
        }
    }

    #[test]
    fn shard_path_splits_the_hex() {
        let d = Digest::parse(EMPTY).unwrap();
        let p = d.shard_path();
        assert_eq!(p, std::path::Path::new("e3/b0").join(d.hex()));
    }

    #[test]
    fn incremental_hash_equals_one_shot() {
        let data: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut h = DigestHasher::new();
        for chunk in data.chunks(333) {
            h.update(chunk);
        }
        assert_eq!(h.finish(), Digest::of(&data));
    }

    #[test]
    fn serde_uses_the_string_form_and_validates() {
        let d = Digest::parse(EMPTY).unwrap();
        assert_eq!(serde_json::to_string(&d).unwrap(), format!("\"{EMPTY}\""));
        let back: Digest = serde_json::from_str(&format!("\"{EMPTY}\"")).unwrap();
        assert_eq!(back, d);
        assert!(serde_json::from_str::<Digest>("\"sha256:zz\"").is_err());
    }
}
