//! `Range` (downloads from the origin, the proxy and the agent) and `Content-Range`
//! (upload chunks) headers. The input's first 8 bytes are the blob size, the rest the
//! header. Parsing must never panic; a download range lies inside the blob, and an
//! upload range written back in either accepted form parses to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::range::{parse_chunk_range, parse_range};

fuzz_target!(|data: &[u8]| {
    let (size, header) = match data.split_first_chunk::<8>() {
        Some((size, header)) => (u64::from_le_bytes(*size), header),
        None => (0, data),
    };
    let Ok(header) = std::str::from_utf8(header) else {
        return;
    };
    if let Ok(Some(range)) = parse_range(header, size) {
        assert!(
            range.first <= range.last && range.last < size,
            "{range:?} of {size}"
        );
        assert!(range.byte_count() <= size);
        let written = format!("bytes={}-{}", range.first, range.last);
        assert_eq!(parse_range(&written, size).unwrap(), Some(range));
    }
    if let Ok(chunk) = parse_chunk_range(header) {
        assert!(chunk.first <= chunk.last);
        assert!(chunk.byte_count() >= 1);
        let plain = format!("{}-{}", chunk.first, chunk.last);
        assert_eq!(parse_chunk_range(&plain).unwrap(), chunk);
        let rfc = chunk.content_range(chunk.last.saturating_add(1));
        assert_eq!(parse_chunk_range(&rfc).unwrap(), chunk);
    }
});
