//! The origin's mapping from its [`Error`] to the shared HTTP error response,
//! [`starling_runtime::ApiError`] (the registry spec's `{"errors":[{code,message,detail}]}`
//! body).
//!
//! Handlers return `Result<_, ApiError>`; every [`Error`] converts with `From`, choosing
//! the registry code by the variant, with the error's text as the detail. A failing
//! storage backend answers 502 `UNAVAILABLE` (the code's own status is 503) because the
//! origin is a gateway to the backend there. Server-side failures (5xx) are logged once by
//! the request middleware, `starling_runtime::trace_requests`.

use axum::http::{HeaderValue, StatusCode, header};
use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use crate::error::Error;

/// `NAME_INVALID` (400): the namespace segment is not a repository name.
pub fn bad_name(detail: String) -> ApiError {
    ApiError::new(ErrorCode::NameInvalid, "invalid namespace").with_detail(detail)
}

/// `DIGEST_INVALID` (400): the digest segment is malformed.
pub fn bad_digest(detail: String) -> ApiError {
    ApiError::new(ErrorCode::DigestInvalid, "invalid digest").with_detail(detail)
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let root = error.root();
        let (code, message) = code_of(root);
        let api = ApiError::new(code, message).with_detail(error.to_string());
        match root {
            Error::RangeNotSatisfiable { size } => api.with_header(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}"))
                    .expect("digits are a valid header value"),
            ),
            Error::Backend { .. } | Error::BackendCorrupt { .. } | Error::Peer { .. } => {
                api.with_status(StatusCode::BAD_GATEWAY)
            }
            _ => api,
        }
    }
}

/// The registry code and message of `error` (already unwrapped by [`Error::root`]).
fn code_of(error: &Error) -> (ErrorCode, &'static str) {
    use ErrorCode as C;
    match error {
        Error::BlobUnknown { .. } => (C::BlobUnknown, "blob unknown"),
        Error::DigestMismatch { .. } => (C::DigestInvalid, "content does not match digest"),
        Error::RangeNotSatisfiable { .. } => (C::RangeInvalid, "range not satisfiable"),
        Error::BadHeader { .. } => (C::BlobUploadInvalid, "invalid header"),
        Error::BodyLength { .. } => (C::SizeInvalid, "body length mismatch"),
        Error::BodyRead { .. } => (C::BlobUploadInvalid, "request body incomplete"),
        Error::Backend { .. } | Error::BackendCorrupt { .. } | Error::Peer { .. } => {
            (C::Unavailable, "storage backend failed")
        }
        Error::NotSeeding => (C::Unavailable, "p2p engine not running"),
        _ => (C::Unknown, "internal error"),
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::StatusCode;
    use axum::response::{IntoResponse, Response};
    use starling_core::Digest;
    use starling_runtime::LoggedError;

    use super::*;

    async fn render(error: Error) -> (StatusCode, serde_json::Value, Response) {
        let mut response = ApiError::from(error).into_response();
        let status = response.status();
        let body = std::mem::take(response.body_mut());
        let json = serde_json::from_slice(&to_bytes(body, 1 << 16).await.unwrap()).unwrap();
        (status, json, response)
    }

    #[tokio::test]
    async fn client_errors_carry_their_registry_code() {
        let (expected, actual) = (Digest::of(b"a"), Digest::of(b"b"));
        let (status, json, response) = render(Error::DigestMismatch { expected, actual }).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);
        assert_eq!(json["errors"][0]["code"], "DIGEST_INVALID");
        assert!(
            json["errors"][0]["detail"]
                .as_str()
                .unwrap()
                .contains(&actual.to_string())
        );
        assert!(response.extensions().get::<LoggedError>().is_none());

        let (status, json, response) = render(Error::RangeNotSatisfiable { size: 10 }).await;
        assert_eq!(status, StatusCode::RANGE_NOT_SATISFIABLE);
        assert_eq!(json["errors"][0]["code"], "RANGE_INVALID");
        assert_eq!(response.headers()[header::CONTENT_RANGE], "bytes */10");
    }

    #[tokio::test]
    async fn server_errors_are_marked_for_logging() {
        let (status, json, response) = render(Error::Config("broken".into())).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(json["errors"][0]["code"], "UNKNOWN");
        let logged = response.extensions().get::<LoggedError>().unwrap();
        assert!(logged.0.contains("broken"));
    }
}
