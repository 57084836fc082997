//! The tag service over a real database and a filesystem tag backend, with a manual
//! clock: write-through, read-through with its freshness window, last writer wins.

use std::path::{Path, PathBuf};
use std::time::Duration;

use starling_config::{BuildIndexConfig, NamespaceBackend};
use tempfile::TempDir;

use super::*;
use crate::state::BuildIndexState;

const TTL: Duration = Duration::from_secs(5);

struct Fixture {
    _dir: TempDir,
    tags_root: PathBuf,
    clock: Clock,
    state: BuildIndexState,
}

impl Fixture {
    /// A service whose repositories matching `namespace` keep tags under `tags_root`.
    async fn new(namespace: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let tags_root = dir.path().join("backend");
        let cfg = BuildIndexConfig {
            database: dir.path().join("tags.db"),
            backends: vec![NamespaceBackend::filesystem(namespace, &tags_root).unwrap()],
            advertise: "127.0.0.1:1".to_owned(),
            tag_cache_ttl: TTL,
            ..BuildIndexConfig::default()
        };
        let clock = Clock::manual(Timestamp(1_000_000));
        let state = BuildIndexState::open_with_clock(&cfg, clock.clone())
            .await
            .unwrap();
        Self {
            _dir: dir,
            tags_root,
            clock,
            state,
        }
    }

    fn service(&self) -> &TagService {
        self.state.service()
    }

    /// The tag backend as another writer sees it.
    fn backend(&self) -> Arc<dyn Backend> {
        let list = [NamespaceBackend::filesystem(".*", &self.tags_root).unwrap()];
        Backends::new(&list)
            .unwrap()
            .for_namespace(&repo("any"))
            .unwrap()
    }
}

fn repo(name: &str) -> RepoName {
    RepoName::parse(name).unwrap()
}

fn tag(name: &str) -> Tag {
    Tag::parse(name).unwrap()
}

fn tag_file(root: &Path, repo: &str, tag: &str) -> PathBuf {
    root.join("tags").join(repo).join("_tags").join(tag)
}

#[tokio::test]
async fn puts_are_written_through_to_the_backend() {
    let f = Fixture::new(".*").await;
    let (r, t, d) = (repo("team/app"), tag("v1"), Digest::of(b"m1"));
    let outcome = f
        .service()
        .put(r.clone(), t.clone(), d, PutOrigin::Client)
        .await
        .unwrap();
    assert_eq!(outcome, PutOutcome::Created);
    assert_eq!(read_tag(f.backend().as_ref(), &r, &t).await.unwrap(), d);
    let again = f
        .service()
        .put(r.clone(), t.clone(), Digest::of(b"m2"), PutOrigin::Client)
        .await;
    assert_eq!(again.unwrap(), PutOutcome::Updated);
    assert_eq!(
        read_tag(f.backend().as_ref(), &r, &t).await.unwrap(),
        Digest::of(b"m2")
    );
}

#[tokio::test]
async fn a_failed_write_through_fails_the_put_and_changes_nothing() {
    let f = Fixture::new(".*").await;
    // A file where the backend needs its `tags` directory: every tag upload fails.
    std::fs::write(f.tags_root.join("tags"), b"x").unwrap();
    let (r, t) = (repo("a"), tag("v1"));
    let err = f
        .service()
        .put(r.clone(), t.clone(), Digest::of(b"m"), PutOrigin::Client)
        .await;
    assert!(matches!(err, Err(Error::Backend { .. })), "{err:?}");
    assert_eq!(f.state.service().db.get_tag(&r, &t).await.unwrap(), None);
}

#[tokio::test]
async fn repositories_without_a_backend_keep_tags_locally() {
    let f = Fixture::new("team/.*").await;
    let (r, t, d) = (repo("other/app"), tag("v1"), Digest::of(b"m"));
    f.service()
        .put(r.clone(), t.clone(), d, PutOrigin::Client)
        .await
        .unwrap();
    assert_eq!(f.service().get(&r, &t).await.unwrap(), Some(d));
    assert!(
        !f.tags_root.join("tags").exists(),
        "nothing was written to the backend"
    );
}

#[tokio::test]
async fn misses_read_through_and_copies_expire_after_the_ttl() {
    let f = Fixture::new(".*").await;
    let (r, t) = (repo("lib/x"), tag("v1"));
    assert_eq!(f.service().get(&r, &t).await.unwrap(), None);
    write_tag(f.backend().as_ref(), &r, &t, &Digest::of(b"one"))
        .await
        .unwrap();
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"one"))
    );

    write_tag(f.backend().as_ref(), &r, &t, &Digest::of(b"two"))
        .await
        .unwrap();
    f.clock.advance(TTL - Duration::from_millis(1));
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"one")),
        "fresh copy served from the database"
    );
    f.clock.advance(Duration::from_millis(1));
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"two"))
    );

    std::fs::remove_file(tag_file(&f.tags_root, "lib/x", "v1")).unwrap();
    f.clock.advance(TTL);
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        None,
        "deleted upstream"
    );
    assert_eq!(
        f.service().db.get_tag(&r, &t).await.unwrap(),
        None,
        "copy evicted"
    );
}

#[tokio::test]
async fn an_expired_copy_is_served_when_the_backend_fails() {
    let f = Fixture::new(".*").await;
    let (r, t) = (repo("a"), tag("v1"));
    write_tag(f.backend().as_ref(), &r, &t, &Digest::of(b"one"))
        .await
        .unwrap();
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"one"))
    );
    std::fs::write(tag_file(&f.tags_root, "a", "v1"), b"not a digest").unwrap();
    f.clock.advance(TTL);
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"one"))
    );
    let text = f.state.render_metrics().await;
    assert!(
        text.contains(r#"starling_build_index_lookups_total{result="stale"} 1"#),
        "{text}"
    );

    let unknown = tag("v2");
    std::fs::write(tag_file(&f.tags_root, "a", "v2"), b"not a digest").unwrap();
    let err = f.service().get(&r, &unknown).await.unwrap_err();
    assert!(
        matches!(err, Error::Backend { .. }),
        "no copy to fall back on: {err}"
    );
}

#[tokio::test]
async fn pushes_are_authoritative_over_the_backend() {
    let f = Fixture::new(".*").await;
    let (r, t) = (repo("a"), tag("v1"));
    f.service()
        .put(
            r.clone(),
            t.clone(),
            Digest::of(b"pushed"),
            PutOrigin::Client,
        )
        .await
        .unwrap();
    write_tag(f.backend().as_ref(), &r, &t, &Digest::of(b"elsewhere"))
        .await
        .unwrap();
    f.clock.advance(TTL * 10);
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"pushed"))
    );
}

#[tokio::test]
async fn the_newest_put_wins_whatever_the_arrival_order() {
    let f = Fixture::new(".*").await;
    let (r, t) = (repo("a"), tag("v1"));
    let replica = |at: i64| PutOrigin::Replica {
        from: "127.0.0.1:2".to_owned(),
        updated_at: Timestamp(at),
    };
    let now = f.clock.now().0;
    f.service()
        .put(r.clone(), t.clone(), Digest::of(b"new"), replica(now + 50))
        .await
        .unwrap();
    f.service()
        .put(r.clone(), t.clone(), Digest::of(b"old"), replica(now + 10))
        .await
        .unwrap();
    assert_eq!(
        f.service().get(&r, &t).await.unwrap(),
        Some(Digest::of(b"new"))
    );
    assert_eq!(
        read_tag(f.backend().as_ref(), &r, &t).await.unwrap(),
        Digest::of(b"new"),
        "an ignored put is not written through either"
    );

    // The replica that stamped `new` is 50 ms ahead of this clock; a re-push here must
    // still win.
    f.service()
        .put(
            r.clone(),
            t.clone(),
            Digest::of(b"re-push"),
            PutOrigin::Client,
        )
        .await
        .unwrap();
    let entry = f.service().db.get_tag(&r, &t).await.unwrap().unwrap();
    assert_eq!(
        (entry.digest, entry.updated_at),
        (Digest::of(b"re-push"), Timestamp(now + 51))
    );
}

#[tokio::test]
async fn tag_lists_merge_the_database_and_the_backend() {
    let f = Fixture::new(".*").await;
    let r = repo("a");
    for name in ["v1", "v3"] {
        f.service()
            .put(r.clone(), tag(name), Digest::of(b"m"), PutOrigin::Client)
            .await
            .unwrap();
    }
    write_tag(f.backend().as_ref(), &r, &tag("v2"), &Digest::of(b"m"))
        .await
        .unwrap();
    let page = f
        .service()
        .list_tags(&r, &PageRequest::first(2))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(page.items, [tag("v1"), tag("v2")]);
    assert_eq!(page.next, Some(tag("v2")));
    let rest = f
        .service()
        .list_tags(&r, &PageRequest::after(2, tag("v2")))
        .await
        .unwrap()
        .unwrap();
    assert_eq!((rest.items, rest.next), (vec![tag("v3")], None));
    assert_eq!(
        f.service()
            .list_tags(&repo("none"), &PageRequest::default())
            .await
            .unwrap(),
        None
    );

    let repos = f
        .service()
        .list_repositories(&PageRequest::default())
        .await
        .unwrap();
    assert_eq!(repos.items, [r]);
}
