//! Tags on top of the byte-oriented [`Backend`] trait.
//!
//! A tag object's content is the manifest digest in its string form (`sha256:<hex>`), with
//! no trailing newline, so that it can be read back by a person with any object tool.

use starling_core::{Digest, RepoName, Tag};

use crate::Backend;
use crate::error::{Error, Result};
use crate::key::Key;
use crate::stream;

/// Enough for `sha256:` plus 64 hex digits and some whitespace written by another tool.
const MAX_TAG_CONTENT: usize = 1024;

/// Reads the manifest digest that `repo:tag` points to.
pub async fn read_tag(backend: &dyn Backend, repo: &RepoName, tag: &Tag) -> Result<Digest> {
    let key = Key::tag(repo.clone(), tag.clone());
    let body = backend.download(&key).await?;
    let content = stream::collect(body, MAX_TAG_CONTENT).await?;
    let text = String::from_utf8_lossy(&content);
    Digest::parse(text.trim()).map_err(|source| Error::InvalidTagContent {
        key,
        source: Box::new(source),
    })
}

/// Points `repo:tag` at `digest`, replacing any previous value.
pub async fn write_tag(
    backend: &dyn Backend,
    repo: &RepoName,
    tag: &Tag,
    digest: &Digest,
) -> Result<()> {
    let content = digest.to_string();
    let key = Key::tag(repo.clone(), tag.clone());
    backend
        .upload(&key, content.len() as u64, stream::once(content))
        .await
}
