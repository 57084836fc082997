//! The registry path parser: one pure function from a `/v2/...` path to an [`Endpoint`].
//!
//! Repository names contain `/`, so a route cannot be found by counting segments from the
//! left. The parser reads from the right instead: the last one to three components decide
//! the endpoint (`.../tags/list`, `.../manifests/<ref>`, `.../blobs/<digest>`,
//! `.../referrers/<digest>`, `.../blobs/uploads/`, `.../blobs/uploads/<id>`) and
//! everything before them is the
//! name. So `/v2/a/blobs/b/manifests/latest` is the manifest `latest` of the repository
//! `a/blobs/b`.
//!
//! Invariants: the path is taken raw, never percent-decoded, so an escape such as `%2e`
//! can never turn into `.` or `/`; it simply fails the grammar. Every part is validated
//! into a core type (`RepoName`, `Tag`, `Digest`, [`UploadRef`]) before an `Endpoint`
//! exists, so a handler never sees `..`, an empty component, or an unchecked string.
//! The name is checked first, so a bad name is reported as such whatever follows it.

use std::fmt;

use crate::digest::Digest;
use crate::error::{Error, Result};
use crate::reference::{RepoName, Tag};

/// One Registry v2 endpoint, with its validated path parameters. The HTTP method is not
/// part of it: the same endpoint answers GET, HEAD, PUT, … as the serving crate decides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// `/v2/`: the API version check.
    Base,
    /// `/v2/_catalog`: the repository list.
    Catalog,
    /// `/v2/<name>/tags/list`.
    Tags { name: RepoName },
    /// `/v2/<name>/manifests/<reference>`.
    Manifest {
        name: RepoName,
        reference: Reference,
    },
    /// `/v2/<name>/blobs/<digest>`.
    Blob { name: RepoName, digest: Digest },
    /// `/v2/<name>/referrers/<digest>`: the manifests whose `subject` is `digest`.
    Referrers { name: RepoName, digest: Digest },
    /// `/v2/<name>/blobs/uploads/`: starts an upload (or mounts a blob).
    StartUpload { name: RepoName },
    /// `/v2/<name>/blobs/uploads/<id>`: an upload in progress.
    Upload { name: RepoName, id: UploadRef },
}

impl Endpoint {
    /// The repository the endpoint belongs to; `None` for `/v2/` and `/v2/_catalog`.
    pub fn name(&self) -> Option<&RepoName> {
        match self {
            Self::Base | Self::Catalog => None,
            Self::Tags { name }
            | Self::Manifest { name, .. }
            | Self::Blob { name, .. }
            | Self::Referrers { name, .. }
            | Self::StartUpload { name }
            | Self::Upload { name, .. } => Some(name),
        }
    }

    /// What the endpoint serves, in plural, for messages ("… is not supported on blobs").
    pub fn what(&self) -> &'static str {
        match self {
            Self::Base => "the API root",
            Self::Catalog => "the catalog",
            Self::Tags { .. } => "tag lists",
            Self::Manifest { .. } => "manifests",
            Self::Blob { .. } => "blobs",
            Self::Referrers { .. } => "referrers",
            Self::StartUpload { .. } | Self::Upload { .. } => "uploads",
        }
    }
}

/// A manifest reference: a tag, or a digest when it contains `:` (the tag grammar has no
/// `:`, so the two never overlap).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Reference {
    Tag(Tag),
    Digest(Digest),
}

impl Reference {
    pub fn parse(value: &str) -> Result<Self> {
        if value.contains(':') {
            Digest::parse(value).map(Self::Digest)
        } else {
            Tag::parse(value).map(Self::Tag)
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Tag(tag) => tag.fmt(f),
            Self::Digest(digest) => digest.fmt(f),
        }
    }
}

/// The upload id segment of a registry URL: opaque to the parser (the server that
/// issued it maps it to its session), but limited to `[A-Za-z0-9-_.=]{1,128}`, not starting
/// with `.`, so that it is always safe as a file name, in a header and in a log line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct UploadRef(String);

impl UploadRef {
    pub const MAX_LEN: usize = 128;

    pub fn parse(value: &str) -> Result<Self> {
        let invalid = |reason| Error::InvalidUploadRef {
            value: value.chars().take(200).collect(),
            reason,
        };
        if value.is_empty() {
            return Err(invalid("must not be empty"));
        }
        if value.len() > Self::MAX_LEN {
            return Err(invalid("longer than 128 characters"));
        }
        if value.starts_with('.') {
            return Err(invalid("must not start with '.'"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'=');
        if !value.bytes().all(allowed) {
            return Err(invalid(
                "may contain only letters, digits, '-', '_', '.' and '='",
            ));
        }
        Ok(Self(value.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for UploadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UploadRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UploadRef({:?})", self.0)
    }
}

/// Parses the path of a registry request (`uri.path()`, without the query string).
///
/// Errors: [`Error::UnknownRegistryPath`] when the path is no registry endpoint;
/// otherwise the error of the first invalid part (name, then tag, digest or upload id).
pub fn parse_path(path: &str) -> Result<Endpoint> {
    let unknown = || Error::UnknownRegistryPath {
        path: path.chars().take(300).collect(),
    };
    if path == "/v2" || path == "/v2/" {
        return Ok(Endpoint::Base);
    }
    let rest = path.strip_prefix("/v2/").ok_or_else(unknown)?;
    if rest == "_catalog" {
        return Ok(Endpoint::Catalog);
    }
    let (before_last, last) = split_last(rest);
    let (name, second) = split_last(before_last);
    let endpoint = match (second, last) {
        ("tags", "list") => Endpoint::Tags {
            name: RepoName::parse(name)?,
        },
        ("manifests", reference) => {
            let name = RepoName::parse(name)?;
            Endpoint::Manifest {
                name,
                reference: Reference::parse(reference)?,
            }
        }
        // `/blobs/uploads` without the trailing slash: no digest is named `uploads`.
        ("blobs", "uploads") => Endpoint::StartUpload {
            name: RepoName::parse(name)?,
        },
        ("blobs", digest) => {
            let name = RepoName::parse(name)?;
            Endpoint::Blob {
                name,
                digest: Digest::parse(digest)?,
            }
        }
        ("referrers", digest) => {
            let name = RepoName::parse(name)?;
            Endpoint::Referrers {
                name,
                digest: Digest::parse(digest)?,
            }
        }
        ("uploads", id) => upload_endpoint(name, id).ok_or_else(unknown)??,
        _ => return Err(unknown()),
    };
    Ok(endpoint)
}

/// `<name>/blobs` followed by `uploads/<id>`; `None` when `blobs` is not there.
fn upload_endpoint(before: &str, id: &str) -> Option<Result<Endpoint>> {
    let (name, blobs) = split_last(before);
    if blobs != "blobs" {
        return None;
    }
    let parsed = RepoName::parse(name).and_then(|name| {
        if id.is_empty() {
            Ok(Endpoint::StartUpload { name })
        } else {
            let id = UploadRef::parse(id)?;
            Ok(Endpoint::Upload { name, id })
        }
    });
    Some(parsed)
}

/// Splits at the last `/`; a string without one is all last component, with an empty
/// rest (so a missing name shows up as an empty, invalid name).
fn split_last(s: &str) -> (&str, &str) {
    s.rsplit_once('/').unwrap_or(("", s))
}

#[cfg(test)]
#[path = "path_tests.rs"]
mod tests;
