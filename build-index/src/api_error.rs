//! The HTTP error response: the registry spec's `{"errors":[{code,message,detail}]}`
//! body from `starling_core::registry`, with the status of its code.
//!
//! Handlers return `Result<_, ApiError>`; every [`Error`] converts with `From`, choosing
//! the code by the variant: bad client input is 4xx with the code naming the bad part,
//! a failing tag backend is `UNAVAILABLE` (503), anything else `UNKNOWN` (500). Server
//! failures are not logged here but once by the request middleware in [`crate::server`],
//! from the [`LoggedError`] extension this response carries.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use starling_core::registry::{ErrorCode, RegistryError};
use starling_core::{RepoName, Tag};

use crate::error::Error;

/// One error response.
#[derive(Debug)]
pub struct ApiError(pub RegistryError);

/// The message of a 5xx response, for the request middleware to log.
#[derive(Debug, Clone)]
pub struct LoggedError(pub String);

impl ApiError {
    /// `MANIFEST_UNKNOWN` (404): the tag is not known, as a registry says it.
    pub fn tag_unknown(repo: &RepoName, tag: &Tag) -> Self {
        Self(
            RegistryError::new(ErrorCode::ManifestUnknown, "tag unknown")
                .with_detail(json!({"name": repo, "tag": tag})),
        )
    }

    /// `NAME_UNKNOWN` (404): the repository has no tags.
    pub fn name_unknown(repo: &RepoName) -> Self {
        Self(RegistryError::from_code(ErrorCode::NameUnknown).with_detail(json!({"name": repo})))
    }

    /// `NAME_UNKNOWN` (404) for a path that is no build-index route, e.g. a repository
    /// name whose `/` was not escaped.
    pub fn no_route(path: &str) -> Self {
        Self(
            RegistryError::new(ErrorCode::NameUnknown, "no such build-index endpoint").with_detail(
                format!(
                    "{path}: see docs/build-index-api.md; repository names go in one path \
                     segment with '/' escaped as %2F"
                ),
            ),
        )
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let detail = error.to_string();
        let code = match &error {
            Error::Invalid(core) => return Self(RegistryError::from(core)),
            Error::InvalidPage { .. } => ErrorCode::PaginationNumberInvalid,
            Error::InvalidHeader { .. } => ErrorCode::TagInvalid,
            Error::Backend { .. }
            | Error::Request { .. }
            | Error::Status { .. }
            | Error::InvalidResponse { .. } => ErrorCode::Unavailable,
            Error::Database { .. }
            | Error::DatabaseTask(_)
            | Error::CreateDir { .. }
            | Error::Corrupt { .. }
            | Error::NoHosts
            | Error::Serve(_) => ErrorCode::Unknown,
        };
        Self(RegistryError::from_code(code).with_detail(detail))
    }
}

impl From<starling_core::Error> for ApiError {
    fn from(error: starling_core::Error) -> Self {
        Self(RegistryError::from(&error))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.0.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (
            status,
            [(
                header::CONTENT_TYPE,
                HeaderValue::from_static("application/json"),
            )],
            self.0.to_json_body(),
        )
            .into_response();
        if status.is_server_error() {
            let logged = match &self.0.detail {
                Some(detail) => format!("{}: {detail}", self.0),
                None => self.0.to_string(),
            };
            response.extensions_mut().insert(LoggedError(logged));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;

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
        let (status, json, _) = render(ApiError::tag_unknown(&repo, &tag)).await;
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
