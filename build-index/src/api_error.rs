//! The build-index's mapping from its [`Error`] to the shared HTTP error response,
//! [`starling_runtime::ApiError`] (the registry spec's `{"errors":[{code,message,detail}]}`
//! body from `starling_core::registry`, with the status of its code), plus the named
//! errors its handlers answer.
//!
//! Every [`Error`] converts with `From`, choosing the code by the variant: bad client
//! input is 4xx with the code naming the bad part, a failing tag backend is `UNAVAILABLE`
//! (503), anything else `UNKNOWN` (500). Server failures are logged once by the request
//! middleware, `starling_runtime::trace_requests`.

use serde_json::json;
use starling_core::registry::ErrorCode;
use starling_core::{RepoName, Tag};
use starling_runtime::ApiError;

use crate::error::Error;

/// `MANIFEST_UNKNOWN` (404): the tag is not known, as a registry says it.
pub fn tag_unknown(repo: &RepoName, tag: &Tag) -> ApiError {
    ApiError::new(ErrorCode::ManifestUnknown, "tag unknown")
        .with_detail(json!({"name": repo, "tag": tag}))
}

/// `NAME_UNKNOWN` (404): the repository has no tags.
pub fn name_unknown(repo: &RepoName) -> ApiError {
    ApiError::from_code(ErrorCode::NameUnknown).with_detail(json!({"name": repo}))
}

/// `NAME_UNKNOWN` (404) for a path that is no build-index route, e.g. a repository
/// name whose `/` was not escaped.
pub fn no_route(path: &str) -> ApiError {
    ApiError::new(ErrorCode::NameUnknown, "no such build-index endpoint").with_detail(format!(
        "{path}: see docs/build-index-api.md; repository names go in one path \
         segment with '/' escaped as %2F"
    ))
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let detail = error.to_string();
        let code = match &error {
            Error::Invalid(core) => return ApiError::from(core),
            Error::InvalidPage { .. } => ErrorCode::PaginationNumberInvalid,
            Error::InvalidHeader { .. } => ErrorCode::TagInvalid,
            Error::Backend { .. }
            | Error::Request { .. }
            | Error::Status { .. }
            | Error::InvalidResponse { .. }
            | Error::Origin { .. }
            | Error::ReadBlob { .. } => ErrorCode::Unavailable,
            Error::Database { .. }
            | Error::DatabaseTask(_)
            | Error::CreateDir { .. }
            | Error::Corrupt { .. }
            | Error::NoHosts
            | Error::BlobMissing { .. }
            | Error::Manifest { .. }
            | Error::Serve(_) => ErrorCode::Unknown,
        };
        ApiError::from_code(code).with_detail(detail)
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::response::IntoResponse;
    use starling_runtime::LoggedError;

    use super::*;

    async fn render(error: ApiError) -> (StatusCode, serde_json::Value, Option<LoggedError>) {
        let response = error.into_response();
        let status = response.status();
        let logged = response.extensions().get::<LoggedError>().cloned();
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (status, serde_json::from_slice(&body).unwrap(), logged)
    }

    #[tokio::test]
    async fn client_mistakes_name_the_bad_part() {
        let bad_name = Error::from(RepoName::parse("Team/app").unwrap_err());
        let (status, json, logged) = render(bad_name.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["errors"][0]["code"], "NAME_INVALID");
        assert!(logged.is_none(), "4xx is not logged as a server error");
        let bad_n = Error::InvalidPage {
            name: "n",
            reason: "must be a non-negative integer",
        };
        let (status, json, _) = render(bad_n.into()).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["errors"][0]["code"], "PAGINATION_NUMBER_INVALID");
    }

    #[tokio::test]
    async fn unknown_tags_and_server_failures() {
        let repo = RepoName::parse("team/app").unwrap();
        let tag = Tag::parse("v1").unwrap();
        let (status, json, _) = render(tag_unknown(&repo, &tag)).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        assert_eq!(json["errors"][0]["code"], "MANIFEST_UNKNOWN");
        assert_eq!(json["errors"][0]["detail"]["name"], "team/app");
        let corrupt = Error::Corrupt {
            what: "x".into(),
            reason: "broken".into(),
        };
        let (status, json, logged) = render(corrupt.into()).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["errors"][0]["code"], "UNKNOWN");
        assert!(logged.unwrap().0.contains("broken"));
    }
}
