//! HTTP errors of the tracker's JSON routes: the OCI distribution spec's
//! `{"errors":[{code,message,detail}]}` body, built from
//! [`starling_core::registry::RegistryError`], with the status of its code.
//!
//! Announce failures never come here: BitTorrent clients get a bencoded
//! `failure reason` with HTTP 200 instead. Server-side failures (5xx) are logged once
//! where they happen (the metainfo fetch), not again here.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use starling_core::registry::{ErrorCode, RegistryError};

use crate::error::Error;

/// One error response.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError(pub RegistryError);

impl ApiError {
    pub fn new(code: ErrorCode, message: &str, detail: String) -> Self {
        Self(RegistryError::new(code, message).with_detail(detail))
    }
}

/// Bad path input: the core parse error picks `NAME_INVALID` or `DIGEST_INVALID`.
impl From<starling_core::Error> for ApiError {
    fn from(error: starling_core::Error) -> Self {
        Self(RegistryError::from(error))
    }
}

impl From<&Error> for ApiError {
    fn from(error: &Error) -> Self {
        let (code, message) = match error {
            Error::BlobUnknown { .. } => (ErrorCode::BlobUnknown, "blob unknown"),
            Error::OriginUnavailable { .. } | Error::WrongMetainfo { .. } => {
                (ErrorCode::Unavailable, "origins unavailable")
            }
            _ => (ErrorCode::Unknown, "internal error"),
        };
        Self::new(code, message, error.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.0.status())
            .expect("registry error codes carry valid statuses");
        (
            status,
            [(header::CONTENT_TYPE, "application/json")],
            self.0.to_json_body(),
        )
            .into_response()
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use starling_core::{Digest, RepoName};

    use super::*;

    async fn render(error: ApiError) -> (StatusCode, RegistryError) {
        let response = error.into_response();
        let status = response.status();
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        (
            status,
            RegistryError::from_json_body(&body).expect("a registry error body"),
        )
    }

    #[tokio::test]
    async fn errors_render_with_the_status_of_their_code() {
        let digest = Digest::of(b"x");
        let cases = [
            (Error::BlobUnknown { digest }, 404, ErrorCode::BlobUnknown),
            (Error::FetchAbandoned { digest }, 500, ErrorCode::Unknown),
            (
                Error::WrongMetainfo {
                    digest,
                    found: "ab".into(),
                },
                503,
                ErrorCode::Unavailable,
            ),
        ];
        for (error, status, code) in cases {
            let (rendered, body) = render(ApiError::from(&error)).await;
            assert_eq!((rendered.as_u16(), body.code), (status, code), "{error}");
            assert_eq!(body.detail, Some(error.to_string().into()));
        }
        let bad = RepoName::parse("Team/App").unwrap_err();
        let (status, body) = render(ApiError::from(bad)).await;
        assert_eq!((status.as_u16(), body.code), (400, ErrorCode::NameInvalid));
        let bad = Digest::parse("sha256:00").unwrap_err();
        let (status, body) = render(ApiError::from(bad)).await;
        assert_eq!(
            (status.as_u16(), body.code),
            (400, ErrorCode::DigestInvalid)
        );
    }
}
