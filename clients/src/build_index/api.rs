//! The build-index HTTP API as data: paths, headers and JSON bodies, built in one place
//! for the server (`Link` headers) and [`super::client`], so the two cannot drift apart.
//! Every route is described in `docs/build-index-api.md`.
//!
//! A repository name such as `team/app` travels as one path segment with its `/`
//! escaped (`team%2Fapp`), as in the origin API. The name grammar allows only lowercase
//! letters, digits, `.`, `_`, `-` and `/`, and tags have no `/`, so `/` is the only
//! character that ever needs escaping, in paths and in the `last` query value alike.

use serde::{Deserialize, Serialize};
use starling_core::registry::Referrer;
use starling_core::{Digest, RepoName, Tag};

use super::paging::PageRequest;

/// Marks a put forwarded by another replica; its value is the sender's `advertise`
/// address. The receiver applies the put but does not forward it again.
pub const REPLICATED_FROM: &str = "starling-replicated-from";

/// Marks a put sent by a build-index of another cluster (a `remotes` entry there); its
/// value is the sender's `advertise` address. The receiver applies it if newer and
/// forwards it to its own replicas, but never sends it on to its own remotes, so two
/// clusters that replicate to each other do not bounce a tag back and forth.
pub const REPLICATED_FROM_CLUSTER: &str = "starling-replicated-from-cluster";

/// On a forwarded or cross-cluster put: the update's last-writer-wins stamp (Unix
/// milliseconds).
pub const UPDATED_AT: &str = "starling-tag-updated-at";

/// `/tags/{repo}/{tag}`: PUT, GET and HEAD of one tag.
pub fn tag_path(repo: &RepoName, tag: &Tag) -> String {
    format!("/tags/{}/{tag}", repo.path_segment())
}

/// `/referrers/{repo}/{subject}`: GET, the referrers of the manifest `subject`.
pub fn referrers_path(repo: &RepoName, subject: &Digest) -> String {
    format!("/referrers/{}/{subject}", repo.path_segment())
}

/// `/referrers/{repo}/{subject}/{digest}`: PUT, records `digest` as a referrer of
/// `subject` (the body is its [`Referrer`] descriptor).
pub fn referrer_path(repo: &RepoName, subject: &Digest, digest: &Digest) -> String {
    format!("/referrers/{}/{subject}/{digest}", repo.path_segment())
}

/// `/repositories/{repo}/tags?n=&last=`: the tags of a repository, paged.
pub fn tags_path(repo: &RepoName, page: &PageRequest<Tag>) -> String {
    let last = page.last.as_ref().map(Tag::as_str);
    format!(
        "/repositories/{}/tags{}",
        repo.path_segment(),
        page_query(page.n, last)
    )
}

/// `/repositories?n=&last=`: the repositories, paged.
pub fn repositories_path(page: &PageRequest<RepoName>) -> String {
    let last = page.last.as_ref().map(RepoName::path_segment);
    format!("/repositories{}", page_query(page.n, last.as_deref()))
}

fn page_query(n: usize, last: Option<&str>) -> String {
    match last {
        Some(last) => format!("?n={n}&last={last}"),
        None => format!("?n={n}"),
    }
}

/// The `Link` header value pointing at the next page.
pub fn next_link(path_and_query: &str) -> String {
    format!("<{path_and_query}>; rel=\"next\"")
}

/// The `last` value of a `Link: <…?…&last=X>; rel="next"` header, unescaped; `None` when
/// the header is not a next link.
pub fn last_from_link(link: &str) -> Option<String> {
    let (target, params) = link.trim().split_once(';')?;
    if !params.contains("rel=\"next\"") && !params.contains("rel=next") {
        return None;
    }
    let target = target.trim().strip_prefix('<')?.strip_suffix('>')?;
    let (_, query) = target.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("last="))
        .map(|last| last.replace("%2F", "/").replace("%2f", "/"))
}

/// `GET /repositories/{repo}/tags` body, as in the registry's `tags/list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagList {
    pub name: RepoName,
    pub tags: Vec<Tag>,
}

/// `GET /repositories` body, as in the registry's `_catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepositoryList {
    pub repositories: Vec<RepoName>,
}

/// Most changes one `GET /changes` answers; a full page means more may follow.
pub const MAX_CHANGES: usize = 1000;

/// `/changes?since=&n=`: tags pushed after the stamp `since` (Unix ms), oldest first.
/// Without `since`, no changes, only the cursor: where a new poller starts.
pub fn changes_path(since: Option<i64>, n: usize) -> String {
    match since {
        Some(since) => format!("/changes?since={since}&n={n}"),
        None => format!("/changes?n={n}"),
    }
}

/// `GET /changes` body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChanges {
    /// Pushed tags with a stamp after `since`, by stamp then name.
    pub changes: Vec<TagChange>,
    /// The `since` of the next poll: the last change's stamp, or `since` (without one,
    /// the newest stamp held) when there are none.
    pub cursor: i64,
}

/// One tag push, as of its last-writer-wins stamp.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TagChange {
    pub repository: RepoName,
    pub tag: Tag,
    pub digest: Digest,
    /// Unix ms.
    pub updated_at: i64,
}

/// `GET /referrers/{repo}/{subject}` body: every recorded referrer, by digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReferrerList {
    pub referrers: Vec<Referrer>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repositories_are_one_escaped_segment() {
        let repo = RepoName::parse("team/app/sub").unwrap();
        let tag = Tag::parse("v1").unwrap();
        assert_eq!(tag_path(&repo, &tag), "/tags/team%2Fapp%2Fsub/v1");
        assert_eq!(
            tags_path(&repo, &PageRequest::after(2, tag)),
            "/repositories/team%2Fapp%2Fsub/tags?n=2&last=v1"
        );
        assert_eq!(
            repositories_path(&PageRequest::after(3, repo.clone())),
            "/repositories?n=3&last=team%2Fapp%2Fsub"
        );
        assert_eq!(
            repositories_path(&PageRequest::first(1)),
            "/repositories?n=1"
        );
        let subject = Digest::of(b"image");
        let referrer = Digest::of(b"sig");
        assert_eq!(
            referrers_path(&repo, &subject),
            format!("/referrers/team%2Fapp%2Fsub/{subject}")
        );
        assert_eq!(
            referrer_path(&repo, &subject, &referrer),
            format!("/referrers/team%2Fapp%2Fsub/{subject}/{referrer}")
        );
    }

    #[test]
    fn next_links_round_trip() {
        let repo = RepoName::parse("a/b").unwrap();
        let link = next_link(&repositories_path(&PageRequest::after(2, repo)));
        assert_eq!(link, "</repositories?n=2&last=a%2Fb>; rel=\"next\"");
        assert_eq!(last_from_link(&link).as_deref(), Some("a/b"));
        assert_eq!(last_from_link("</x?n=1&last=v2>; rel=\"prev\""), None);
        assert_eq!(last_from_link("garbage"), None);
        assert_eq!(last_from_link("</x?n=1>; rel=\"next\""), None);
    }
}
