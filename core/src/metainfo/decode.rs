//! Decoding a `.torrent` file into its announce URL, its `info` fields and the raw bytes
//! of the `info` dictionary.
//!
//! The raw bytes are kept exactly as received because the info hash is their SHA-1:
//! re-encoding would drop keys another tool added (`private`, `source`, ...) and change
//! the hash. Unknown keys are therefore tolerated and ignored, in the `info` dictionary
//! and at the top level (`creation date`, `comment`, `announce-list`); only the
//! multi-file `files` key is rejected. Bencode must be canonical: bendy rejects unsorted
//! or duplicate keys, as BEP 3 requires.

use bendy::decoding::{Decoder, Object};

use super::info::{Info, PIECE_HASH_LEN, invalid};
use crate::error::Result;

/// Deepest nesting accepted: the top level and `info` take two levels; the rest leaves
/// room for nested values under unknown keys without letting input exhaust memory.
const MAX_DEPTH: usize = 32;

/// A decoded `.torrent` borrowing the raw `info` bytes from the input.
pub(super) struct Decoded<'a> {
    pub info: Info,
    pub info_bytes: &'a [u8],
    pub announce: Option<String>,
}

pub(super) fn decode(bytes: &[u8]) -> Result<Decoded<'_>> {
    let mut decoder = Decoder::new(bytes).with_max_depth(MAX_DEPTH);
    let mut announce = None;
    let mut info_bytes = None;
    {
        let Some(Object::Dict(mut top)) = decoder.next_object().map_err(malformed)? else {
            return Err(invalid("the top level must be a dictionary".into()));
        };
        while let Some((key, value)) = top.next_pair().map_err(malformed)? {
            match key {
                b"announce" => announce = Some(utf8(value, "announce")?),
                b"info" => {
                    let Object::Dict(dict) = value else {
                        return Err(invalid("info must be a dictionary".into()));
                    };
                    info_bytes = Some(dict.into_raw().map_err(malformed)?);
                }
                _ => {}
            }
        }
    }
    if !matches!(decoder.next_object(), Ok(None)) {
        return Err(invalid(
            "trailing data after the top-level dictionary".into(),
        ));
    }
    let info_bytes = info_bytes.ok_or_else(|| invalid("missing the info dictionary".into()))?;
    Ok(Decoded {
        info: decode_info(info_bytes)?,
        info_bytes,
        announce,
    })
}

/// Reads the four BEP 3 keys from `raw`, already checked to be one well-formed dict.
fn decode_info(raw: &[u8]) -> Result<Info> {
    let mut decoder = Decoder::new(raw).with_max_depth(MAX_DEPTH);
    let Some(Object::Dict(mut dict)) = decoder.next_object().map_err(malformed)? else {
        return Err(invalid("info must be a dictionary".into()));
    };
    let (mut name, mut length, mut piece_length, mut pieces) = (None, None, None, None);
    while let Some((key, value)) = dict.next_pair().map_err(malformed)? {
        match key {
            b"name" => name = Some(utf8(value, "info.name")?),
            b"length" => length = Some(integer(value, "info.length")?),
            b"piece length" => piece_length = Some(integer(value, "info.piece length")?),
            b"pieces" => pieces = Some(piece_hashes(value)?),
            b"files" => {
                return Err(invalid(
                    "multi-file torrents (info.files) are not supported".into(),
                ));
            }
            _ => {}
        }
    }
    let missing = |key: &str| invalid(format!("missing {key}"));
    Info::new(
        name.ok_or_else(|| missing("info.name"))?,
        length.ok_or_else(|| missing("info.length"))?,
        piece_length.ok_or_else(|| missing("info.piece length"))?,
        pieces.ok_or_else(|| missing("info.pieces"))?,
    )
}

fn piece_hashes(value: Object<'_, '_>) -> Result<Vec<[u8; PIECE_HASH_LEN]>> {
    let Object::Bytes(bytes) = value else {
        return Err(invalid("info.pieces must be a byte string".into()));
    };
    let (hashes, rest) = bytes.as_chunks::<PIECE_HASH_LEN>();
    if !rest.is_empty() {
        return Err(invalid(format!(
            "info.pieces is {} bytes, not a multiple of {PIECE_HASH_LEN}",
            bytes.len()
        )));
    }
    Ok(hashes.to_vec())
}

fn integer(value: Object<'_, '_>, key: &str) -> Result<u64> {
    let Object::Integer(digits) = value else {
        return Err(invalid(format!("{key} must be an integer")));
    };
    digits.parse::<u64>().map_err(|_| {
        let shown: String = digits.chars().take(40).collect();
        invalid(format!(
            "{key} is {shown}, not a non-negative integer that fits in u64"
        ))
    })
}

fn utf8(value: Object<'_, '_>, key: &str) -> Result<String> {
    let Object::Bytes(bytes) = value else {
        return Err(invalid(format!("{key} must be a string")));
    };
    String::from_utf8(bytes.to_vec()).map_err(|_| invalid(format!("{key} is not UTF-8")))
}

fn malformed(err: bendy::decoding::Error) -> crate::error::Error {
    invalid(format!("malformed bencode: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn torrent_with_info(info: &str) -> Vec<u8> {
        format!("d8:announce22:http://127.0.0.1:1/ann4:info{info}e").into_bytes()
    }

    /// An info dict with piece length 2, `pieces` dummy hashes and `extra` appended
    /// after `pieces`, so extra keys must sort after "pieces".
    fn info_dict(length: &str, pieces: usize, extra: &str) -> String {
        format!(
            "d6:length{length}4:name2:ab12:piece lengthi2e6:pieces{}:{}{extra}e",
            pieces * 20,
            "x".repeat(pieces * 20)
        )
    }

    fn reason(input: &[u8]) -> String {
        match decode(input) {
            Err(crate::Error::InvalidMetaInfo { reason }) => reason,
            Err(other) => panic!("wrong error kind: {other:?}"),
            Ok(_) => panic!("accepted {:?}", String::from_utf8_lossy(input)),
        }
    }

    #[test]
    fn keeps_the_info_bytes_exactly() {
        let info = info_dict("i3e", 2, "7:privatei1e");
        let input = torrent_with_info(&info);
        let decoded = decode(&input).unwrap();
        assert_eq!(decoded.info_bytes, info.as_bytes());
        assert_eq!(decoded.announce.as_deref(), Some("http://127.0.0.1:1/ann"));
        assert_eq!(decoded.info.length(), 3);
        assert_eq!(decoded.info.piece_count(), 2);
    }

    #[test]
    fn tolerates_unknown_nested_keys_and_top_level_extras() {
        let info = info_dict("i3e", 2, "7:privatei1e6:sourceld1:ai1eee");
        let input = format!("d7:comment2:hi4:info{info}5:nodesll1:ai1eeee");
        let decoded = decode(input.as_bytes()).unwrap();
        assert_eq!(decoded.announce, None);
        assert_eq!(decoded.info_bytes, info.as_bytes());
    }

    #[test]
    fn rejects_every_invalid_shape_with_a_reason() {
        let valid_info = info_dict("i3e", 2, "");
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (b"".to_vec(), "top level must be a dictionary"),
            (b"li1ee".to_vec(), "top level must be a dictionary"),
            (b"d4:infoi1ee".to_vec(), "info must be a dictionary"),
            (b"d3:fooi1ee".to_vec(), "missing the info dictionary"),
            (
                torrent_with_info(&valid_info)[..30].to_vec(),
                "malformed bencode",
            ),
            (
                format!("d4:info{valid_info}ei1e").into_bytes(),
                "trailing data",
            ),
            (
                format!("d8:announcei1e4:info{valid_info}e").into_bytes(),
                "announce must be a string",
            ),
            (
                b"d8:announce1:\xff4:infode".to_vec(),
                "announce is not UTF-8",
            ),
            (
                torrent_with_info(&info_dict("i3e", 1, "")),
                "holds 1 hashes",
            ),
            (
                torrent_with_info(&info_dict("i-3e", 2, "")),
                "info.length is -3",
            ),
            (
                torrent_with_info(&info_dict("i18446744073709551616e", 2, "")),
                "fits in u64",
            ),
            (
                torrent_with_info(&info_dict("3:abc", 2, "")),
                "info.length must be an integer",
            ),
            (
                torrent_with_info("d4:name2:ab12:piece lengthi2e6:pieces0:e"),
                "missing info.length",
            ),
            (
                torrent_with_info("d6:lengthi0e12:piece lengthi2e6:pieces0:e"),
                "missing info.name",
            ),
            (
                torrent_with_info("d6:lengthi0e4:name2:ab6:pieces0:e"),
                "missing info.piece length",
            ),
            (
                torrent_with_info("d6:lengthi0e4:name2:ab12:piece lengthi2ee"),
                "missing info.pieces",
            ),
            (
                torrent_with_info("d6:lengthi0e4:name2:ab12:piece lengthi0e6:pieces0:e"),
                "must be positive",
            ),
            (
                torrent_with_info("d6:lengthi1e4:name2:ab12:piece lengthi2e6:pieces3:abce"),
                "not a multiple of 20",
            ),
            (
                torrent_with_info("d6:lengthi0e4:name2:ab12:piece lengthi2e6:piecesi0ee"),
                "pieces must be a byte string",
            ),
            (
                torrent_with_info("d5:filesle4:name2:ab12:piece lengthi2e6:pieces0:e"),
                "multi-file",
            ),
            (
                torrent_with_info("d4:name2:ab6:lengthi0e12:piece lengthi2e6:pieces0:e"),
                "malformed bencode",
            ),
        ];
        for (input, want) in cases {
            let got = reason(&input);
            assert!(
                got.contains(want),
                "{:?}: {got}",
                String::from_utf8_lossy(&input)
            );
        }
    }

    #[test]
    fn rejects_duplicate_keys() {
        let info = info_dict("i3e", 2, "");
        let duplicate = format!("d8:announce1:a8:announce1:b4:info{info}e");
        assert!(reason(duplicate.as_bytes()).contains("malformed bencode"));
        let duplicate_in_info = torrent_with_info(&info_dict("i3e", 2, "6:piecesi1e"));
        assert!(reason(&duplicate_in_info).contains("malformed bencode"));
    }

    #[test]
    fn nesting_under_unknown_keys_is_bounded() {
        let nested = |depth| {
            let lists = format!("{}{}", "l".repeat(depth), "e".repeat(depth));
            torrent_with_info(&info_dict("i3e", 2, &format!("1:z{lists}")))
        };
        // The top-level dict and the info dict take two of the levels.
        assert!(decode(&nested(MAX_DEPTH - 2)).is_ok());
        assert!(reason(&nested(MAX_DEPTH - 1)).contains("malformed bencode"));
    }
}
