//! The tracker's mapping from its [`Error`] to the shared HTTP error response of its
//! JSON routes, [`starling_runtime::ApiError`] (the OCI distribution spec's
//! `{"errors":[{code,message,detail}]}` body, with the status of its code).
//!
//! Announce failures never come here: BitTorrent clients get a bencoded
//! `failure reason` with HTTP 200 instead. Server-side failures (5xx) are logged once
//! where they happen (the metainfo fetch); the tracker's router has no request
//! middleware, so the `LoggedError` marker its 5xx responses carry is not logged again.

use starling_core::registry::ErrorCode;
use starling_runtime::ApiError;

use crate::error::Error;

impl From<&Error> for ApiError {
    fn from(error: &Error) -> Self {
        let (code, message) = match error {
            Error::BlobUnknown { .. } => (ErrorCode::BlobUnknown, "blob unknown"),
            Error::OriginUnavailable { .. } | Error::WrongMetainfo { .. } => {
                (ErrorCode::Unavailable, "origins unavailable")
            }
            _ => (ErrorCode::Unknown, "internal error"),
        };
        ApiError::new(code, message).with_detail(error.to_string())
    }
}

#[cfg(test)]
mod tests {
    use axum::body::to_bytes;
    use axum::http::{StatusCode, header};
    use axum::response::IntoResponse;
    use starling_core::registry::RegistryError;
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
