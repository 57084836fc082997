//! Human-written quantities: sizes (`64MiB`), rates (`100MiB/s`) and durations (`30s`).
//!
//! Sizes are an integer followed by one of the exact unit spellings in [`SIZE_UNITS`]
//! (a bare integer is bytes); anything else is rejected with the list of spellings, so a
//! typo such as `64mb` never silently means something else. Values display in the largest
//! binary unit that divides them exactly, so they round-trip through YAML unchanged.
//! Durations use humantime (`30s`, `5m`, `1h 30m`) through the [`duration`] serde module.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::error::{Error, Result};

const KIB: u64 = 1 << 10;
const MIB: u64 = 1 << 20;
const GIB: u64 = 1 << 30;
const TIB: u64 = 1 << 40;

/// Accepted unit spellings and their multipliers; binary units first, as Display uses them.
pub const SIZE_UNITS: [(&str, u64); 9] = [
    ("TiB", TIB),
    ("GiB", GIB),
    ("MiB", MIB),
    ("KiB", KIB),
    ("TB", 1_000_000_000_000),
    ("GB", 1_000_000_000),
    ("MB", 1_000_000),
    ("KB", 1_000),
    ("B", 1),
];

/// A number of bytes, written `64MiB`, `1GiB`, `10MB` or a bare integer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteSize(pub u64);

/// Bytes per second, written `100MiB/s` (the `/s` is required).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ByteRate(pub u64);

impl ByteSize {
    pub const fn kib(n: u64) -> Self {
        Self(n * KIB)
    }

    pub const fn mib(n: u64) -> Self {
        Self(n * MIB)
    }

    pub const fn gib(n: u64) -> Self {
        Self(n * GIB)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

impl ByteRate {
    pub const fn mib_per_sec(n: u64) -> Self {
        Self(n * MIB)
    }

    pub fn as_u64(self) -> u64 {
        self.0
    }
}

fn bad(value: &str, reason: impl Into<String>) -> Error {
    Error::BadValue {
        value: value.to_owned(),
        reason: reason.into(),
    }
}

fn parse_size(text: &str) -> Result<u64> {
    let trimmed = text.trim();
    let split = trimmed
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(trimmed.len());
    let (digits, unit) = trimmed.split_at(split);
    if digits.is_empty() {
        return Err(bad(
            text,
            "expected an integer followed by a unit, e.g. 64MiB",
        ));
    }
    let number: u64 = digits.parse().map_err(|_| bad(text, "number too large"))?;
    let unit = unit.trim_start();
    if unit.is_empty() {
        return Ok(number);
    }
    let Some(&(_, multiplier)) = SIZE_UNITS.iter().find(|(name, _)| *name == unit) else {
        let names: Vec<&str> = SIZE_UNITS.iter().map(|(name, _)| *name).collect();
        return Err(bad(
            text,
            format!("unknown unit {unit:?}; use one of {}", names.join(", ")),
        ));
    };
    number
        .checked_mul(multiplier)
        .ok_or_else(|| bad(text, "size overflows 64 bits"))
}

fn fmt_size(bytes: u64, f: &mut fmt::Formatter<'_>) -> fmt::Result {
    let (name, multiplier) = SIZE_UNITS[..4]
        .iter()
        .copied()
        .find(|&(_, m)| bytes != 0 && bytes.is_multiple_of(m))
        .unwrap_or(("B", 1));
    write!(f, "{}{name}", bytes / multiplier)
}

impl FromStr for ByteSize {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        parse_size(text).map(Self)
    }
}

impl FromStr for ByteRate {
    type Err = Error;

    fn from_str(text: &str) -> Result<Self> {
        let Some(size) = text.trim_end().strip_suffix("/s") else {
            return Err(bad(text, "a rate must end in /s, e.g. 100MiB/s"));
        };
        parse_size(size).map(Self)
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_size(self.0, f)
    }
}

impl fmt::Display for ByteRate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt_size(self.0, f)?;
        f.write_str("/s")
    }
}

/// Accepts a string through `FromStr`, or (for sizes) a bare integer of bytes.
struct UnitVisitor<T> {
    expecting: &'static str,
    accepts_integer: bool,
    wrap: fn(u64) -> T,
}

impl<T: FromStr<Err = Error>> Visitor<'_> for UnitVisitor<T> {
    type Value = T;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> std::result::Result<T, E> {
        if self.accepts_integer {
            Ok((self.wrap)(v))
        } else {
            Err(E::invalid_type(de::Unexpected::Unsigned(v), &self))
        }
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> std::result::Result<T, E> {
        let v = u64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))?;
        self.visit_u64(v)
    }

    fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<T, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: "a size such as 64MiB or a number of bytes",
            accepts_integer: true,
            wrap: Self,
        })
    }
}

impl<'de> Deserialize<'de> for ByteRate {
    fn deserialize<D: Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        d.deserialize_any(UnitVisitor {
            expecting: "a rate such as 100MiB/s",
            accepts_integer: false,
            wrap: Self,
        })
    }
}

impl Serialize for ByteSize {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Serialize for ByteRate {
    fn serialize<S: Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// Deserializes a string through `parse` inside the deserializer's visitor, so that
/// serde_norway attaches the field path, line and column to a parse error (an error raised
/// after `String::deserialize` returns would carry neither).
pub(crate) fn deserialize_str<'de, D, T, F>(
    d: D,
    expecting: &'static str,
    parse: F,
) -> std::result::Result<T, D::Error>
where
    D: Deserializer<'de>,
    F: FnOnce(&str) -> std::result::Result<T, String>,
{
    struct StrVisitor<F> {
        expecting: &'static str,
        parse: F,
    }

    impl<T, F: FnOnce(&str) -> std::result::Result<T, String>> Visitor<'_> for StrVisitor<F> {
        type Value = T;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.expecting)
        }

        fn visit_str<E: de::Error>(self, v: &str) -> std::result::Result<T, E> {
            (self.parse)(v).map_err(E::custom)
        }
    }

    d.deserialize_str(StrVisitor { expecting, parse })
}

/// `#[serde(with = "crate::units::duration")]` for `std::time::Duration` fields.
pub mod duration {
    use std::time::Duration;

    use serde::{Deserializer, Serializer};

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        super::deserialize_str(d, "a duration such as 30s, 5m or 1h", |text| {
            humantime::parse_duration(text.trim())
                .map_err(|e| format!("invalid duration {text:?}: {e}"))
        })
    }

    pub fn serialize<S: Serializer>(value: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&humantime::format_duration(*value))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use serde::Deserialize;

    use super::*;

    #[derive(Debug, Deserialize, Serialize, PartialEq)]
    #[serde(deny_unknown_fields)]
    struct Units {
        size: ByteSize,
        rate: Option<ByteRate>,
        #[serde(with = "duration")]
        wait: Duration,
    }

    fn units(yaml: &str) -> std::result::Result<Units, String> {
        serde_norway::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn sizes_parse_every_unit_and_bare_integers() {
        let cases = [
            ("64MiB", 64 * MIB),
            ("1GiB", GIB),
            ("512KiB", 512 * KIB),
            ("2TiB", 2 * TIB),
            ("10MB", 10_000_000),
            ("3KB", 3_000),
            ("4GB", 4_000_000_000),
            ("1TB", 1_000_000_000_000),
            ("7B", 7),
            ("8 MiB", 8 * MIB),
            ("123", 123),
        ];
        for (text, bytes) in cases {
            assert_eq!(text.parse::<ByteSize>().unwrap(), ByteSize(bytes), "{text}");
        }
        let yaml = units("size: 4096\nrate: 100MiB/s\nwait: 1h 30m").unwrap();
        assert_eq!(yaml.size, ByteSize(4096));
        assert_eq!(yaml.rate, Some(ByteRate(100 * MIB)));
        assert_eq!(yaml.wait, Duration::from_secs(5400));
    }

    #[test]
    fn sizes_reject_wrong_spellings_with_the_list() {
        let err = "64mib".parse::<ByteSize>().unwrap_err().to_string();
        assert!(err.contains("unknown unit \"mib\""), "{err}");
        assert!(
            err.contains("TiB, GiB, MiB, KiB, TB, GB, MB, KB, B"),
            "{err}"
        );
        assert!("MiB".parse::<ByteSize>().is_err());
        assert!("1.5GiB".parse::<ByteSize>().is_err());
        assert!("-1".parse::<ByteSize>().is_err());
        assert!(
            "20000000TiB"
                .parse::<ByteSize>()
                .unwrap_err()
                .to_string()
                .contains("overflow")
        );
        let err = units("size: 64mb\nwait: 1s").unwrap_err();
        assert!(err.starts_with("size: "), "{err}");
        assert!(err.contains("line 1 column 7"), "{err}");
    }

    #[test]
    fn rates_require_per_second() {
        assert_eq!(
            "1GB/s".parse::<ByteRate>().unwrap(),
            ByteRate(1_000_000_000)
        );
        let err = "100MiB".parse::<ByteRate>().unwrap_err().to_string();
        assert!(err.contains("must end in /s"), "{err}");
        let err = units("size: 1\nrate: 100\nwait: 1s").unwrap_err();
        assert!(err.starts_with("rate: invalid type: integer"), "{err}");
    }

    #[test]
    fn durations_reject_missing_units() {
        let err = units("size: 1\nwait: 30").unwrap_err();
        assert!(err.starts_with("wait: invalid duration \"30\""), "{err}");
        assert!(err.contains("line 2 column 7"), "{err}");
    }

    #[test]
    fn display_uses_the_largest_exact_binary_unit_and_round_trips() {
        assert_eq!(ByteSize(64 * MIB).to_string(), "64MiB");
        assert_eq!(ByteSize(1536 * MIB).to_string(), "1536MiB");
        assert_eq!(ByteSize(10_000_000).to_string(), "10000000B");
        assert_eq!(ByteSize(0).to_string(), "0B");
        assert_eq!(ByteRate(100 * MIB).to_string(), "100MiB/s");
        let original = units("size: 3GiB\nrate: 5KiB/s\nwait: 90s").unwrap();
        let text = serde_norway::to_string(&original).unwrap();
        assert_eq!(units(&text).unwrap(), original, "{text}");
    }
}
