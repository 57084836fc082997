//! What a backend stores and lists: blobs by digest and tags by repository.
//!
//! A [`Key`] names one object; a [`ListScope`] names one listing. Both carry validated core
//! types, so a backend never has to re-check a raw string before turning it into a path or
//! a URL.

use std::fmt;

use starling_core::{Digest, RepoName, Tag};

/// One object in a backend.
#[derive(Clone, PartialEq, Eq, Hash)]
pub enum Key {
    /// A blob (layer, config or manifest) in the namespace that asked for it. Content-addressed
    /// backends may ignore the namespace; registry backends need it in the URL.
    Blob { namespace: RepoName, digest: Digest },
    /// A tag of a repository; its content is the manifest digest as a string.
    Tag { repo: RepoName, tag: Tag },
}

impl Key {
    pub fn blob(namespace: RepoName, digest: Digest) -> Self {
        Self::Blob { namespace, digest }
    }

    pub fn tag(repo: RepoName, tag: Tag) -> Self {
        Self::Tag { repo, tag }
    }

    /// The repository the key belongs to, which selects its backend.
    pub fn namespace(&self) -> &RepoName {
        match self {
            Self::Blob { namespace, .. } => namespace,
            Self::Tag { repo, .. } => repo,
        }
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Blob { namespace, digest } => write!(f, "blob {namespace}@{digest}"),
            Self::Tag { repo, tag } => write!(f, "tag {repo}:{tag}"),
        }
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Key({self})")
    }
}

/// What a listing enumerates. Every listing returns plain strings in ascending order:
/// digests (`sha256:…`), tag names or repository names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ListScope {
    /// The blobs visible to a namespace (all blobs in a content-addressed backend).
    Blobs { namespace: RepoName },
    /// The tags of one repository; empty when the repository is unknown.
    Tags { repo: RepoName },
    /// Every repository that has at least one tag.
    Repos,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_names_the_kind_and_the_repository() {
        let repo = RepoName::parse("team/app").unwrap();
        let digest = Digest::of(b"x");
        let blob = Key::blob(repo.clone(), digest);
        assert_eq!(blob.to_string(), format!("blob team/app@{digest}"));
        let tag = Key::tag(repo.clone(), Tag::parse("v1").unwrap());
        assert_eq!(tag.to_string(), "tag team/app:v1");
        assert_eq!(tag.namespace(), &repo);
    }
}
