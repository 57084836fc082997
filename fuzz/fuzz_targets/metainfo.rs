//! `.torrent` files (bencode through bendy): the agent reads them from the tracker and
//! the tracker from an origin. Parsing must never panic; a parsed torrent writes back
//! to bytes that parse to the same torrent, with the same info bytes and info hash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use starling_core::metainfo::MetaInfo;

fuzz_target!(|data: &[u8]| {
    let Ok(torrent) = MetaInfo::from_bytes(data) else {
        return;
    };
    let info = torrent.info();
    assert_eq!(info.pieces().len(), torrent.piece_count() as usize);
    let mut total = 0u64;
    for index in 0..torrent.piece_count() {
        let piece = torrent.piece_index(index).expect("index below the count");
        let len = torrent.piece_len(piece);
        assert!(
            len > 0 && len <= info.piece_length(),
            "piece {index} of {len} bytes"
        );
        total += len;
    }
    assert_eq!(total, info.length());
    let _ = torrent.digest();
    let again = MetaInfo::from_bytes(&torrent.to_bytes()).expect("re-parses");
    assert_eq!(again.info_bytes(), torrent.info_bytes());
    assert_eq!(again.info_hash(), torrent.info_hash());
    assert_eq!(again.announce(), torrent.announce());
    assert!(again == torrent);
});
