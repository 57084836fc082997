//! `tags/list` and `_catalog`: the build-index's tag and repository lists, paged as in
//! the registry spec (`?n=&last=`, and a `Link: <…>; rel="next"` header while more may
//! follow).

use starling_clients::build_index::api::{RepositoryList, TagList};
use starling_clients::{BuildIndexCluster, Page, PageRequest};
use starling_core::RepoName;

use crate::error::{Error, Result};
use crate::paths;

/// One page of a list and the path of the next page, if any.
pub struct Listed<T> {
    pub body: T,
    pub next: Option<String>,
}

pub struct ListingService {
    tags: BuildIndexCluster,
}

impl ListingService {
    pub fn new(tags: BuildIndexCluster) -> Self {
        Self { tags }
    }

    /// The tags of `name`; [`Error::NameUnknown`] when it has none.
    pub async fn tags(
        &self,
        name: &RepoName,
        n: Option<&str>,
        last: Option<&str>,
    ) -> Result<Listed<TagList>> {
        let request = PageRequest::parse_tags(n, last).map_err(page_error)?;
        let Page { items, next } = self
            .tags
            .list_tags(name, &request)
            .await
            .map_err(Error::build_index("list tags"))?;
        if items.is_empty() && request.last.is_none() && request.n > 0 {
            return Err(Error::NameUnknown { name: name.clone() });
        }
        Ok(Listed {
            next: next.map(|last| paths::next_tags(name, request.n, &last)),
            body: TagList {
                name: name.clone(),
                tags: items,
            },
        })
    }

    /// The repositories that have tags.
    pub async fn catalog(
        &self,
        n: Option<&str>,
        last: Option<&str>,
    ) -> Result<Listed<RepositoryList>> {
        let request = PageRequest::parse_repositories(n, last).map_err(page_error)?;
        let Page { items, next } = self
            .tags
            .list_repositories(&request)
            .await
            .map_err(Error::build_index("list repositories"))?;
        Ok(Listed {
            next: next.map(|last| paths::next_catalog(request.n, &last)),
            body: RepositoryList {
                repositories: items,
            },
        })
    }

    /// Whether some build-index host answers, for readiness.
    pub async fn reachable(&self) -> bool {
        self.tags
            .list_repositories(&PageRequest::first(0))
            .await
            .is_ok()
    }
}

/// A bad `n` or `last` from the client.
fn page_error(error: starling_clients::BuildIndexError) -> Error {
    match error {
        starling_clients::BuildIndexError::Invalid(core) => Error::Invalid(core),
        other => Error::InvalidPage {
            reason: other.to_string(),
        },
    }
}
