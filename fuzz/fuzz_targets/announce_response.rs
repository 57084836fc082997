//! The bencoded announce response an agent decodes from a tracker. Decoding must never
//! panic; a response that decodes re-encodes to bytes that decode to the same response.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::announce::AnnounceResponse;

fuzz_target!(|data: &[u8]| {
    let Ok(response) = AnnounceResponse::decode(data) else {
        return;
    };
    let encoded = response.encode().expect("a decoded response encodes");
    let again = AnnounceResponse::decode(&encoded).expect("an encoded response decodes");
    assert_eq!(again, response);
});
