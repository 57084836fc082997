//! The local content-addressed blob cache of origins and agents: where it lives and when
//! it evicts. Eviction runs every `eviction_interval`: blobs idle past `idle_ttl` go, and
//! above `high_watermark` least-recently-used blobs go until usage is below `low_watermark`.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::rules::{positive_duration, required_path};
use crate::units::ByteSize;

/// A blob cache on local disk.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(default, deny_unknown_fields)]
pub struct StoreConfig {
    /// Directory holding blobs, temp files and piece status (required).
    pub root: PathBuf,
    /// A blob not read for this long is evicted.
    #[serde(with = "crate::units::duration")]
    pub idle_ttl: Duration,
    /// Disk usage that starts LRU eviction.
    pub high_watermark: ByteSize,
    /// LRU eviction stops below this usage; must be below `high_watermark`.
    pub low_watermark: ByteSize,
    /// Time between eviction passes.
    #[serde(with = "crate::units::duration")]
    pub eviction_interval: Duration,
}

pub fn default_idle_ttl() -> Duration {
    Duration::from_secs(6 * 3600)
}

pub fn default_high_watermark() -> ByteSize {
    ByteSize::gib(100)
}

pub fn default_low_watermark() -> ByteSize {
    ByteSize::gib(80)
}

pub fn default_eviction_interval() -> Duration {
    Duration::from_secs(60)
}

impl Default for StoreConfig {
    fn default() -> Self {
        Self::with_root(PathBuf::new())
    }
}

impl StoreConfig {
    /// A store at `root` with the default eviction settings.
    pub fn with_root(root: impl Into<PathBuf>) -> Self {
        Self {
            root: root.into(),
            idle_ttl: default_idle_ttl(),
            high_watermark: default_high_watermark(),
            low_watermark: default_low_watermark(),
            eviction_interval: default_eviction_interval(),
        }
    }

    pub fn validate(&self) -> Result<()> {
        required_path("root", &self.root)?;
        positive_duration("idle_ttl", self.idle_ttl)?;
        if self.low_watermark >= self.high_watermark {
            return Err(Error::invalid(
                "low_watermark",
                format!("must be below high_watermark ({})", self.high_watermark),
            ));
        }
        positive_duration("eviction_interval", self.eviction_interval)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(yaml: &str) -> StoreConfig {
        serde_norway::from_str(yaml).unwrap()
    }

    #[test]
    fn defaults() {
        let store = parse("root: /tmp/starling/agent");
        store.validate().unwrap();
        assert_eq!(store, StoreConfig::with_root("/tmp/starling/agent"));
        assert_eq!(store.idle_ttl, Duration::from_secs(6 * 3600));
        assert_eq!(store.high_watermark.to_string(), "100GiB");
        assert_eq!(store.low_watermark.to_string(), "80GiB");
        assert_eq!(store.eviction_interval, Duration::from_secs(60));
    }

    #[test]
    fn overrides_parse() {
        let store = parse(
            "
root: ./data/store
idle_ttl: 30m
high_watermark: 10GB
low_watermark: 8GB
eviction_interval: 10s
",
        );
        store.validate().unwrap();
        assert_eq!(store.high_watermark, ByteSize(10_000_000_000));
        assert_eq!(store.idle_ttl, Duration::from_secs(1800));
    }

    #[test]
    fn validation_names_the_field() {
        let err = |yaml: &str| parse(yaml).validate().unwrap_err().to_string();
        assert_eq!(err("idle_ttl: 1h"), "root: required");
        assert_eq!(
            err("root: /x\nlow_watermark: 100GiB"),
            "low_watermark: must be below high_watermark (100GiB)"
        );
        assert_eq!(
            err("root: /x\neviction_interval: 0s"),
            "eviction_interval: must be greater than 0s"
        );
        assert_eq!(
            err("root: /x\nidle_ttl: 0s"),
            "idle_ttl: must be greater than 0s"
        );
    }

    #[test]
    fn misspelled_keys_are_rejected() {
        let err = serde_norway::from_str::<StoreConfig>("root: /x\nhigh_watermak: 1GiB")
            .unwrap_err()
            .to_string();
        assert!(err.contains("unknown field `high_watermak`"), "{err}");
    }
}
