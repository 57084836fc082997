//! Where each key lives inside an object store, and how listings are read back.
//!
//! Under the configured prefix:
//! - blobs: `blobs/sha256/<hex[0:2]>/<hex>`. The namespace is not part of the path, so a
//!   blob pushed to many repositories is stored once.
//! - tags: `tags/<repo>/_tags/<tag>`. A repository name component always starts with a
//!   letter or digit, so the `_tags` marker can never be part of a repository name and
//!   `a/_tags/b` and `a/b/_tags/c` stay unambiguous even though repositories nest.

use object_store::path::{Path, PathPart};
use starling_core::{Digest, RepoName, Tag};

use crate::error::{Error, Result};
use crate::key::Key;

const BLOBS: &str = "blobs";
const ALGORITHM: &str = "sha256";
const TAGS: &str = "tags";
const TAGS_MARKER: &str = "_tags";

/// Maps keys to object paths below one prefix.
#[derive(Debug, Clone)]
pub struct Layout {
    prefix: Path,
}

impl Layout {
    /// `prefix` is a `/`-separated path inside the bucket; surrounding slashes are ignored.
    pub fn new(prefix: &str) -> Result<Self> {
        let prefix = Path::parse(prefix.trim_matches('/')).map_err(|e| Error::Config {
            field: "prefix",
            reason: e.to_string(),
        })?;
        Ok(Self { prefix })
    }

    pub fn path(&self, key: &Key) -> Path {
        match key {
            Key::Blob { digest, .. } => self.blob(digest),
            Key::Tag { repo, tag } => self.tag(repo, tag),
        }
    }

    pub fn blob(&self, digest: &Digest) -> Path {
        let hex = digest.hex();
        self.blobs_root().join(&hex[..2]).join(hex.as_str())
    }

    pub fn tag(&self, repo: &RepoName, tag: &Tag) -> Path {
        self.tags_dir(repo).join(tag.as_str())
    }

    /// The directory holding every blob.
    pub fn blobs_root(&self) -> Path {
        self.prefix.clone().join(BLOBS).join(ALGORITHM)
    }

    /// The directory holding every tag of every repository.
    pub fn tags_root(&self) -> Path {
        self.prefix.clone().join(TAGS)
    }

    /// The directory holding the tags of `repo`.
    pub fn tags_dir(&self, repo: &RepoName) -> Path {
        let mut path = self.tags_root();
        for component in repo.as_str().split('/') {
            path = path.join(component);
        }
        path.join(TAGS_MARKER)
    }

    /// The digest of a blob object, or `None` for anything else found under the blob root
    /// (a stray file must not break a listing).
    pub fn digest_of(&self, location: &Path) -> Option<Digest> {
        let parts: Vec<PathPart<'_>> = location.prefix_match(&self.blobs_root())?.collect();
        match parts.as_slice() {
            [shard, name] => {
                let digest = Digest::from_hex(name.as_ref()).ok()?;
                (digest.hex()[..2] == *shard.as_ref()).then_some(digest)
            }
            _ => None,
        }
    }

    /// The repository of a tag object, or `None` for anything that is not one.
    pub fn repo_of(&self, location: &Path) -> Option<RepoName> {
        let parts: Vec<PathPart<'_>> = location.prefix_match(&self.tags_root())?.collect();
        let marker = parts.iter().position(|p| p.as_ref() == TAGS_MARKER)?;
        // Exactly one part, the tag, follows the marker.
        if marker + 2 != parts.len() || Tag::parse(parts[marker + 1].as_ref()).is_err() {
            return None;
        }
        let name: Vec<&str> = parts[..marker].iter().map(|p| p.as_ref()).collect();
        RepoName::parse(&name.join("/")).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo(name: &str) -> RepoName {
        RepoName::parse(name).unwrap()
    }

    #[test]
    fn blobs_are_sharded_by_the_first_two_hex_digits() {
        let layout = Layout::new("").unwrap();
        let digest = Digest::of(b"hello");
        let hex = digest.hex();
        let key = Key::blob(repo("team/app"), digest);
        let path = layout.path(&key);
        assert_eq!(path.as_ref(), format!("blobs/sha256/{}/{hex}", &hex[..2]));
        assert_eq!(layout.digest_of(&path), Some(digest));
        let other_namespace = Key::blob(repo("other"), digest);
        assert_eq!(layout.path(&other_namespace), path);
    }

    #[test]
    fn tags_keep_nested_repositories_apart() {
        let layout = Layout::new("/cluster-a/").unwrap();
        let v1 = Tag::parse("v1").unwrap();
        let path = layout.tag(&repo("team/app"), &v1);
        assert_eq!(path.as_ref(), "cluster-a/tags/team/app/_tags/v1");
        assert_eq!(layout.repo_of(&path), Some(repo("team/app")));
        let nested = layout.tag(&repo("team/app/v1"), &v1);
        assert_eq!(layout.repo_of(&nested), Some(repo("team/app/v1")));
    }

    #[test]
    fn stray_objects_are_not_mistaken_for_keys() {
        let layout = Layout::new("p").unwrap();
        for stray in [
            "p/blobs/sha256/zz/readme",
            "p/blobs/sha256/00/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "p/blobs/sha256/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
            "blobs/sha256/e3/e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        ] {
            assert_eq!(layout.digest_of(&Path::from(stray)), None, "{stray}");
        }
        for stray in [
            "p/tags/team/app/v1",
            "p/tags/_tags/v1",
            "p/tags/a/_tags/v1/x",
        ] {
            assert_eq!(layout.repo_of(&Path::from(stray)), None, "{stray}");
        }
    }
}
