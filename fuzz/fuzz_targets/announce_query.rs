//! The announce query a tracker decodes from every `GET /announce`. Decoding must never
//! panic; a query that decodes re-encodes to one that decodes to the same request.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::announce::AnnounceRequest;

fuzz_target!(|data: &[u8]| {
    // Queries reach the tracker as text (the HTTP layer rejects other bytes).
    let Ok(query) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(request) = AnnounceRequest::from_query(query) else {
        return;
    };
    let encoded = request.to_query();
    let again = AnnounceRequest::from_query(&encoded).expect("an encoded request decodes");
    assert_eq!(again, request, "{encoded}");
});
