//! The SQLite tag store and replication queue on a real database file.

use rusqlite::params;
use starling_core::{Digest, RepoName, Tag};
use tempfile::TempDir;

use super::*;
use crate::clock::Timestamp;

async fn open() -> (TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(&dir.path().join("sub/dir/tags.db")).await.unwrap();
    (dir, db)
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

fn update(r: &str, t: &str, content: &[u8], at: i64) -> TagUpdate {
    TagUpdate {
        repo: repo(r),
        tag: tag(t),
        digest: Digest::of(content),
        updated_at: Timestamp(at),
    }
}

#[tokio::test]
async fn pushes_round_trip_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tags.db");
    let db = Db::open(&path).await.unwrap();
    assert_eq!(db.get_tag(&repo("a/b"), &tag("v1")).await.unwrap(), None);
    db.put_tag(&update("a/b", "v1", b"one", 10)).await.unwrap();
    db.put_tag(&update("a/b", "v1", b"two", 20)).await.unwrap();
    drop(db);

    let db = Db::open(&path).await.unwrap();
    let entry = db.get_tag(&repo("a/b"), &tag("v1")).await.unwrap().unwrap();
    assert_eq!(
        entry,
        TagEntry {
            digest: Digest::of(b"two"),
            updated_at: Timestamp(20),
            source: Source::Push,
        }
    );
    assert!(db.ping().await);
}

#[tokio::test]
async fn a_cached_copy_never_replaces_a_push() {
    let (_dir, db) = open().await;
    let (r, t) = (repo("a"), tag("v1"));
    db.cache_tag(&r, &t, &Digest::of(b"backend"), Timestamp(5))
        .await
        .unwrap();
    let cached = db.get_tag(&r, &t).await.unwrap().unwrap();
    assert_eq!(
        (cached.source, cached.updated_at),
        (Source::Backend, Timestamp(5))
    );

    db.put_tag(&update("a", "v1", b"pushed", 6)).await.unwrap();
    db.cache_tag(&r, &t, &Digest::of(b"late read"), Timestamp(7))
        .await
        .unwrap();
    db.evict_cached_tag(&r, &t).await.unwrap();
    let entry = db.get_tag(&r, &t).await.unwrap().unwrap();
    assert_eq!(
        (entry.digest, entry.source),
        (Digest::of(b"pushed"), Source::Push)
    );

    let other = tag("v2");
    db.cache_tag(&r, &other, &Digest::of(b"x"), Timestamp(1))
        .await
        .unwrap();
    db.evict_cached_tag(&r, &other).await.unwrap();
    assert_eq!(db.get_tag(&r, &other).await.unwrap(), None);
}

#[tokio::test]
async fn tags_and_repositories_list_in_byte_order() {
    let (_dir, db) = open().await;
    for (r, t) in [
        ("b", "z"),
        ("b", "a"),
        ("b", "B1"),
        ("a/x", "1"),
        ("c", "1"),
        ("a", "1"),
    ] {
        db.put_tag(&update(r, t, b"d", 1)).await.unwrap();
    }
    let names: Vec<String> = db
        .tags_of(&repo("b"))
        .await
        .unwrap()
        .iter()
        .map(Tag::to_string)
        .collect();
    assert_eq!(
        names,
        ["B1", "a", "z"],
        "uppercase sorts first, as in byte order"
    );
    assert!(db.tags_of(&repo("nope")).await.unwrap().is_empty());

    let all = db.repositories(None, 10).await.unwrap();
    assert_eq!(
        all,
        [repo("a"), repo("a/x"), repo("b"), repo("c")],
        "one entry per repo"
    );
    let first_two = db.repositories(None, 2).await.unwrap();
    assert_eq!(first_two, [repo("a"), repo("a/x")]);
    let after = db.repositories(Some(&repo("a/x")), 2).await.unwrap();
    assert_eq!(after, [repo("b"), repo("c")]);
    assert!(
        db.repositories(Some(&repo("c")), 2)
            .await
            .unwrap()
            .is_empty()
    );
}

#[tokio::test]
async fn corrupt_rows_are_reported_not_served() {
    let (_dir, db) = open().await;
    db.call("corrupt", |conn| {
        conn.execute(
            "INSERT INTO tags VALUES ('a', 'v1', 'sha256:nope', 1, 'push')",
            params![],
        )
    })
    .await
    .unwrap();
    let err = db.get_tag(&repo("a"), &tag("v1")).await.unwrap_err();
    assert!(matches!(err, crate::Error::Corrupt { .. }), "{err}");
}

fn failed(at: i64, error: &str) -> Schedule {
    Schedule::failed(1, Timestamp(at), &error)
}

#[tokio::test]
async fn the_queue_keeps_one_newest_row_per_tag_and_target() {
    let (_dir, db) = open().await;
    let old = update("a", "v1", b"old", 10);
    let new = update("a", "v1", b"new", 20);
    let q = Queue::Replicas;
    db.enqueue(q, "h1:1", &old, failed(100, "down"))
        .await
        .unwrap();
    db.enqueue(q, "h1:1", &new, failed(150, "down"))
        .await
        .unwrap();
    db.enqueue(q, "h1:1", &old, failed(50, "late"))
        .await
        .unwrap();
    db.enqueue(q, "h2:1", &old, failed(200, "down"))
        .await
        .unwrap();
    assert_eq!(db.queued(q).await.unwrap(), 2);
    assert_eq!(db.next_due(q).await.unwrap(), Some(Timestamp(150)));

    assert!(db.due(q, Timestamp(149), 10).await.unwrap().is_empty());
    let due = db.due(q, Timestamp(200), 10).await.unwrap();
    assert_eq!(due.len(), 2);
    assert_eq!((due[0].target.as_str(), &due[0].update), ("h1:1", &new));
    assert_eq!(
        (due[1].target.as_str(), &due[1].update, due[1].attempts),
        ("h2:1", &old, 1)
    );
    assert_eq!(db.due(q, Timestamp(200), 1).await.unwrap().len(), 1);
}

#[tokio::test]
async fn completion_and_rescheduling_name_the_attempted_update() {
    let (_dir, db) = open().await;
    let q = Queue::Replicas;
    db.enqueue(q, "h:1", &update("a", "v1", b"one", 10), failed(0, "e"))
        .await
        .unwrap();
    let attempted = db.due(q, Timestamp(0), 1).await.unwrap().remove(0);

    db.reschedule(&attempted, Schedule::failed(2, Timestamp(500), &"again"))
        .await
        .unwrap();
    let rescheduled = db.due(q, Timestamp(500), 1).await.unwrap().remove(0);
    assert_eq!(rescheduled.attempts, 2);
    assert!(db.due(q, Timestamp(499), 1).await.unwrap().is_empty());

    // A newer put replaces the row while the old one is in flight: completing the old
    // attempt must not drop the newer update.
    db.enqueue(q, "h:1", &update("a", "v1", b"two", 20), failed(600, "e"))
        .await
        .unwrap();
    db.remove_task(&rescheduled).await.unwrap();
    db.reschedule(
        &rescheduled,
        Schedule::failed(9, Timestamp(9_999), &"stale"),
    )
    .await
    .unwrap();
    let newer = db.due(q, Timestamp(600), 1).await.unwrap().remove(0);
    assert_eq!(
        (newer.update.digest, newer.attempts),
        (Digest::of(b"two"), 1)
    );

    db.remove_task(&newer).await.unwrap();
    assert_eq!(db.queued(q).await.unwrap(), 0);
    assert_eq!(db.next_due(q).await.unwrap(), None);
}

#[tokio::test]
async fn remote_tasks_are_a_separate_queue_that_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("tags.db");
    let db = Db::open(&path).await.unwrap();
    let pushed = update("team/app", "v1", b"manifest", 10);
    db.enqueue(
        Queue::Remotes,
        "http://index.dc2",
        &pushed,
        Schedule::new(Timestamp(10)),
    )
    .await
    .unwrap();
    db.enqueue(Queue::Replicas, "h:1", &pushed, failed(10, "down"))
        .await
        .unwrap();
    drop(db);

    let db = Db::open(&path).await.unwrap();
    assert_eq!(db.queued(Queue::Remotes).await.unwrap(), 1);
    let task = db
        .due(Queue::Remotes, Timestamp(10), 10)
        .await
        .unwrap()
        .remove(0);
    assert_eq!(
        (
            task.queue,
            task.target.as_str(),
            &task.update,
            task.attempts
        ),
        (Queue::Remotes, "http://index.dc2", &pushed, 0)
    );
    db.remove_task(&task).await.unwrap();
    assert_eq!(db.queued(Queue::Remotes).await.unwrap(), 0);
    assert_eq!(
        db.queued(Queue::Replicas).await.unwrap(),
        1,
        "removing a remote task leaves the replica queue alone"
    );
}

#[test]
fn last_writer_wins_by_stamp_then_digest() {
    let current = TagEntry {
        digest: Digest::of(b"m"),
        updated_at: Timestamp(10),
        source: Source::Push,
    };
    assert!(update("a", "v", b"x", 11).supersedes(&current));
    assert!(!update("a", "v", b"x", 9).supersedes(&current));
    assert!(
        !update("a", "v", b"m", 10).supersedes(&current),
        "the same put is no change"
    );
    let tie = update("a", "v", b"x", 10);
    assert_eq!(tie.supersedes(&current), tie.digest > current.digest);
}

fn referrer(content: &[u8], artifact_type: &str) -> starling_core::registry::Referrer {
    starling_core::registry::Referrer {
        media_type: "application/vnd.oci.image.manifest.v1+json".into(),
        digest: Digest::of(content),
        size: content.len() as u64,
        artifact_type: Some(artifact_type.into()),
        annotations: [("k".to_owned(), "v".to_owned())].into(),
    }
}

#[tokio::test]
async fn referrers_are_recorded_once_per_subject_and_listed_by_digest() {
    let (_dir, db) = open().await;
    let (image, other) = (Digest::of(b"image"), Digest::of(b"other"));
    let sig = referrer(b"sig", "application/vnd.example.sig");
    let sbom = referrer(b"sbom", "application/vnd.example.sbom");
    assert!(db.put_referrer(&repo("a/b"), &image, &sig).await.unwrap());
    assert!(!db.put_referrer(&repo("a/b"), &image, &sig).await.unwrap());
    assert!(db.put_referrer(&repo("a/b"), &image, &sbom).await.unwrap());
    assert!(db.put_referrer(&repo("a/b"), &other, &sbom).await.unwrap());

    let mut want = vec![sig.clone(), sbom.clone()];
    want.sort_by_key(|r| r.digest.to_string());
    assert_eq!(db.referrers_of(&repo("a/b"), &image).await.unwrap(), want);
    assert_eq!(
        db.referrers_of(&repo("a/b"), &other).await.unwrap(),
        vec![sbom]
    );
    assert!(
        db.referrers_of(&repo("a/c"), &image)
            .await
            .unwrap()
            .is_empty(),
        "referrers belong to their repository"
    );
}
