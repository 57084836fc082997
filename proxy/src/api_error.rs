//! The proxy's mapping from its [`Error`] to the shared registry error response,
//! [`starling_runtime::ApiError`] (`{"errors":[{code,message,detail}]}`).
//!
//! Handlers return `Result<_, ApiError>`; every [`Error`] converts with `From`, the
//! variant choosing the code, the error's text becoming the detail (except
//! `MANIFEST_BLOB_UNKNOWN`, whose detail is the missing digest, as the reference registry
//! sends it). Origin and build-index failures answer 503 `UNAVAILABLE`, except a 4xx
//! registry error from the build-index, which is passed on as it is. Server-side
//! failures are logged once by `starling_runtime::trace_requests`.
//!
//! Failures inside the proxy or its backends carry file paths and the URLs of origins and
//! build-index hosts in their text: the client gets a summary of what failed
//! ([`public_detail`]), the log the full text.

use axum::http::header;
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use starling_registry::build_index_errors::client_mistake;
use starling_registry::headers::{self, BASIC_CHALLENGE, DOCKER_UPLOAD_UUID};
use starling_registry::paths;

use crate::error::Error;

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        if let Some(passed_on) = build_index_answer(&error) {
            return passed_on;
        }
        if let Error::Invalid(core) = &error {
            return ApiError::from(core);
        }
        let (code, message) = code_of(&error);
        let api = ApiError::new(code, message);
        match &error {
            Error::ManifestBlobUnknown { digest } => api.with_detail(digest.to_string()),
            Error::DescriptorInvalid {
                field,
                digest,
                reason,
            } => api.with_detail(serde_json::json!({
                "field": field,
                "digest": digest,
                "reason": reason,
            })),
            Error::ChunkOutOfOrder {
                name, id, offset, ..
            } => api
                .with_detail(error.to_string())
                .with_header(header::LOCATION, headers::value(&paths::upload(name, id)))
                .with_header(header::RANGE, headers::value(&paths::upload_range(*offset)))
                .with_header(DOCKER_UPLOAD_UUID, headers::value(id.as_str())),
            Error::RangeNotSatisfiable { size } => api.with_detail(error.to_string()).with_header(
                header::CONTENT_RANGE,
                headers::value(&format!("bytes */{size}")),
            ),
            Error::CredentialsMissing | Error::CredentialsInvalid { .. } => api
                .with_detail(error.to_string())
                .with_header(header::WWW_AUTHENTICATE, headers::value(BASIC_CHALLENGE)),
            _ => match public_detail(&error) {
                Some(summary) => api
                    .with_detail(summary)
                    .with_logged_detail(error.to_string()),
                None => api.with_detail(error.to_string()),
            },
        }
    }
}

/// What a client is told of a failure whose text names internal paths or URLs; `None`
/// for errors the request caused, whose text holds only what the client sent.
fn public_detail(error: &Error) -> Option<String> {
    let summary = match error {
        Error::Origin { action, .. } => format!("origin cluster: cannot {action}"),
        Error::OriginStream { action, .. } => format!("origin cluster: {action} broke off"),
        Error::BuildIndex { action, .. } => format!("build-index: cannot {action}"),
        Error::Io { action, .. } => format!("cannot {action}"),
        Error::Htpasswd { line, .. } => format!("htpasswd file: line {line} is invalid"),
        Error::Task { action, .. } => format!("a blocking task to {action} failed"),
        Error::Serve(_) | Error::Tls(_) | Error::Notifications(_) => {
            "serving HTTP failed".to_owned()
        }
        _ => return None,
    };
    Some(summary)
}

/// A client mistake the build-index reported (a bad tag or paging value) keeps its code.
fn build_index_answer(error: &Error) -> Option<ApiError> {
    match error {
        Error::BuildIndex { source, .. } => client_mistake(source),
        _ => None,
    }
}

/// The registry code and message of `error`.
fn code_of(error: &Error) -> (ErrorCode, &'static str) {
    use ErrorCode as C;
    match error {
        // Converted through the core mapping before this is reached.
        Error::Invalid(_) => (C::Unknown, "invalid input"),
        Error::DigestMissing { .. } => (C::DigestInvalid, "digest missing"),
        Error::DigestMismatch { .. } => (C::DigestInvalid, "content does not match digest"),
        Error::UploadUnknown { .. } => (C::BlobUploadUnknown, "blob upload unknown"),
        Error::TooManyUploads { .. } => (C::TooManyRequests, "too many uploads in progress"),
        Error::ChunkOutOfOrder { .. } => (C::RangeInvalid, "chunk out of order"),
        Error::RangeNotSatisfiable { .. } => (C::RangeInvalid, "range not satisfiable"),
        Error::BadHeader { .. } => (C::BlobUploadInvalid, "invalid header"),
        Error::BodyLength { .. } => (C::SizeInvalid, "body length mismatch"),
        Error::BodyRead { .. } => (C::BlobUploadInvalid, "request body incomplete"),
        Error::BlobUnknown { .. } => (C::BlobUnknown, "blob unknown to registry"),
        Error::ManifestUnknown { .. } => (C::ManifestUnknown, "manifest unknown"),
        Error::ManifestInvalid { .. } | Error::DescriptorInvalid { .. } => {
            (C::ManifestInvalid, "manifest invalid")
        }
        Error::ManifestTooLarge { .. } => (C::SizeInvalid, "manifest too large"),
        Error::ManifestBlobUnknown { .. } => (
            C::ManifestBlobUnknown,
            "manifest references a blob unknown to registry",
        ),
        Error::CredentialsMissing | Error::CredentialsInvalid { .. } => {
            (C::Unauthorized, "authentication required")
        }
        Error::Unsupported { .. } => (C::Unsupported, "the operation is unsupported"),
        Error::Origin { .. } | Error::OriginStream { .. } | Error::BuildIndex { .. } => {
            (C::Unavailable, "a storage service is unavailable")
        }
        Error::Io { .. }
        | Error::Htpasswd { .. }
        | Error::Task { .. }
        | Error::Serve(_)
        | Error::Tls(_)
        | Error::Notifications(_) => (C::Unknown, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use axum::http::StatusCode;
    use starling_core::registry::{RegistryError, UploadRef};
    use starling_core::{Digest, RepoName};

    use super::*;

    fn code(error: Error) -> (StatusCode, ErrorCode) {
        let api = ApiError::from(error);
        (api.status(), api.registry_error().code)
    }

    #[test]
    fn client_mistakes_get_their_codes() {
        let d = Digest::of(b"x");
        let cases = [
            (
                Error::DigestMismatch {
                    expected: d,
                    actual: d,
                },
                400,
                ErrorCode::DigestInvalid,
            ),
            (
                Error::UploadUnknown {
                    id: UploadRef::parse("x").unwrap(),
                },
                404,
                ErrorCode::BlobUploadUnknown,
            ),
            (
                Error::ManifestTooLarge { limit: 1 },
                400,
                ErrorCode::SizeInvalid,
            ),
            (
                Error::ManifestBlobUnknown { digest: d },
                400,
                ErrorCode::ManifestBlobUnknown,
            ),
            (Error::CredentialsMissing, 401, ErrorCode::Unauthorized),
            (
                Error::Invalid(RepoName::parse("A").unwrap_err()),
                400,
                ErrorCode::NameInvalid,
            ),
        ];
        for (error, status, want) in cases {
            assert_eq!(code(error), (StatusCode::from_u16(status).unwrap(), want));
        }
    }

    #[test]
    fn build_index_client_mistakes_pass_through() {
        let source = starling_clients::BuildIndexError::Status {
            url: "http://b/tags".into(),
            status: 400,
            error: Some(RegistryError::from_code(ErrorCode::TagInvalid)),
        };
        let error = Error::build_index("put a tag")(source);
        assert_eq!(
            code(error),
            (StatusCode::BAD_REQUEST, ErrorCode::TagInvalid)
        );
        let down = Error::build_index("put a tag")(starling_clients::BuildIndexError::NoHosts);
        assert_eq!(
            code(down),
            (StatusCode::SERVICE_UNAVAILABLE, ErrorCode::Unavailable)
        );
    }

    #[tokio::test]
    async fn paths_and_backend_urls_stay_out_of_the_body_but_are_logged() {
        use axum::response::IntoResponse;
        use starling_runtime::LoggedError;

        let url = "http://origin-3.internal:9001/namespace/team%2Fapp/blobs/sha256:ab";
        let path = "/var/lib/starling/uploads/3f2a";
        let errors = [
            Error::origin("stat a referenced blob")(starling_clients::ClientError::NotFound {
                url: url.into(),
            }),
            Error::io("write an upload", path.into())(std::io::Error::other("disk full")),
            Error::build_index("put a tag")(starling_clients::BuildIndexError::Status {
                url: url.into(),
                status: 500,
                error: None,
            }),
        ];
        for error in errors {
            let full = error.to_string();
            let response = ApiError::from(error).into_response();
            let logged = response.extensions().get::<LoggedError>().cloned();
            let body = axum::body::to_bytes(response.into_body(), 1 << 16)
                .await
                .unwrap();
            let body = String::from_utf8(body.to_vec()).unwrap();
            for secret in [url, path, "/var/lib", "http://"] {
                assert!(!body.contains(secret), "{secret} in {body}");
            }
            assert!(
                body.contains("cannot"),
                "the body names the problem: {body}"
            );
            let logged = logged.expect("the full error is logged").0;
            assert!(logged.contains(&full), "{full} in {logged}");
        }
    }

    #[test]
    fn the_missing_blob_is_the_detail() {
        let d = Digest::of(b"x");
        let api = ApiError::from(Error::ManifestBlobUnknown { digest: d });
        assert_eq!(
            api.registry_error().detail,
            Some(serde_json::Value::String(d.to_string()))
        );
    }
}
