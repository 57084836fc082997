//! The store on a real full filesystem: a small tmpfs mounted for each test (these tests
//! need root, as CI has; they fail, never pass, where mounting is impossible).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use starling_core::{Digest, PieceIndex};

use crate::space::available_bytes;
use crate::store::test_support::{content, options, put, tmp_names};
use crate::{Capacity, Error, Store};

const MIB: u64 = 1024 * 1024;

/// A tmpfs of a fixed size at a fresh temp dir, unmounted on drop.
struct Tmpfs {
    dir: tempfile::TempDir,
}

impl Tmpfs {
    fn mount(size_mib: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let status = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size_mib}m"), "tmpfs"])
            .arg(dir.path())
            .status();
        assert!(
            matches!(status, Ok(s) if s.success()),
            "cannot mount a {size_mib} MiB tmpfs at {} ({status:?}): the disk-full tests need \
             root (CI runs them as root)",
            dir.path().display()
        );
        Self { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Fills the filesystem until `leave` bytes are free; returns the filler's path.
    fn fill_leaving(&self, leave: u64) -> PathBuf {
        let filler = self.path().join("filler");
        let free = available_bytes(self.path()).unwrap();
        fs::write(&filler, vec![1u8; (free - leave) as usize]).unwrap();
        filler
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(self.dir.path())
            .status();
    }
}

fn idx(i: u32, count: u32) -> PieceIndex {
    PieceIndex::new(i, count).unwrap()
}

#[tokio::test]
async fn a_download_bigger_than_the_free_space_fails_at_open_and_leaves_nothing() {
    let fs = Tmpfs::mount(16);
    let store = Store::open_root(options(fs.path())).await.unwrap();
    let filler = fs.fill_leaving(4 * MIB);
    let digest = Digest::of(b"eight mebibytes");

    let err = store.open_partial(&digest, 8 * MIB, MIB).await.unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert!(
        tmp_names(fs.path()).is_empty(),
        "{:?}",
        tmp_names(fs.path())
    );
    assert_eq!(store.out_of_space_failures(), 1);
    let Capacity::Short { needed, available } = store.capacity().await else {
        panic!("a shortage is reported");
    };
    assert_eq!(needed, 8 * MIB);
    assert!(available < needed, "{available}");

    fs::remove_file(filler).unwrap();
    assert_eq!(store.capacity().await, Capacity::Writable);
    assert!(!store.is_short_of_space());
    let partial = store.open_partial(&digest, 8 * MIB, MIB).await.unwrap();
    assert_eq!(partial.bitfield().count(), 0);
}

#[tokio::test]
async fn a_full_disk_evicts_least_recently_used_unleased_blobs_to_make_room() {
    let fs = Tmpfs::mount(16);
    let store = Store::open_root(options(fs.path())).await.unwrap();
    let old = put(&store, &content(3 * MIB as usize, 1)).await;
    let read = put(&store, &content(3 * MIB as usize, 2)).await;
    let recent = put(&store, &content(3 * MIB as usize, 3)).await;
    crate::store::test_support::set_mtime(&store, &old.digest, 1_000);
    crate::store::test_support::set_mtime(&store, &read.digest, 2_000);
    let store = Store::open_root(options(fs.path())).await.unwrap();
    let reader = store.open(&read.digest).await.unwrap().unwrap();
    fs.fill_leaving(2 * MIB);

    // 4 MiB need 2 MiB more: the oldest unleased blob goes, the leased one stays.
    let digest = Digest::of(b"four mebibytes");
    store.open_partial(&digest, 4 * MIB, MIB).await.unwrap();
    assert_eq!(store.stat(&old.digest).unwrap(), None);
    assert!(store.stat(&read.digest).unwrap().is_some());
    assert!(store.stat(&recent.digest).unwrap().is_some());
    assert_eq!(store.evictions().blobs(), 1);
    assert_eq!(store.out_of_space_failures(), 0);

    // Nothing unleased would make room for 12 MiB: nothing is evicted for it.
    let err = store
        .open_partial(&Digest::of(b"twelve"), 12 * MIB, MIB)
        .await
        .unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert!(store.stat(&recent.digest).unwrap().is_some());
    assert_eq!(store.evictions().blobs(), 1);
    drop(reader);
}

#[tokio::test]
async fn a_write_that_fails_for_space_drops_the_download() {
    let fs = Tmpfs::mount(16);
    let store = Store::open_root(options(fs.path())).await.unwrap();
    let data = content(4 * MIB as usize, 9);
    let digest = Digest::of(&data);
    let partial = store.open_partial(&digest, 4 * MIB, MIB).await.unwrap();
    // The pieces are reserved; the sidecar the last piece persists is not.
    fs.fill_leaving(0);

    let pieces: Vec<&[u8]> = data.chunks(MIB as usize).collect();
    for (i, piece) in pieces.iter().enumerate().take(3) {
        partial.write_piece(idx(i as u32, 4), piece).unwrap();
    }
    let err = partial.write_piece(idx(3, 4), pieces[3]).unwrap_err();
    assert!(err.is_no_space(), "{err}");
    assert!(partial.is_broken());
    assert!(
        tmp_names(fs.path()).is_empty(),
        "{:?}",
        tmp_names(fs.path())
    );
    assert!(store.is_short_of_space());
    let again = partial.write_piece(idx(0, 4), pieces[0]).unwrap_err();
    assert!(matches!(again, Error::PartialBroken { .. }), "{again}");
    assert!(matches!(
        partial.persist(),
        Err(Error::PartialBroken { .. })
    ));
    drop(partial);

    let reopened = Store::open_root(options(fs.path())).await.unwrap();
    assert!(!reopened.is_short_of_space(), "a new process starts clean");
    assert!(tmp_names(fs.path()).is_empty(), "nothing to resume");
}
