//! Interoperability of `MetaInfo` with independent BitTorrent implementations.
//!
//! Torrents written by Debian's `mktorrent` must parse with the info hash that
//! libtorrent (python3-libtorrent) computes, and torrents written by `MetaInfo::new` must
//! be accepted by libtorrent with the same info hash. Both tools only read and write
//! files here: no session is started, so nothing touches the network. A missing tool
//! fails the test with the package to install; it never skips.

use std::io::ErrorKind;
use std::path::Path;
use std::process::{Command, Output};

use rand::Rng;
use serde_json::Value;
use starling_core::metainfo::{MetaInfo, generate};
use starling_core::{Digest, InfoHash, PieceLengthPolicy};

const ANNOUNCE: &str = "http://127.0.0.1:1/announce";

/// Prints what libtorrent makes of a `.torrent` as one JSON object.
const LIBTORRENT_SCRIPT: &str = r#"
import json, sys
import libtorrent as lt
ti = lt.torrent_info(sys.argv[1])
print(json.dumps({
    "info_hash": str(ti.info_hash()),
    "name": ti.name(),
    "total_size": ti.total_size(),
    "piece_length": ti.piece_length(),
    "num_pieces": ti.num_pieces(),
    "num_files": ti.num_files(),
}))
"#;

fn run(command: &mut Command, package: &str) -> Output {
    let output = command.output().unwrap_or_else(|err| {
        if err.kind() == ErrorKind::NotFound {
            let program = command.get_program().to_string_lossy();
            panic!("{program} is not installed: apt-get install -y {package}");
        }
        panic!("cannot run {command:?}: {err}");
    });
    assert!(
        output.status.success(),
        "{command:?} failed ({}); is {package} installed?\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

fn libtorrent_view(torrent: &Path) -> Value {
    // python3-libtorrent is a Debian package, importable only by the system interpreter.
    let output = run(
        Command::new("/usr/bin/python3")
            .args(["-c", LIBTORRENT_SCRIPT])
            .arg(torrent),
        "python3-libtorrent",
    );
    serde_json::from_slice(&output.stdout).expect("the libtorrent script prints JSON")
}

fn random_bytes(len: usize) -> Vec<u8> {
    let mut data = vec![0u8; len];
    rand::rng().fill_bytes(&mut data);
    data
}

fn assert_every_piece_verifies(metainfo: &MetaInfo, data: &[u8]) {
    for i in 0..metainfo.piece_count() {
        let index = metainfo.piece_index(i).unwrap();
        let start = metainfo.piece_offset(index) as usize;
        let end = start + metainfo.piece_len(index) as usize;
        assert!(metainfo.verify_piece(index, &data[start..end]), "piece {i}");
    }
}

#[test]
fn parses_mktorrent_output_with_libtorrents_info_hash() {
    let dir = tempfile::tempdir().unwrap();
    // Three full 256 KiB pieces and a short fourth.
    let data = random_bytes(3 * 256 * 1024 + 12_345);
    let digest = Digest::of(&data);
    let file = dir.path().join("blob");
    std::fs::write(&file, &data).unwrap();
    let torrent = dir.path().join("out.torrent");

    // `-p` and `-s` add `private` and `source` to the info dict: keys MetaInfo does not
    // model but must keep, or the info hash would change.
    run(
        Command::new("mktorrent")
            .args(["-l", "18", "-p", "-s", "starling-test", "-a", ANNOUNCE])
            .args(["-n", &digest.hex(), "-o"])
            .arg(&torrent)
            .arg(&file),
        "mktorrent",
    );
    let bytes = std::fs::read(&torrent).unwrap();
    let metainfo = MetaInfo::from_bytes(&bytes).unwrap();
    let libtorrent = libtorrent_view(&torrent);

    let want = InfoHash::from_hex(libtorrent["info_hash"].as_str().unwrap()).unwrap();
    assert_eq!(metainfo.info_hash(), want);
    assert_eq!(metainfo.announce(), Some(ANNOUNCE));
    assert_eq!(metainfo.digest().unwrap(), digest);
    assert_eq!(metainfo.info().length(), data.len() as u64);
    assert_eq!(metainfo.info().piece_length(), 256 * 1024);
    assert_eq!(metainfo.piece_count(), 4);
    assert_every_piece_verifies(&metainfo, &data);

    // Written back, the foreign info dict is byte for byte what mktorrent wrote.
    let rewritten = MetaInfo::from_bytes(&metainfo.to_bytes()).unwrap();
    assert_eq!(rewritten.info_hash(), want);
}

#[tokio::test]
async fn libtorrent_accepts_generated_torrents_with_the_same_info_hash() {
    let dir = tempfile::tempdir().unwrap();
    let policy = PieceLengthPolicy::default();
    for length in [1, 256 * 1024, 5 * 256 * 1024 + 7] {
        let data = random_bytes(length);
        let (metainfo, digest) = generate(&data[..], length as u64, &policy).await.unwrap();
        let metainfo = metainfo.with_announce(ANNOUNCE);
        let torrent = dir.path().join(format!("{length}.torrent"));
        std::fs::write(&torrent, metainfo.to_bytes()).unwrap();

        let libtorrent = libtorrent_view(&torrent);
        let info_hash = libtorrent["info_hash"].as_str().unwrap();
        assert_eq!(info_hash, metainfo.info_hash().hex(), "length {length}");
        assert_eq!(libtorrent["name"], digest.hex());
        assert_eq!(libtorrent["total_size"], length as u64);
        assert_eq!(libtorrent["piece_length"], metainfo.info().piece_length());
        assert_eq!(libtorrent["num_pieces"], metainfo.piece_count());
        assert_eq!(libtorrent["num_files"], 1);
        assert_every_piece_verifies(&metainfo, &data);
    }
}
