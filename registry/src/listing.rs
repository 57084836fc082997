//! `tags/list` and `_catalog`: the build-index's tag and repository lists, paged as in
//! the registry spec (`?n=&last=`, and a `Link: <…>; rel="next"` header while more may
//! follow); and `referrers/<digest>`, the manifests pushed with that `subject`, as an
//! OCI image index (unpaged), optionally filtered by `?artifactType=`. The agent and the
//! proxy list through this one service, so both answer alike.

use starling_clients::build_index::api::{RepositoryList, TagList};
use starling_clients::{BuildIndexCluster, BuildIndexError, Page, PageRequest};
use starling_core::registry::{ErrorCode, ReferrersIndex};
use starling_core::{Digest, RepoName};
use starling_runtime::ApiError;
use thiserror::Error;

use crate::build_index_errors::client_mistake;
use crate::paths;

/// Why a list could not be answered.
#[derive(Debug, Error)]
pub enum ListingError {
    /// A repository name or `last` value failed validation.
    #[error(transparent)]
    Invalid(#[from] starling_core::Error),

    #[error("invalid paging parameter: {reason}")]
    InvalidPage { reason: String },

    #[error("repository {name} has no tags")]
    NameUnknown { name: RepoName },

    #[error("build-index: cannot {action}: {source}")]
    BuildIndex {
        action: &'static str,
        #[source]
        source: BuildIndexError,
    },
}

pub type Result<T> = std::result::Result<T, ListingError>;

/// One page of a list and the path of the next page, if any.
pub struct Listed<T> {
    pub body: T,
    pub next: Option<String>,
}

/// A referrers answer: the index, and whether the `artifactType` filter was applied.
pub struct Referrers {
    pub index: ReferrersIndex,
    pub filtered: bool,
}

pub struct ListingService {
    tags: BuildIndexCluster,
}

impl ListingService {
    pub fn new(tags: BuildIndexCluster) -> Self {
        Self { tags }
    }

    /// The tags of `name`; [`ListingError::NameUnknown`] when it has none.
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
            .map_err(build_index("list tags"))?;
        if items.is_empty() && request.last.is_none() && request.n > 0 {
            return Err(ListingError::NameUnknown { name: name.clone() });
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
            .map_err(build_index("list repositories"))?;
        Ok(Listed {
            next: next.map(|last| paths::next_catalog(request.n, &last)),
            body: RepositoryList {
                repositories: items,
            },
        })
    }

    /// The referrers of `subject` in `name`, only those of `artifact_type` when given;
    /// an empty index when there are none.
    pub async fn referrers(
        &self,
        name: &RepoName,
        subject: &Digest,
        artifact_type: Option<&str>,
    ) -> Result<Referrers> {
        let all = self
            .tags
            .list_referrers(name, subject)
            .await
            .map_err(build_index("list referrers"))?;
        Ok(Referrers {
            index: ReferrersIndex::new(all, artifact_type),
            filtered: artifact_type.is_some(),
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

fn build_index(action: &'static str) -> impl FnOnce(BuildIndexError) -> ListingError {
    move |source| ListingError::BuildIndex { action, source }
}

/// A bad `n` or `last` from the client.
fn page_error(error: BuildIndexError) -> ListingError {
    match error {
        BuildIndexError::Invalid(core) => ListingError::Invalid(core),
        other => ListingError::InvalidPage {
            reason: other.to_string(),
        },
    }
}

impl From<ListingError> for ApiError {
    fn from(error: ListingError) -> Self {
        use ErrorCode as C;
        let (code, message) = match &error {
            ListingError::Invalid(core) => return ApiError::from(core),
            ListingError::BuildIndex { source, .. } => match client_mistake(source) {
                Some(passed_on) => return passed_on,
                None => (C::Unavailable, "the build-index is unavailable"),
            },
            ListingError::InvalidPage { .. } => {
                (C::PaginationNumberInvalid, "invalid paging parameter")
            }
            ListingError::NameUnknown { .. } => {
                (C::NameUnknown, "repository name not known to registry")
            }
        };
        ApiError::new(code, message).with_detail(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;

    use super::*;

    fn code(error: ListingError) -> (StatusCode, ErrorCode) {
        let api = ApiError::from(error);
        (api.status(), api.registry_error().code)
    }

    #[test]
    fn each_failure_has_its_code() {
        let name = RepoName::parse("team/app").unwrap();
        assert_eq!(
            code(ListingError::NameUnknown { name }),
            (StatusCode::NOT_FOUND, ErrorCode::NameUnknown)
        );
        assert_eq!(
            code(page_error(
                PageRequest::parse_tags(Some("x"), None).unwrap_err()
            )),
            (StatusCode::BAD_REQUEST, ErrorCode::PaginationNumberInvalid)
        );
        assert_eq!(
            code(build_index("list tags")(BuildIndexError::NoHosts)),
            (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
        );
    }
}
