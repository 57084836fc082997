//! The tracker's mapping from its [`Error`] to the shared HTTP error response of its
//! JSON routes, [`starling_runtime::ApiError`] (the OCI distribution spec's
//! `{"errors":[{code,message,detail}]}` body, with the status of its code).
//!
//! Announce failures never come here: BitTorrent clients get a bencoded
//! `failure reason` with HTTP 200 instead. Server-side failures (5xx) are logged once
//! where they happen (the metainfo fetch); the tracker's router has no request
//! middleware, so the `LoggedError` marker its 5xx responses carry is not logged again.
//!
//! An origin failure carries the origins' URLs in its text: the client is told only
//! that the origins could not serve the metainfo.

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
        let api = ApiError::new(code, message);
        match error {
            Error::OriginUnavailable { digest, .. } => api
                .with_detail(format!("origins could not serve the metainfo of {digest}"))
                .with_logged_detail(error.to_string()),
            _ => api.with_detail(error.to_string()),
        }
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
    async fn origin_urls_stay_out_of_the_body_but_are_logged() {
        let url = "http://origin-1.internal:9001/namespace/team%2Fapp/blobs/sha256:ab/metainfo";
        let error = Error::OriginUnavailable {
            digest: Digest::of(b"x"),
            source: std::sync::Arc::new(starling_clients::ClientError::NotFound {
                url: url.into(),
            }),
        };
        let full = error.to_string();
        let response = ApiError::from(&error).into_response();
        let logged = response
            .extensions()
            .get::<starling_runtime::LoggedError>()
            .cloned();
        let body = to_bytes(response.into_body(), 1 << 16).await.unwrap();
        let body = String::from_utf8(body.to_vec()).unwrap();
        for secret in [url, "http://", ".internal"] {
            assert!(!body.contains(secret), "{secret} in {body}");
        }
        assert!(
            body.contains("metainfo"),
            "the body names the problem: {body}"
        );
        let logged = logged.expect("the full error is logged").0;
        assert!(logged.contains(&full), "{full} in {logged}");
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
