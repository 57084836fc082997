//! The HTTP error response: the registry spec's `{"errors":[{code,message,detail}]}` body.
//!
//! Handlers return `Result<_, ApiError>`; every [`Error`] converts with `From`, choosing
//! the status and registry code by the variant. Server-side failures (5xx) are not
//! logged here but by the request middleware in [`crate::server`], once, from the
//! [`LoggedError`] extension this response carries.

use axum::Json;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::error::Error;

/// A registry error code, as defined by the distribution spec (plus `UNAVAILABLE` and
/// `INTERNAL` for server-side failures).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ErrorCode {
    BlobUnknown,
    BlobUploadInvalid,
    BlobUploadUnknown,
    DigestInvalid,
    NameInvalid,
    SizeInvalid,
    RangeInvalid,
    Unavailable,
    Internal,
}

/// One error response.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: ErrorCode,
    pub message: String,
    pub detail: String,
    /// `Content-Range: bytes */<size>` for an unsatisfiable range.
    pub blob_size: Option<u64>,
}

/// The message of a 5xx response, for the request middleware to log.
#[derive(Debug, Clone)]
pub struct LoggedError(pub String);

#[derive(Serialize)]
struct Body<'a> {
    errors: [Entry<'a>; 1],
}

#[derive(Serialize)]
struct Entry<'a> {
    code: ErrorCode,
    message: &'a str,
    detail: &'a str,
}

impl ApiError {
    pub fn new(status: StatusCode, code: ErrorCode, message: &str, detail: String) -> Self {
        Self {
            status,
            code,
            message: message.to_owned(),
            detail,
            blob_size: None,
        }
    }

    pub fn bad_name(detail: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::NameInvalid,
            "invalid namespace",
            detail,
        )
    }

    pub fn bad_digest(detail: String) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            ErrorCode::DigestInvalid,
            "invalid digest",
            detail,
        )
    }

    pub fn unknown_upload(detail: String) -> Self {
        Self::new(
            StatusCode::NOT_FOUND,
            ErrorCode::BlobUploadUnknown,
            "blob upload unknown",
            detail,
        )
    }
}

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        use ErrorCode as C;
        use StatusCode as S;
        let detail = error.to_string();
        let (status, code, message) = match error.root() {
            Error::BlobUnknown { .. } => (S::NOT_FOUND, C::BlobUnknown, "blob unknown"),
            Error::UploadUnknown { .. } => {
                (S::NOT_FOUND, C::BlobUploadUnknown, "blob upload unknown")
            }
            Error::DigestMismatch { .. } => (
                S::BAD_REQUEST,
                C::DigestInvalid,
                "content does not match digest",
            ),
            Error::ChunkOutOfOrder { .. } => (
                S::RANGE_NOT_SATISFIABLE,
                C::RangeInvalid,
                "chunk out of order",
            ),
            Error::RangeNotSatisfiable { .. } => (
                S::RANGE_NOT_SATISFIABLE,
                C::RangeInvalid,
                "range not satisfiable",
            ),
            Error::BadHeader { .. } => (S::BAD_REQUEST, C::BlobUploadInvalid, "invalid header"),
            Error::BodyLength { .. } => (S::BAD_REQUEST, C::SizeInvalid, "body length mismatch"),
            Error::BodyRead { .. } => (
                S::BAD_REQUEST,
                C::BlobUploadInvalid,
                "request body incomplete",
            ),
            Error::Backend { .. } | Error::BackendCorrupt { .. } | Error::Peer { .. } => {
                (S::BAD_GATEWAY, C::Unavailable, "storage backend failed")
            }
            _ => (S::INTERNAL_SERVER_ERROR, C::Internal, "internal error"),
        };
        let blob_size = match error.root() {
            Error::RangeNotSatisfiable { size } => Some(*size),
            _ => None,
        };
        Self {
            blob_size,
            ..Self::new(status, code, message, detail)
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = Body {
            errors: [Entry {
                code: self.code,
                message: &self.message,
                detail: &self.detail,
            }],
        };
        let mut response = (self.status, Json(body)).into_response();
        if let Some(size) = self.blob_size {
            let value = HeaderValue::from_str(&format!("bytes */{size}"))
                .expect("digits are a valid header value");
            response.headers_mut().insert(header::CONTENT_RANGE, value);
        }
        if self.status.is_server_error() {
            response.extensions_mut().insert(LoggedError(self.detail));
        }
        response
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use starling_core::Digest;

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
        assert_eq!(json["errors"][0]["code"], "INTERNAL");
        let logged = response.extensions().get::<LoggedError>().unwrap();
        assert!(logged.0.contains("broken"));
    }
}
