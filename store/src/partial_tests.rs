//! Tests of partial downloads against a real store directory.

use std::path::Path;

use super::*;
use crate::store::test_support::*;

const PIECE: u64 = 1000;

/// A blob of 10.5 pieces, so the last piece is short.
fn blob() -> (Vec<u8>, Digest) {
    let data = content(10 * PIECE as usize + 500, 7);
    let digest = Digest::of(&data);
    (data, digest)
}

fn idx(i: u32, count: u32) -> PieceIndex {
    PieceIndex::new(i, count).unwrap()
}

fn piece(data: &[u8], i: u32) -> &[u8] {
    let start = (u64::from(i) * PIECE) as usize;
    &data[start..(start + PIECE as usize).min(data.len())]
}

async fn open(root: &Path) -> Store {
    Store::open_root(options(root)).await.unwrap()
}

fn set_pieces(partial: &PartialBlob) -> Vec<u32> {
    partial.bitfield().iter_set().map(PieceIndex::get).collect()
}

#[tokio::test]
async fn resume_keeps_exactly_the_persisted_pieces_then_commits() {
    let root = tempfile::tempdir().unwrap();
    let (data, digest) = blob();
    let len = data.len() as u64;
    {
        let store = open(root.path()).await;
        let partial = store.open_partial(&digest, len, PIECE).await.unwrap();
        for i in [0, 3, 10] {
            partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
        }
        partial.persist().unwrap();
        // Written but never persisted: lost by the "crash" below.
        partial.write_piece(idx(5, 11), piece(&data, 5)).unwrap();
        assert_eq!(set_pieces(&partial), vec![0, 3, 5, 10]);
    }

    let store = open(root.path()).await;
    let partial = store.open_partial(&digest, len, PIECE).await.unwrap();
    assert_eq!(set_pieces(&partial), vec![0, 3, 10]);
    let mut buf = vec![0; 1500];
    partial.read_at(3 * PIECE, &mut buf[..1000]).unwrap();
    assert_eq!(&buf[..1000], piece(&data, 3));
    partial.read_at(10 * PIECE, &mut buf[..500]).unwrap();
    assert_eq!(&buf[..500], piece(&data, 10));
    let err = partial.read_at(3 * PIECE + 500, &mut buf).unwrap_err();
    assert!(matches!(err, Error::PieceMissing { piece: 4, .. }), "{err}");

    for i in (0..11).filter(|i| ![0, 3, 10].contains(i)) {
        partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
    }
    let info = tokio::task::spawn_blocking(move || partial.commit())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(info, BlobInfo { digest, size: len });
    assert_eq!(read_all(&store, &digest).await, data);
    assert!(tmp_names(root.path()).is_empty());
}

#[tokio::test]
async fn corrupted_data_fails_commit_and_leaves_nothing() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path()).await;
    let (data, digest) = blob();
    let partial = store
        .open_partial(&digest, data.len() as u64, PIECE)
        .await
        .unwrap();
    for i in 0..11 {
        partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
    }
    // Bit rot after the piece was verified and written.
    let path = store.layout().partial_path(&digest);
    fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .write_all_at(b"rot", 4200)
        .unwrap();

    let err = partial.commit().unwrap_err();
    assert!(
        matches!(&err, Error::DigestMismatch { kind: CommitKind::Partial, expected, .. } if *expected == digest),
        "{err}"
    );
    assert_eq!(store.stat(&digest).unwrap(), None);
    assert!(!store.layout().blob_path(&digest).exists());
    assert!(tmp_names(root.path()).is_empty());
    let again = store.open_partial(&digest, data.len() as u64, PIECE).await;
    assert!(again.unwrap().bitfield().is_empty());
}

#[tokio::test]
async fn completing_persists_without_being_asked() {
    let root = tempfile::tempdir().unwrap();
    let (data, digest) = blob();
    {
        let store = open(root.path()).await;
        let partial = store
            .open_partial(&digest, data.len() as u64, PIECE)
            .await
            .unwrap();
        for i in 0..11 {
            partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
        }
    }
    let store = open(root.path()).await;
    let partial = store
        .open_partial(&digest, data.len() as u64, PIECE)
        .await
        .unwrap();
    assert!(partial.bitfield().is_complete());
    assert_eq!(partial.commit().unwrap().digest, digest);
}

#[tokio::test]
async fn persists_automatically_after_enough_new_bytes() {
    let root = tempfile::tempdir().unwrap();
    let piece_length = PERSIST_EVERY_BYTES / 4;
    let data = content((piece_length * 5) as usize, 1);
    let digest = Digest::of(&data);
    {
        let store = open(root.path()).await;
        let partial = store
            .open_partial(&digest, data.len() as u64, piece_length)
            .await
            .unwrap();
        for (i, chunk) in data.chunks(piece_length as usize).take(4).enumerate() {
            partial.write_piece(idx(i as u32, 5), chunk).unwrap();
        }
    }
    let store = open(root.path()).await;
    let partial = store
        .open_partial(&digest, data.len() as u64, piece_length)
        .await
        .unwrap();
    assert_eq!(set_pieces(&partial), vec![0, 1, 2, 3]);
}

#[tokio::test]
async fn a_different_geometry_starts_over() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path()).await;
    let (data, digest) = blob();
    let len = data.len() as u64;
    let partial = store.open_partial(&digest, len, PIECE).await.unwrap();
    partial.write_piece(idx(0, 11), piece(&data, 0)).unwrap();
    partial.persist().unwrap();
    drop(partial);

    let partial = store.open_partial(&digest, len, 2 * PIECE).await.unwrap();
    assert!(partial.bitfield().is_empty());
    assert_eq!(partial.bitfield().piece_count(), 6);
    let mut buf = [0; 10];
    assert!(matches!(
        partial.read_at(0, &mut buf),
        Err(Error::PieceMissing { piece: 0, .. })
    ));
}

#[tokio::test]
async fn rejects_misuse() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path()).await;
    let (data, digest) = blob();
    let len = data.len() as u64;
    let partial = store.open_partial(&digest, len, PIECE).await.unwrap();

    let busy = store.open_partial(&digest, len, PIECE).await.unwrap_err();
    assert!(matches!(busy, Error::PartialBusy { .. }), "{busy}");
    let short = partial.write_piece(idx(0, 11), &data[..999]).unwrap_err();
    assert!(matches!(
        short,
        Error::PieceSize {
            expected: 1000,
            actual: 999,
            ..
        }
    ));
    let outside = partial.write_piece(idx(11, 12), &data[..500]).unwrap_err();
    assert!(matches!(outside, Error::PieceOutOfRange { piece: 11, .. }));
    assert!(!partial.has_piece(idx(11, 12)));
    let mut buf = [0; 2];
    assert!(matches!(
        partial.read_at(len - 1, &mut buf),
        Err(Error::OutOfRange { .. })
    ));
    let incomplete = partial.commit().unwrap_err();
    assert!(matches!(
        incomplete,
        Error::Incomplete {
            have: 0,
            total: 11,
            ..
        }
    ));
    assert!(store.open_partial(&digest, len, PIECE).await.is_ok());
    assert!(Store::open_partial(&store, &digest, len, 0).await.is_err());
}

#[tokio::test]
async fn a_reader_streams_while_pieces_arrive_and_after_commit() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path()).await;
    let (data, digest) = blob();
    let partial = store
        .open_partial(&digest, data.len() as u64, PIECE)
        .await
        .unwrap();
    let reader = partial.reader();
    let mut buf = vec![0; PIECE as usize];
    for i in 0..11 {
        assert!(!reader.has_piece(idx(i, 11)));
        partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
        assert!(reader.has_piece(idx(i, 11)));
        let got = &mut buf[..piece(&data, i).len()];
        reader.read_at(u64::from(i) * PIECE, got).unwrap();
        assert_eq!(got, piece(&data, i));
    }
    partial.commit().unwrap();
    let mut all = vec![0; data.len()];
    reader.read_at(0, &mut all).unwrap();
    assert_eq!(all, data);
}

#[tokio::test]
async fn committing_a_blob_that_is_already_present_discards_the_copy() {
    let root = tempfile::tempdir().unwrap();
    let store = open(root.path()).await;
    let (data, digest) = blob();
    let partial = store
        .open_partial(&digest, data.len() as u64, PIECE)
        .await
        .unwrap();
    for i in 0..11 {
        partial.write_piece(idx(i, 11), piece(&data, i)).unwrap();
    }
    put(&store, &data).await;
    assert_eq!(partial.commit().unwrap().size, data.len() as u64);
    assert_eq!(store.usage().blobs, 1);
    assert!(tmp_names(root.path()).is_empty());
}

#[tokio::test]
async fn an_unpersisted_write_says_when_a_persist_is_due_and_leaves_it_to_the_caller() {
    let root = tempfile::tempdir().unwrap();
    let piece_length = PERSIST_EVERY_BYTES / 4;
    let data = content((piece_length * 5) as usize, 2);
    let digest = Digest::of(&data);
    let pieces: Vec<&[u8]> = data.chunks(piece_length as usize).collect();
    {
        let store = open(root.path()).await;
        let partial = store
            .open_partial(&digest, data.len() as u64, piece_length)
            .await
            .unwrap();
        let dues: Vec<PersistDue> = (0..4)
            .map(|i| partial.write_piece_unpersisted(idx(i, 5), pieces[i as usize]))
            .collect::<Result<_>>()
            .unwrap();
        assert_eq!(
            dues,
            [
                PersistDue::No,
                PersistDue::No,
                PersistDue::No,
                PersistDue::Yes
            ]
        );
    }
    // Nothing was persisted: a crash loses the four pieces.
    let store = open(root.path()).await;
    let partial = store
        .open_partial(&digest, data.len() as u64, piece_length)
        .await
        .unwrap();
    assert!(set_pieces(&partial).is_empty());

    // Far below the threshold, the last piece is due all the same.
    let (small, small_digest) = blob();
    let partial = store
        .open_partial(&small_digest, small.len() as u64, PIECE)
        .await
        .unwrap();
    for i in 0..10 {
        let due = partial.write_piece_unpersisted(idx(i, 11), piece(&small, i));
        assert_eq!(due.unwrap(), PersistDue::No);
    }
    let last = partial.write_piece_unpersisted(idx(10, 11), piece(&small, 10));
    assert_eq!(last.unwrap(), PersistDue::Yes);
    partial.persist().unwrap();
    assert_eq!(partial.commit().unwrap().digest, small_digest);
}
