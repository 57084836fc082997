//! Query-string bytes: splitting `a=b&c=d`, percent-decoding values to bytes and
//! percent-encoding bytes.
//!
//! `info_hash` and `peer_id` are arbitrary 20-byte strings percent-encoded byte by byte
//! (BEP 3), so values decode to bytes, never to `String`; a UTF-8 query extractor would
//! mangle them. A bare `+` decodes to a space byte (application/x-www-form-urlencoded),
//! which is what Go's `url.Values` and Python's `urlencode` send for 0x20; clients that
//! percent-encode every reserved byte (libtorrent, Transmission) never send a bare `+`.
//! Encoding escapes every byte except the RFC 3986 unreserved characters, which is what
//! every tracker accepts.

use std::borrow::Cow;

/// A `%` not followed by two hex digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MalformedEncoding;

/// Iterates the `(name, raw value)` pairs of a query string, still percent-encoded.
/// A pair without `=` has an empty value; empty pairs (`a=1&&b=2`) are skipped.
pub fn pairs(query: &str) -> impl Iterator<Item = (&str, &str)> {
    query
        .split('&')
        .filter(|pair| !pair.is_empty())
        .map(|pair| pair.split_once('=').unwrap_or((pair, "")))
}

/// Percent-decodes one value; borrows when there is nothing to decode.
pub fn decode(raw: &str) -> Result<Cow<'_, [u8]>, MalformedEncoding> {
    if !raw.bytes().any(|b| b == b'%' || b == b'+') {
        return Ok(Cow::Borrowed(raw.as_bytes()));
    }
    let mut out = Vec::with_capacity(raw.len());
    let mut bytes = raw.bytes();
    while let Some(b) = bytes.next() {
        out.push(match b {
            b'%' => {
                let hi = bytes.next().and_then(hex_value).ok_or(MalformedEncoding)?;
                let lo = bytes.next().and_then(hex_value).ok_or(MalformedEncoding)?;
                hi << 4 | lo
            }
            b'+' => b' ',
            other => other,
        });
    }
    Ok(Cow::Owned(out))
}

/// Appends `bytes` to `out`, escaping every byte but RFC 3986 unreserved characters.
pub fn encode_into(out: &mut String, bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push('%');
            out.push(char::from(HEX[usize::from(b >> 4)]));
            out.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
    }
}

/// [`encode_into`] a new string.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 3);
    encode_into(&mut out, bytes);
    out
}

fn hex_value(digit: u8) -> Option<u8> {
    match digit {
        b'0'..=b'9' => Some(digit - b'0'),
        b'a'..=b'f' => Some(digit - b'a' + 10),
        b'A'..=b'F' => Some(digit - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_value_round_trips_in_upper_and_lower_case_hex() {
        for byte in 0..=u8::MAX {
            for encoded in [format!("%{byte:02X}"), format!("%{byte:02x}")] {
                assert_eq!(decode(&encoded).unwrap().as_ref(), &[byte], "{encoded}");
            }
            assert_eq!(decode(&encode(&[byte])).unwrap().as_ref(), &[byte]);
        }
    }

    #[test]
    fn encodes_all_but_unreserved_characters() {
        assert_eq!(
            encode(b"\x00\xffab-._~ %&=+/?#\x7fxyz"),
            "%00%FFab-._~%20%25%26%3D%2B%2F%3F%23%7Fxyz"
        );
    }

    #[test]
    fn mixes_literal_and_encoded_bytes() {
        assert_eq!(decode("ab%00c%FF").unwrap().as_ref(), b"ab\x00c\xff");
        assert_eq!(decode("a+b").unwrap().as_ref(), b"a b");
        assert!(matches!(decode("plain"), Ok(Cow::Borrowed(b"plain"))));
    }

    #[test]
    fn rejects_truncated_or_non_hex_escapes() {
        for raw in ["%", "%4", "abc%", "%G0", "%0G", "%%41", "% 41"] {
            assert_eq!(decode(raw), Err(MalformedEncoding), "{raw}");
        }
    }

    #[test]
    fn splits_pairs_and_keeps_values_raw() {
        let got: Vec<_> = pairs("a=1&&b=%20&flag&c=x=y&=v").collect();
        assert_eq!(
            got,
            [
                ("a", "1"),
                ("b", "%20"),
                ("flag", ""),
                ("c", "x=y"),
                ("", "v")
            ]
        );
        assert_eq!(pairs("").count(), 0);
    }
}
