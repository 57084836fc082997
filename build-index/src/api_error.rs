//! The build-index's mapping from its [`Error`] to the shared HTTP error response,
//! [`starling_runtime::ApiError`] (the registry spec's `{"errors":[{code,message,detail}]}`
//! body from `starling_core::registry`, with the status of its code), plus the named
//! errors its handlers answer.
//!
//! Every [`Error`] converts with `From`, choosing the code by the variant: bad client
//! input is 4xx with the code naming the bad part, a failing tag backend is `UNAVAILABLE`
//! (503), anything else `UNKNOWN` (500). Server failures are logged once by the request
//! middleware, `starling_runtime::trace_requests`.
//!
//! Database, backend and peer failures carry file paths and the URLs of other
//! build-indexes and origins in their text: the client gets a summary of what failed
//! ([`public_detail`]), the log the full text.

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
            | Error::Serve(_)
            | Error::Tls(_) => ErrorCode::Unknown,
        };
        match public_detail(&error) {
            Some(summary) => ApiError::from_code(code)
                .with_detail(summary)
                .with_logged_detail(detail),
            None => ApiError::from_code(code).with_detail(detail),
        }
    }
}

/// What a client is told of a failure whose text names internal paths or URLs; `None`
/// for errors the request caused and failures that name only tags and digests.
fn public_detail(error: &Error) -> Option<String> {
    let summary = match error {
        Error::Database { action, .. } => format!("database: {action}"),
        Error::CreateDir { .. } => "cannot create the database directory".to_owned(),
        Error::DatabaseTask(_) => "a database task failed".to_owned(),
        Error::Backend { action, .. } => format!("tag backend: {action}"),
        Error::Request { .. } | Error::Status { .. } | Error::InvalidResponse { .. } => {
            "another build-index failed".to_owned()
        }
        Error::Origin { action, digest, .. } => format!("origin: {action} {digest}"),
        Error::ReadBlob { digest, .. } => format!("reading blob {digest} from the origins"),
        Error::Serve(_) | Error::Tls(_) => "serving HTTP failed".to_owned(),
        _ => return None,
    };
    Some(summary)
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
    async fn paths_and_peer_urls_stay_out_of_the_body_but_are_logged() {
        let path = "/var/lib/starling/build-index/tags.db";
        let url = "http://build-index-2.internal:8001/internal/tags/team%2Fapp/v1";
        let errors = [
            Error::CreateDir {
                path: path.into(),
                source: std::io::Error::other("read-only file system"),
            },
            Error::Status {
                url: url.into(),
                status: 502,
                error: None,
            },
            Error::InvalidResponse {
                url: url.into(),
                reason: "not JSON".into(),
            },
        ];
        for error in errors {
            let full = error.to_string();
            let (status, json, logged) = render(error.into()).await;
            assert!(status.is_server_error(), "{status}");
            let body = json.to_string();
            for secret in [path, url, "/var/lib", "http://"] {
                assert!(!body.contains(secret), "{secret} in {body}");
            }
            let logged = logged.expect("the full error is logged").0;
            assert!(logged.contains(&full), "{full} in {logged}");
        }
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
