//! Byte ranges: the `Range` header of a download and the `Content-Range` of an upload
//! chunk. Pure parsing; positions are inclusive, as written on the wire. It lives in core
//! because the origin, the proxy and the agent all serve ranges of the same blobs.

use crate::error::{Error, Result};

/// An inclusive byte range `first..=last` within a blob.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    /// Bytes in the range; never zero.
    pub fn byte_count(&self) -> u64 {
        self.last - self.first + 1
    }

    /// `bytes first-last/size` for a 206 response.
    pub fn content_range(&self, size: u64) -> String {
        format!("bytes {}-{}/{size}", self.first, self.last)
    }
}

/// Parses a download's `Range` header against a blob of `size` bytes.
///
/// Returns `None` when the whole blob should be sent: a header that is not a single
/// `bytes=` range (multipart ranges are not supported, and RFC 9110 lets a server ignore
/// `Range`). A well-formed range that selects nothing is [`Error::RangeNotSatisfiable`].
pub fn parse_range(header: &str, size: u64) -> Result<Option<ByteRange>> {
    let Some(spec) = header.trim().strip_prefix("bytes=") else {
        return Ok(None);
    };
    let Some((start, end)) = spec.trim().split_once('-') else {
        return Ok(None);
    };
    if spec.contains(',') {
        return Ok(None);
    }
    let unsatisfiable = Error::RangeNotSatisfiable { size };
    let (start, end) = (start.trim(), end.trim());
    let range = match (start.parse::<u64>(), end.parse::<u64>()) {
        (Ok(first), Ok(last)) if first <= last => {
            if first >= size {
                return Err(unsatisfiable);
            }
            ByteRange {
                first,
                last: last.min(size - 1),
            }
        }
        (Ok(first), Err(_)) if end.is_empty() => {
            if first >= size {
                return Err(unsatisfiable);
            }
            ByteRange {
                first,
                last: size - 1,
            }
        }
        (Err(_), Ok(suffix)) if start.is_empty() => {
            if suffix == 0 || size == 0 {
                return Err(unsatisfiable);
            }
            ByteRange {
                first: size.saturating_sub(suffix),
                last: size - 1,
            }
        }
        _ => return Ok(None),
    };
    Ok(Some(range))
}

/// Parses an upload chunk's `Content-Range`: `first-last` as the registry API writes it,
/// also accepting the RFC form `bytes first-last/total`.
pub fn parse_chunk_range(header: &str) -> Result<ByteRange> {
    let bad = |reason| Error::BadHeader {
        header: "Content-Range",
        value: header.chars().take(100).collect(),
        reason,
    };
    let spec = header.trim();
    let spec = spec.strip_prefix("bytes ").unwrap_or(spec);
    let spec = spec.split_once('/').map_or(spec, |(range, _total)| range);
    let (first, last) = spec
        .split_once('-')
        .ok_or_else(|| bad("expected first-last"))?;
    let first = first
        .trim()
        .parse::<u64>()
        .map_err(|_| bad("first is not a number"))?;
    let last = last
        .trim()
        .parse::<u64>()
        .map_err(|_| bad("last is not a number"))?;
    if last < first {
        return Err(bad("last is before first"));
    }
    // `0-18446744073709551615` would hold 2^64 bytes: its byte count overflows u64.
    if last == u64::MAX {
        return Err(bad("last is past the largest blob size"));
    }
    Ok(ByteRange { first, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn range(first: u64, last: u64) -> Option<ByteRange> {
        Some(ByteRange { first, last })
    }

    #[test]
    fn download_ranges() {
        let cases = [
            ("bytes=0-99", range(0, 99)),
            ("bytes=10-", range(10, 999)),
            ("bytes=-100", range(900, 999)),
            ("bytes=-5000", range(0, 999)),
            ("bytes=990-5000", range(990, 999)),
            ("bytes=999-999", range(999, 999)),
            ("items=0-1", None),
            ("bytes=0-1,5-6", None),
            ("bytes=abc", None),
            ("bytes=5-2", None),
        ];
        for (header, expected) in cases {
            assert_eq!(parse_range(header, 1000).unwrap(), expected, "{header}");
        }
        for header in ["bytes=1000-", "bytes=1000-2000", "bytes=-0"] {
            let err = parse_range(header, 1000).unwrap_err();
            assert!(
                matches!(err, Error::RangeNotSatisfiable { size: 1000 }),
                "{header}"
            );
        }
        assert!(
            parse_range("bytes=0-", 0).is_err(),
            "an empty blob has no bytes"
        );
        assert_eq!(range(5, 9).unwrap().content_range(20), "bytes 5-9/20");
        assert_eq!(range(5, 9).unwrap().byte_count(), 5);
    }

    #[test]
    fn chunk_ranges() {
        assert_eq!(
            parse_chunk_range("0-1023").unwrap(),
            range(0, 1023).unwrap()
        );
        assert_eq!(
            parse_chunk_range("bytes 1024-2047/*").unwrap(),
            range(1024, 2047).unwrap()
        );
        for junk in ["", "12", "a-b", "5-3", "-3"] {
            let err = parse_chunk_range(junk).unwrap_err();
            assert!(matches!(err, Error::BadHeader { .. }), "{junk:?}: {err}");
        }
    }

    #[test]
    fn a_chunk_ending_at_u64_max_is_refused_not_an_overflowing_count() {
        // Found by the `range` fuzz target: byte_count() overflowed on this chunk.
        for header in ["0-18446744073709551615", "bytes 0-18446744073709551615/*"] {
            let err = parse_chunk_range(header).unwrap_err();
            assert!(err.to_string().contains("largest blob size"), "{err}");
        }
        let widest = parse_chunk_range("0-18446744073709551614").unwrap();
        assert_eq!(widest.byte_count(), u64::MAX);
    }
}
